#include "export/syslog_exporter.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "audit/memory_sink.h"
#include "store/store_error.h"

namespace wardgate::exporter {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

class VectorSource : public store::RecordSource {
 public:
  explicit VectorSource(std::uint64_t count) {
    for (std::uint64_t n = 1; n <= count; ++n) {
      store::StoredRecord r;
      r.seq = n;
      r.event.appliance_id = "wg";
      r.event.device = "ct-1";
      r.event.category = "dicom";
      r.event.action = "operation";
      r.event.fields.set("n", n);
      r.canonical = audit::to_json(r.event);
      records_.push_back(std::move(r));
    }
    visible_ = count;
  }
  std::vector<store::StoredRecord> read_after(std::uint64_t after, std::size_t max,
                                              std::error_code& ec) override {
    ec.clear();
    ++reads_;
    if (failing_reads > 0) {
      --failing_reads;
      ec = store::make_error_code(store::Errc::kReadFailed);
      return {};
    }
    std::vector<store::StoredRecord> out;
    for (std::uint64_t n = after + 1; n <= visible_ && out.size() < max; ++n) {
      out.push_back(records_[n - 1]);
    }
    return out;
  }
  std::uint64_t last_seq() override { return visible_; }
  store::CommitSubscription on_commit(std::function<void(std::uint64_t)> wake) override {
    return notifier_.subscribe(std::move(wake));
  }
  // Only the first `n` records are committed until commit() (all by default).
  void hold_back(std::uint64_t n) { visible_ = n; }
  void commit() {
    visible_ = records_.size();
    notifier_.notify(visible_);
  }
  int reads_ = 0;
  std::atomic<int> failing_reads{0};  // reads that fail (the store's read error) before any works

 private:
  std::vector<store::StoredRecord> records_;
  std::atomic<std::uint64_t> visible_{0};
  store::CommitNotifier notifier_;
};

class MapCursors : public store::CursorStore {
 public:
  std::uint64_t load_cursor(std::string_view d) override { return values[std::string(d)]; }
  std::error_code save_cursor(std::string_view d, std::uint64_t seq) override {
    values[std::string(d)] = seq;
    return {};
  }
  std::map<std::string, std::uint64_t> values;
};

// A store whose cursor table fails: its first `failing_saves` saves throw (odd ones) or report
// a write error (even ones), and its first `failing_loads` loads throw.
class FailingCursors : public store::CursorStore {
 public:
  std::uint64_t load_cursor(std::string_view d) override {
    if (failing_loads > 0) {
      --failing_loads;
      throw std::runtime_error("database is locked");
    }
    return values[std::string(d)];
  }
  std::error_code save_cursor(std::string_view d, std::uint64_t seq) override {
    if (failing_saves > 0) {
      if (failing_saves-- % 2 == 1) throw std::runtime_error("disk I/O error");
      return store::make_error_code(store::Errc::kWriteFailed);
    }
    values[std::string(d)] = seq;
    return {};
  }
  int failing_saves = 0;
  int failing_loads = 0;
  std::map<std::string, std::uint64_t> values;
};

// A syslog collector for RFC 6587 octet-counted frames: records the seq of each message; the
// first connection is cut after `cut_after` messages (a collector restart).
struct Collector {
  explicit Collector(asio::io_context& io) : acceptor(io, tcp::endpoint(tcp::v4(), 0)) {}
  tcp::acceptor acceptor;
  std::vector<std::uint64_t> seqs;
  std::size_t cut_after = 0;
  int connections = 0;

  std::uint16_t port() const { return acceptor.local_endpoint().port(); }

  asio::awaitable<void> serve() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(kNoThrow);
      if (ec) co_return;
      ++connections;
      const bool cut = connections == 1 && cut_after > 0;
      std::string buf;
      std::array<char, 65536> chunk{};
      std::size_t in_this = 0;
      for (;;) {
        auto [rec, n] = co_await sock.async_read_some(asio::buffer(chunk), kNoThrow);
        if (rec) break;
        buf.append(chunk.data(), n);
        bool closed = false;
        for (;;) {
          const auto sp = buf.find(' ');
          if (sp == std::string::npos) break;
          const std::size_t len = std::stoul(buf.substr(0, sp));
          if (buf.size() < sp + 1 + len) break;
          const std::string msg = buf.substr(sp + 1, len);
          buf.erase(0, sp + 1 + len);
          static const std::regex kSeq("\\[wardgate@32473 seq=\"(\\d+)\"");
          std::smatch m;
          if (std::regex_search(msg, m, kSeq)) seqs.push_back(std::stoull(m[1].str()));
          if (cut && ++in_this == cut_after) {
            sock.close();
            closed = true;
            break;
          }
        }
        if (closed) break;
      }
    }
  }
};

