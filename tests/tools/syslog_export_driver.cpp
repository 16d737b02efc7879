// Test driver for the syslog exporter until the durable store lands (issue 5): an in-memory
// RecordSource of synthetic events and a file-backed CursorStore feed one SyslogExporter; its
// health is written as JSON to --status (atomically, every 100 ms) and printed at exit.
//
//   syslog_export_driver --transport tls --port 16514 --cert c.pem --key c.key --ca ca.pem
//       --count 100000 [--rate 20000] --cursor-dir DIR --status s.json [--exit-when-done]
//
// Event n (n = 1, 2, ...) is fully determined by n, so a test can check every field that
// arrives. --rate makes events appear at that many per second (0: all at once).
#include <unistd.h>

#include <utility>

#include <boost/asio.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "export/syslog_exporter.h"
#include "store/store_error.h"

namespace {

using namespace wardgate::audit;
namespace store = wardgate::store;
using namespace wardgate::exporter;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

wardgate::audit::Event make_event(std::uint64_t n) {
  Event e;
  e.time = std::chrono::system_clock::time_point(std::chrono::seconds(1795000000)) +
           std::chrono::microseconds(n * 1000 + 7);
  e.appliance_id = "wg-test";
  e.device = "ct-" + std::to_string(n % 7);
  e.category = "dicom";
  e.action = n % 10 == 0 ? "security-alert" : "operation";
  e.outcome = n % 10 == 0 ? Outcome::kDenied : Outcome::kSuccess;
  e.severity = n % 10 == 0 ? Severity::kAlert : Severity::kInfo;
  e.fields.set("n", n);
  e.fields.set("command", "C-STORE");
  e.fields.set("calling_ae", "CT0" + std::to_string(n % 7));
  e.fields.set("called_ae", "PACS");
  e.fields.set("client", "10.1.1." + std::to_string(20 + n % 7) + ":49152");
  e.fields.set("server", "10.2.2.10:104");
  e.fields.set("sop_class_uid", "1.2.840.10008.5.1.4.1.1.2");
  e.fields.set("study_instance_uid", "2.25.1." + std::to_string(n / 100));
  e.fields.set("sop_instance_uid", "2.25.2." + std::to_string(n));
  e.fields.set("note", "quote \" backslash \\ bracket ] caf\xc3\xa9 \xe5\xbc\xa0");
  return e;
}

class SyntheticSource : public store::RecordSource {
 public:
  SyntheticSource(std::uint64_t count, double rate) : count_(count), rate_(rate) {
    // Records "committed" by the clock: announced like the store's group commits.
    if (rate_ > 0) {
      ticker_ = std::jthread([this](const std::stop_token& stop) {
        while (!stop.stop_requested()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          notifier_.notify(last_seq());
        }
      });
    }
  }

  std::vector<store::StoredRecord> read_after(std::uint64_t after, std::size_t max,
                                              std::error_code& ec) override {
    ec.clear();
    std::vector<store::StoredRecord> out;
    const std::uint64_t last = last_seq();
    for (std::uint64_t n = after + 1; n <= last && out.size() < max; ++n) {
      store::StoredRecord r;
      r.seq = n;
      r.event = make_event(n);
      r.canonical = to_json(r.event);
      out.push_back(std::move(r));
    }
    return out;
  }

  std::uint64_t last_seq() override {
    if (rate_ <= 0) return count_;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    return std::min<std::uint64_t>(count_, static_cast<std::uint64_t>(elapsed * rate_));
  }

  store::CommitSubscription on_commit(std::function<void(std::uint64_t)> wake) override {
    return notifier_.subscribe(std::move(wake));
  }

 private:
  std::uint64_t count_;
  double rate_;
  Clock::time_point start_ = Clock::now();
  store::CommitNotifier notifier_;
  std::jthread ticker_;  // last: stopped before the notifier goes
};

// One small file per key, replaced atomically (write, fsync, rename).
class FileCursorStore : public store::CursorStore {
 public:
  explicit FileCursorStore(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
  }
  std::uint64_t load_cursor(std::string_view destination) override {
    std::ifstream f(path(destination));
    std::uint64_t v = 0;
    f >> v;
    return v;
  }
  std::error_code save_cursor(std::string_view destination, std::uint64_t seq) override {
    const auto p = path(destination);
    const auto tmp = p.string() + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) return store::Errc::kWriteFailed;
    std::fprintf(f, "%llu\n", static_cast<unsigned long long>(seq));
    std::fflush(f);
    fsync(fileno(f));
    std::fclose(f);
    std::filesystem::rename(tmp, p);
    return {};
  }

 private:
  std::filesystem::path path(std::string_view key) const {
    std::string name(key);
    for (char& c : name) {
      if (c == '/' || c == '#') c = '_';
    }
    return dir_ / (name + ".cursor");
  }
  std::filesystem::path dir_;
};

class JsonLinesSink : public AuditSink {
 public:
  explicit JsonLinesSink(const std::string& path) : out_(path, std::ios::app) {}
  void record(Event event) override {
    const std::lock_guard lock(mutex_);
    out_ << to_json(event) << '\n';
    out_.flush();
  }

 private:
  std::mutex mutex_;
  std::ofstream out_;
};

std::uint64_t whole(double v) { return static_cast<std::uint64_t>(v); }