ExporterOptions tcp_options(std::uint16_t port) {
  ExporterOptions o;
  o.name = "siem";
  o.transport.kind = TransportKind::kTcp;
  o.transport.host = "127.0.0.1";
  o.transport.port = port;
  o.batch_records = 100;
  o.confirm_delay = std::chrono::milliseconds(50);
  o.backoff_initial = std::chrono::milliseconds(20);
  o.backoff_max = std::chrono::milliseconds(100);
  o.poll_interval = std::chrono::milliseconds(5);
  return o;
}

// A metric of the exporter as a whole number, as the tests compare it.
std::uint64_t value_of(const common::Gauge& g) { return static_cast<std::uint64_t>(g.value()); }
std::uint64_t value_of(const common::Counter& c) { return static_cast<std::uint64_t>(c.value()); }

// Runs the io_context until `done` holds or 10 s passed; then stops the exporter.
void run_until(asio::io_context& io, SyslogExporter& ex, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(20));
  }
  ex.stop();
  io.run_for(std::chrono::milliseconds(200));
}

TEST(SyslogExporter, TcpDeliversEverythingInOrderAndSavesTheCursor) {
  asio::io_context io;
  Collector c(io);
  asio::co_spawn(io, c.serve(), asio::detached);
  VectorSource source(2000);
  MapCursors cursors;
  common::MetricsRegistry metrics;
  const ExporterMetrics m(metrics, "siem");
  SyslogExporter ex(io.get_executor(), tcp_options(c.port()), source, cursors, metrics, nullptr);
  asio::co_spawn(io, ex.run(), asio::detached);
  run_until(io, ex, [&] { return value_of(m.delivered) == 2000; });
  EXPECT_EQ(value_of(m.delivered), 2000U);
  EXPECT_EQ(value_of(m.backlog), 0U);
  EXPECT_EQ(value_of(m.duplicates_sent), 0U);
  EXPECT_EQ(cursors.values["siem"], 2000U);
  ASSERT_EQ(c.seqs.size(), 2000U);
  for (std::size_t i = 0; i < c.seqs.size(); ++i) EXPECT_EQ(c.seqs[i], i + 1);
  // The same numbers on the /metrics page, labelled by destination; every failure reason shows
  // from the start.
  const std::string text = metrics.render();
  for (const char* line : {"wardgate_export_delivered_seq{destination=\"siem\"} 2000\n",
                           "wardgate_export_records_sent_total{destination=\"siem\"} 2000\n",
                           "wardgate_export_backlog_records{destination=\"siem\"} 0\n",
                           "wardgate_export_connects_total{destination=\"siem\"} 1\n",
                           "wardgate_export_link_failures_total{destination=\"siem\","
                           "reason=\"connect-refused\"} 0\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
}

TEST(SyslogExporter, ResendsTheUnconfirmedWindowAfterTheCollectorDrops) {
  asio::io_context io;
  Collector c(io);
  c.cut_after = 750;
  asio::co_spawn(io, c.serve(), asio::detached);
  VectorSource source(3000);
  MapCursors cursors;
  audit::MemorySink events;
  ExporterOptions o = tcp_options(c.port());
  o.confirm_delay = std::chrono::milliseconds(2000);  // nothing confirmed before the cut
  common::MetricsRegistry metrics;
  const ExporterMetrics m(metrics, "siem");
  SyslogExporter ex(io.get_executor(), o, source, cursors, metrics, &events);
  asio::co_spawn(io, ex.run(), asio::detached);
  run_until(io, ex, [&] { return value_of(m.delivered) == 3000; });
  EXPECT_EQ(value_of(m.delivered), 3000U);
  EXPECT_GE(c.connections, 2);
  EXPECT_GE(m.failures_of(LinkFailure::kClosedByPeer) + m.failures_of(LinkFailure::kNetwork), 1U);
  // No gap: every seq arrives; the first connection's records come again, and are counted.
  std::vector<bool> seen(3001, false);
  std::uint64_t highest = 0;
  std::uint64_t duplicates = 0;
  for (auto s : c.seqs) {
    if (seen[s]) {
      ++duplicates;
      continue;
    }
    EXPECT_EQ(s, highest + 1);
    seen[s] = true;
    highest = s;
  }
  EXPECT_EQ(highest, 3000U);
  EXPECT_GE(duplicates, 750U);
  EXPECT_GE(value_of(m.duplicates_sent), duplicates);
  bool disconnected_event = false;
  for (const auto& e : events.events()) disconnected_event |= e.action == "export-disconnected";
  EXPECT_TRUE(disconnected_event);
}

TEST(SyslogExporter, ResumesAfterItsCursorAndCountsPossibleDuplicatesAfterARestart) {
  asio::io_context io;
  Collector c(io);
  asio::co_spawn(io, c.serve(), asio::detached);
  VectorSource source(500);
  MapCursors cursors;
  cursors.values["siem"] = 200;       // carried before the "kill -9"
  cursors.values["siem#sent"] = 260;  // written, not confirmed
  common::MetricsRegistry metrics;
  const ExporterMetrics m(metrics, "siem");
  SyslogExporter ex(io.get_executor(), tcp_options(c.port()), source, cursors, metrics, nullptr);
  asio::co_spawn(io, ex.run(), asio::detached);
  run_until(io, ex, [&] { return value_of(m.delivered) == 500; });
  ASSERT_EQ(c.seqs.size(), 300U);
  EXPECT_EQ(c.seqs.front(), 201U);
  EXPECT_EQ(value_of(m.duplicates_sent), 60U);
}

TEST(SyslogExporter, NeverMoreThanTheWindowUnconfirmed) {
  asio::io_context io;
  Collector c(io);
  asio::co_spawn(io, c.serve(), asio::detached);
  VectorSource source(1000);
  MapCursors cursors;
  ExporterOptions o = tcp_options(c.port());
  o.confirm_delay = std::chrono::hours(1);  // nothing is ever confirmed
  o.max_unconfirmed = 250;
  common::MetricsRegistry metrics;
  const ExporterMetrics m(metrics, "siem");
  SyslogExporter ex(io.get_executor(), o, source, cursors, metrics, nullptr);
  asio::co_spawn(io, ex.run(), asio::detached);
  io.run_for(std::chrono::milliseconds(400));
  EXPECT_EQ(value_of(m.sent), 250U);
  EXPECT_EQ(value_of(m.delivered), 0U);
  EXPECT_EQ(c.seqs.size(), 250U);
  EXPECT_EQ(cursors.values["siem#sent"], 250U);
  ex.stop();
  io.run_for(std::chrono::milliseconds(100));
}

TEST(SyslogExporter, RefusedConnectionKeepsTheBacklogAndBacksOff) {
  asio::io_context io;
  tcp::acceptor probe(io, tcp::endpoint(tcp::v4(), 0));
  const auto port = probe.local_endpoint().port();
  probe.close();  // nobody listens there now
  VectorSource source(100);
  MapCursors cursors;
  common::MetricsRegistry metrics;
  const ExporterMetrics m(metrics, "siem");
  SyslogExporter ex(io.get_executor(), tcp_options(port), source, cursors, metrics, nullptr);
  asio::co_spawn(io, ex.run(), asio::detached);
  io.run_for(std::chrono::milliseconds(600));
  EXPECT_EQ(m.connected.value(), 0.0);
  EXPECT_EQ(value_of(m.delivered), 0U);
  EXPECT_EQ(value_of(m.backlog), 100U);
  const auto refused = m.failures_of(LinkFailure::kConnectRefused);
  EXPECT_GE(refused, 3U);
  EXPECT_LE(refused, 12U);  // 20, 40, 80, 100, 100 ... ms: backoff, not a busy loop
  EXPECT_EQ(ex.last_error().rfind("connect-refused", 0), 0U);
  ex.stop();
  io.run_for(std::chrono::milliseconds(100));
}

TEST(SyslogExporter, UnreadableTlsFilesAreAHandshakeFailureWithAnAlert) {
  asio::io_context io;
  VectorSource source(10);
  MapCursors cursors;
  audit::MemorySink events;
  ExporterOptions o = tcp_options(6514);
  o.transport.kind = TransportKind::kTls;
  o.transport.tls = {"/nonexistent/client.pem", "/nonexistent/client.key", "/nonexistent/ca.pem",
                     ""};
  common::MetricsRegistry metrics;
  const ExporterMetrics m(metrics, "siem");
  SyslogExporter ex(io.get_executor(), o, source, cursors, metrics, &events);
  asio::co_spawn(io, ex.run(), asio::detached);
  io.run_for(std::chrono::milliseconds(300));
  EXPECT_GE(m.failures_of(LinkFailure::kLocalCredentials), 1U);
  EXPECT_GE(m.handshake_failures(), 1U);
  EXPECT_EQ(value_of(m.backlog), 10U);
  const auto all = events.events();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().action, "export-handshake-failed");
  EXPECT_EQ(all.front().severity, audit::Severity::kAlert);
  // One alert per reason, not one per attempt.
  EXPECT_EQ(all.size(), 1U);
  ex.stop();
  io.run_for(std::chrono::milliseconds(100));
}

TEST(SyslogExporter, UdpCarriesOnSend) {
  asio::io_context io;
  asio::ip::udp::socket rx(io, asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), 0));
  ExporterOptions o = tcp_options(rx.local_endpoint().port());
  o.transport.kind = TransportKind::kUdp;
  VectorSource source(50);
  MapCursors cursors;
  common::MetricsRegistry metrics;
  const ExporterMetrics m(metrics, "siem");
  SyslogExporter ex(io.get_executor(), o, source, cursors, metrics, nullptr);
  asio::co_spawn(io, ex.run(), asio::detached);
  run_until(io, ex, [&] { return value_of(m.delivered) == 50; });
  EXPECT_EQ(value_of(m.delivered), 50U);
  std::size_t datagrams = 0;
  std::array<char, 65536> buf{};
  boost::system::error_code ec;
  while (rx.available(ec) > 0 && datagrams < 100) {
    const auto n = rx.receive(asio::buffer(buf), 0, ec);
    EXPECT_TRUE(std::string_view(buf.data(), n).starts_with("<110>1 "));
    ++datagrams;
  }
  EXPECT_EQ(datagrams, 50U);
}

TEST(SyslogExporter, AtnaSkipsEventsWithoutAnAuditMessageAndStillAdvances) {
  asio::io_context io;
  Collector c(io);
  asio::co_spawn(io, c.serve(), asio::detached);
  VectorSource source(100);  // "operation" without a command: no ATNA message type
  MapCursors cursors;
  ExporterOptions o = tcp_options(c.port());
  o.format = ExportFormat::kAtna;
  common::MetricsRegistry metrics;
  const ExporterMetrics m(metrics, "siem");
  SyslogExporter ex(io.get_executor(), o, source, cursors, metrics, nullptr);
  asio::co_spawn(io, ex.run(), asio::detached);
  run_until(io, ex, [&] { return value_of(m.delivered) == 100; });
  EXPECT_EQ(value_of(m.delivered), 100U);
  EXPECT_EQ(value_of(m.records_skipped), 100U);
  EXPECT_TRUE(c.seqs.empty());
}

// Caught up, the exporter sleeps until the store commits, not until a poll: with an idle
// interval of an hour the records committed later still go at once.
TEST(SyslogExporter, WakesOnCommit) {
  asio::io_context io;
  Collector c(io);
  asio::co_spawn(io, c.serve(), asio::detached);
  VectorSource source(100);
  source.hold_back(50);
  MapCursors cursors;
  ExporterOptions o = tcp_options(c.port());
  o.idle_interval = std::chrono::hours(1);
  common::MetricsRegistry metrics;
  const ExporterMetrics m(metrics, "siem");
  SyslogExporter ex(io.get_executor(), o, source, cursors, metrics, nullptr);
  asio::co_spawn(io, ex.run(), asio::detached);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (value_of(m.delivered) < 50 && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(value_of(m.delivered), 50U);
  io.run_for(std::chrono::milliseconds(100));  // asleep now, nothing to send
  EXPECT_EQ(value_of(m.sent), 50U);
  const auto committed_at = std::chrono::steady_clock::now();
  source.commit();
  run_until(io, ex, [&] { return value_of(m.delivered) == 100; });
  EXPECT_EQ(value_of(m.delivered), 100U);
  EXPECT_LT(std::chrono::steady_clock::now() - committed_at, std::chrono::seconds(5));
  EXPECT_EQ(c.seqs.size(), 100U);
}

TEST(SyslogExporter, CursorSaveFailuresAreRecordedAndRetriedWithoutEndingTheExporter) {
  asio::io_context io;
  Collector c(io);
  asio::co_spawn(io, c.serve(), asio::detached);
  VectorSource source(2000);
  FailingCursors cursors;
  cursors.failing_saves = 6;
  common::MetricsRegistry metrics;
  const ExporterMetrics m(metrics, "siem");
  audit::MemorySink events;
  SyslogExporter ex(io.get_executor(), tcp_options(c.port()), source, cursors, metrics, &events);
  asio::co_spawn(io, ex.run(), asio::detached);
  run_until(io, ex, [&] { return cursors.values["siem"] == 2000; });
  EXPECT_EQ(value_of(m.delivered), 2000U);
  EXPECT_EQ(cursors.values["siem"], 2000U) << "the cursor was not saved once the store recovered";
  EXPECT_EQ(value_of(m.cursor_save_failures), 6U);
  ASSERT_EQ(c.seqs.size(), 2000U);
  int failed = 0;
  int recovered = 0;
  for (const audit::Event& e : events.events()) {
    failed += e.action == "export-cursor-save-failed" ? 1 : 0;
    recovered += e.action == "export-cursor-saved" ? 1 : 0;
  }
  EXPECT_EQ(failed, 1) << "one event for the failure episode";
  EXPECT_EQ(recovered, 1);
}

TEST(SyslogExporter, StoreReadFailuresAreCountedAndReadAgainWithoutLosingARecord) {
  asio::io_context io;
  Collector c(io);
  asio::co_spawn(io, c.serve(), asio::detached);
  VectorSource source(500);
  source.failing_reads = 3;
  MapCursors cursors;
  common::MetricsRegistry metrics;
  const ExporterMetrics m(metrics, "siem");
  SyslogExporter ex(io.get_executor(), tcp_options(c.port()), source, cursors, metrics, nullptr);
  asio::co_spawn(io, ex.run(), asio::detached);
  run_until(io, ex, [&] { return value_of(m.delivered) == 500; });
  EXPECT_EQ(value_of(m.store_read_failures), 3U);
  ASSERT_EQ(c.seqs.size(), 500U);
  for (std::size_t k = 0; k < c.seqs.size(); ++k) ASSERT_EQ(c.seqs[k], k + 1);
  EXPECT_NE(
      metrics.render().find("wardgate_export_store_read_failures_total{destination=\"siem\"} 3"),
      std::string::npos);
}

TEST(SyslogExporter, WaitsForAStoreThatCannotReadTheCursorAndResumesAfterIt) {
  asio::io_context io;
  Collector c(io);
  asio::co_spawn(io, c.serve(), asio::detached);
  VectorSource source(2000);
  FailingCursors cursors;
  cursors.failing_loads = 2;
  cursors.values["siem"] = 1500;
  common::MetricsRegistry metrics;
  const ExporterMetrics m(metrics, "siem");
  SyslogExporter ex(io.get_executor(), tcp_options(c.port()), source, cursors, metrics, nullptr);
  asio::co_spawn(io, ex.run(), asio::detached);
  run_until(io, ex, [&] { return value_of(m.delivered) == 2000; });
  EXPECT_EQ(value_of(m.delivered), 2000U);
  ASSERT_EQ(c.seqs.size(), 500U) << "records before the stored cursor were sent again";
  EXPECT_EQ(c.seqs.front(), 1501U);
}

TEST(SyslogTransport, Names) {
  EXPECT_STREQ(to_string(LinkFailure::kClientCertificateExpired), "client-certificate-expired");
  EXPECT_STREQ(to_string(LinkFailure::kNameMismatch), "name-mismatch");
  EXPECT_TRUE(is_handshake_failure(LinkFailure::kRevoked));
  EXPECT_FALSE(is_handshake_failure(LinkFailure::kConnectRefused));
  EXPECT_EQ(parse_transport("tls"), TransportKind::kTls);
  EXPECT_FALSE(parse_transport("relp").has_value());
  // Stopping and a reload of the TLS files are named as such, not as network failures.
  EXPECT_STREQ(to_string(LinkFailure::kStopping), "stopping");
  EXPECT_STREQ(to_string(LinkFailure::kTlsFilesChanged), "tls-files-changed");
  const std::error_code ec = LinkFailure::kPinMismatch;
  EXPECT_EQ(ec.message(), "pin-mismatch");
  EXPECT_STREQ(ec.category().name(), "wardgate.export");
}

}  // namespace
}  // namespace wardgate::exporter