// The status file's keys (the integration tests read them), from the exporter's metrics.
nlohmann::json to_json_health(const std::string& name, const ExporterMetrics& m,
                              const SyslogExporter& exporter) {
  nlohmann::json failures = nlohmann::json::object();
  for (std::size_t i = 0; i < kLinkFailureCount; ++i) {
    const auto f = static_cast<LinkFailure>(i);
    if (m.failures_of(f) != 0) failures[to_string(f)] = m.failures_of(f);
  }
  nlohmann::json j{{"name", name},
                   {"connected", m.connected.value() != 0},
                   {"cursor", whole(m.delivered.value())},
                   {"last_sent", whole(m.sent.value())},
                   {"backlog", whole(m.backlog.value())},
                   {"records_sent", whole(m.records_sent.value())},
                   {"duplicates_sent", whole(m.duplicates_sent.value())},
                   {"records_skipped", whole(m.records_skipped.value())},
                   {"connects", whole(m.connects.value())},
                   {"handshake_successes", whole(m.handshakes.value())},
                   {"handshake_failures", m.handshake_failures()},
                   {"failures", failures},
                   {"tls_reloads", whole(m.tls_reloads.value())},
                   {"last_error", exporter.last_error()}};
  constexpr double kSecondsPerDay = 86400;
  if (const auto s = m.expiry(CertificateRole::kClient)) {
    j["client_cert_days_left"] = *s / kSecondsPerDay;
  }
  if (const auto s = m.expiry(CertificateRole::kCa)) j["ca_days_left"] = *s / kSecondsPerDay;
  return j;
}

void write_status(const std::string& path, const nlohmann::json& j) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << j.dump() << '\n';
  }
  std::filesystem::rename(tmp, path);
}

std::atomic<bool> g_stop{false};

int usage() {
  std::cerr << "usage: syslog_export_driver --transport udp|tcp|tls --host H --port P "
               "[--cert F --key F --ca F [--crl F] [--server-name N] [--pin HEX]] "
               "[--format rfc5424|atna] --count N [--rate R] --cursor-dir D [--name N] "
               "[--status F] [--events F] [--exit-when-done] [--confirm-delay-ms MS] "
               "[--max-unconfirmed N] [--batch N] [--write-timeout-ms MS] "
               "[--connect-timeout-ms MS]\n";
  return 2;
}

}  // namespace

int run(int argc, char** argv) {
  ExporterOptions o;
  o.name = "collector";
  o.appliance_id = "wg-test";
  o.syslog.origin_ip = "127.0.0.1";
  o.syslog.sw_version = "test";
  o.backoff_max = std::chrono::milliseconds(2000);
  std::uint64_t count = 0;
  double rate = 0;
  std::string cursor_dir;
  std::string status_path;
  std::string events_path;
  bool exit_when_done = false;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--exit-when-done") {
      exit_when_done = true;
      continue;
    }
    if (i + 1 >= args.size()) return usage();
    const std::string& v = args[++i];
    if (a == "--transport") {
      const auto t = parse_transport(v);
      if (!t) return usage();
      o.transport.kind = *t;
    } else if (a == "--host") {
      o.transport.host = v;
    } else if (a == "--port") {
      o.transport.port = static_cast<std::uint16_t>(std::stoul(v));
    } else if (a == "--cert") {
      o.transport.tls.certificate = v;
    } else if (a == "--key") {
      o.transport.tls.private_key = v;
    } else if (a == "--ca") {
      o.transport.tls.ca_bundle = v;
    } else if (a == "--crl") {
      o.transport.tls.crl_file = v;
    } else if (a == "--server-name") {
      o.transport.server_name = v;
    } else if (a == "--pin") {
      o.transport.pinned_sha256 = v;
    } else if (a == "--format") {
      const auto f = parse_export_format(v);
      if (!f) return usage();
      o.format = *f;
    } else if (a == "--count") {
      count = std::stoull(v);
    } else if (a == "--rate") {
      rate = std::stod(v);
    } else if (a == "--cursor-dir") {
      cursor_dir = v;
    } else if (a == "--name") {
      o.name = v;
    } else if (a == "--status") {
      status_path = v;
    } else if (a == "--events") {
      events_path = v;
    } else if (a == "--confirm-delay-ms") {
      o.confirm_delay = std::chrono::milliseconds(std::stoll(v));
    } else if (a == "--max-unconfirmed") {
      o.max_unconfirmed = std::stoull(v);
    } else if (a == "--write-timeout-ms") {
      o.transport.write_timeout = std::chrono::milliseconds(std::stoll(v));
    } else if (a == "--connect-timeout-ms") {
      o.transport.connect_timeout = std::chrono::milliseconds(std::stoll(v));
    } else if (a == "--batch") {
      o.batch_records = std::stoull(v);
    } else {
      return usage();
    }
  }
  if (cursor_dir.empty()) return usage();

  SyntheticSource source(count, rate);
  FileCursorStore cursors(cursor_dir);
  std::unique_ptr<JsonLinesSink> events;
  if (!events_path.empty()) events = std::make_unique<JsonLinesSink>(events_path);

  asio::io_context io;
  wardgate::common::MetricsRegistry metrics;
  SyslogExporter exporter(io.get_executor(), o, source, cursors, metrics, events.get());
  const ExporterMetrics view(metrics, o.name);
  asio::co_spawn(io, exporter.run(), asio::detached);

  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGPIPE, SIG_IGN);

  std::thread monitor([&] {
    const auto started = Clock::now();
    std::optional<double> done_after;
    while (!g_stop) {
      nlohmann::json j = to_json_health(o.name, view, exporter);
      const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
      j["elapsed_s"] = elapsed;
      if (j["cursor"].get<std::uint64_t>() >= count && !done_after) done_after = elapsed;
      if (done_after) j["done_after_s"] = *done_after;
      write_status(status_path, j);
      if (exit_when_done && done_after) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    exporter.stop();
  });
  io.run();
  monitor.join();
  const nlohmann::json final_health = to_json_health(o.name, view, exporter);
  write_status(status_path, final_health);
  std::cout << final_health.dump() << std::endl;
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "syslog_export_driver: " << e.what() << "\n";
    return 1;
  }
}
