#include "export/syslog_exporter.h"

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <numeric>

#include "export/octet_counting.h"
#include "tls/certificate_dates.h"

namespace wardgate::exporter {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// The CursorStore key under which the highest sequence number ever written to the destination is
// kept: after a kill -9, the records between the cursor and it are counted as duplicates when
// sent again.
std::string sent_key(const std::string& name) { return name + "#sent"; }

// A security alert for the same failure reason is repeated at most this often.
constexpr auto kAlertRepeat = std::chrono::minutes(5);
constexpr auto kExpiryCheckInterval = std::chrono::minutes(10);

}  // namespace

struct SyslogExporter::InFlight {
  std::uint64_t last_seq = 0;
  std::uint64_t end_mark = 0;  // TCP bytes written once this batch was
  std::optional<Clock::time_point> acked_at;
};

const char* to_string(ExportFormat format) {
  return format == ExportFormat::kAtna ? "atna" : "rfc5424";
}

std::optional<ExportFormat> parse_export_format(std::string_view name) {
  if (name == "rfc5424") return ExportFormat::kRfc5424;
  if (name == "atna") return ExportFormat::kAtna;
  return std::nullopt;
}

std::uint64_t ExporterHealth::handshake_failures() const {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < kLinkFailureCount; ++i) {
    if (is_handshake_failure(static_cast<LinkFailure>(i))) n += failures[i];
  }
  return n;
}

SyslogExporter::SyslogExporter(const asio::any_io_executor& executor, ExporterOptions options,
                               store::RecordSource& source, store::CursorStore& cursors,
                               audit::AuditSink* events)
    : executor_(executor),
      options_(std::move(options)),
      source_(source),
      cursors_(cursors),
      events_(events),
      link_(executor, options_.transport),
      wake_(executor),
      commit_wake_(executor) {
  options_.batch_records = std::clamp<std::size_t>(options_.batch_records, 1, 10000);
  options_.max_unconfirmed = std::max(options_.max_unconfirmed, options_.batch_records);
  h_.name = options_.name;
  published_ = h_;
}

SyslogExporter::~SyslogExporter() = default;

void SyslogExporter::stop() {
  stopping_ = true;
  asio::post(executor_, [this] {
    wake_.cancel();
    commit_wake_.cancel();
    link_.close();
  });
}

ExporterHealth SyslogExporter::health() const {
  const std::lock_guard lock(mutex_);
  return published_;
}

void SyslogExporter::publish() {
  const std::lock_guard lock(mutex_);
  published_ = h_;
}

asio::awaitable<void> SyslogExporter::sleep(std::chrono::milliseconds d) {
  if (stopping_) co_return;
  wake_.expires_after(d);
  co_await wake_.async_wait(kNoThrow);
}

asio::awaitable<void> SyslogExporter::wait_for_commit() {
  // The flag covers a commit between the caller's look at last_seq() and this wait; the timer's
  // cancel (posted by the commit) covers one during it.
  if (stopping_ || committed_.exchange(false)) co_return;
  commit_wake_.expires_after(options_.idle_interval);
  co_await commit_wake_.async_wait(kNoThrow);
  committed_ = false;
}

void SyslogExporter::emit(std::string action, audit::Outcome outcome, audit::Severity severity,
                          audit::Fields fields) {
  if (events_ == nullptr) return;
  audit::Event e = audit::make_event(options_.appliance_id, options_.name, "audit",
                                     std::move(action), outcome, severity);
  e.fields = std::move(fields);
  e.fields.set("destination", options_.name);
  e.fields.set("transport", to_string(options_.transport.kind));
  events_->record(std::move(e));
}

void SyslogExporter::save_cursor(bool force) {
  const auto now = Clock::now();
  if (h_.cursor == saved_cursor_) return;
  if (!force && now - last_save_ < options_.cursor_save_interval) return;
  if (const std::error_code ec = cursors_.save_cursor(options_.name, h_.cursor)) {
    h_.last_error = "store: " + ec.message();  // tried again at the next save
    return;
  }
  saved_cursor_ = h_.cursor;
  last_save_ = now;
}

void SyslogExporter::confirm(std::vector<InFlight>& inflight, bool force_save) {
  if (!inflight.empty()) {
    if (const auto p = link_.progress()) {
      const auto now = Clock::now();
      std::size_t done = 0;
      for (auto& f : inflight) {
        if (!f.acked_at && p->acked >= f.end_mark) f.acked_at = now;
      }
      while (done < inflight.size() && inflight[done].acked_at &&
             now - *inflight[done].acked_at >= options_.confirm_delay) {
        h_.cursor = inflight[done].last_seq;
        ++done;
      }
      inflight.erase(inflight.begin(), inflight.begin() + static_cast<std::ptrdiff_t>(done));
    }
  }
  save_cursor(force_save);
}

bool SyslogExporter::format_record(const store::StoredRecord& record, std::string& out) {
  if (options_.format == ExportFormat::kAtna) {
    AtnaOptions a;
    a.syslog = options_.syslog;
    a.enterprise_site_id = options_.enterprise_site_id;
    auto m = format_atna(record, a);
    if (!m) return false;
    out = std::move(*m);
    return true;
  }
  out = format_rfc5424(record, options_.syslog);
  return true;
}

void SyslogExporter::check_certificates() {
  if (options_.transport.kind != TransportKind::kTls) return;
  const auto now = Clock::now();
  if (now < next_expiry_check_) return;
  next_expiry_check_ = now + kExpiryCheckInterval;
  const tls::CertificateDates d = tls::certificate_dates(options_.transport.tls);
  h_.client_cert_days_left = d.certificate_days_left;
  h_.ca_days_left = d.ca_days_left;
  const auto warn = [&](const std::optional<double>& days, int& level, const char* which) {
    if (!days) return;
    const int now_level = *days <= 7 ? 2 : (*days <= 30 ? 1 : 0);
    if (now_level > level) {
      audit::Fields f;
      f.set("certificate", which);
      f.set("days_left", static_cast<std::int64_t>(*days));
      f.set("threshold_days", now_level == 2 ? 7 : 30);
      emit("export-certificate-expiring", audit::Outcome::kWarning,
           now_level == 2 ? audit::Severity::kAlert : audit::Severity::kWarning, std::move(f));
    }
    level = now_level;
  };
  warn(d.certificate_days_left, expiry_level_client_, "client");
  warn(d.ca_days_left, expiry_level_ca_, "ca");
}

asio::awaitable<void> SyslogExporter::run() {
  commits_ = source_.on_commit([this](std::uint64_t) {
    committed_ = true;
    asio::post(executor_, [this] { commit_wake_.cancel(); });
  });
  h_.cursor = cursors_.load_cursor(options_.name);
  saved_cursor_ = h_.cursor;
  saved_sent_ = std::max(h_.cursor, cursors_.load_cursor(sent_key(options_.name)));
  resend_until_ = saved_sent_;
  h_.last_sent = h_.cursor;
  auto backoff = options_.backoff_initial;

  while (!stopping_) {
    check_certificates();
    h_.backlog = source_.last_seq() - std::min(source_.last_seq(), h_.cursor);
    files_signature_ = tls::files_signature(options_.transport.tls);
    auto err = co_await link_.connect();
    if (stopping_) break;
    if (err) {
      ++h_.failures[static_cast<std::size_t>(err->reason)];
      h_.last_error = std::string(to_string(err->reason)) + ": " + err->detail;
      const auto now = Clock::now();
      if (is_handshake_failure(err->reason) &&
          (err->reason != last_alerted_ || now - last_alert_time_ >= kAlertRepeat)) {
        audit::Fields f;
        f.set("reason", to_string(err->reason));
        f.set("detail", err->detail);
        f.set("backlog", h_.backlog);
        emit("export-handshake-failed", audit::Outcome::kFailure, audit::Severity::kAlert,
             std::move(f));
        last_alerted_ = err->reason;
        last_alert_time_ = now;
      }
      publish();
      co_await sleep(backoff);
      backoff = std::min(backoff * 2, options_.backoff_max);
      continue;
    }
    ++h_.connects;
    if (options_.transport.kind == TransportKind::kTls) ++h_.handshake_successes;
    h_.connected = true;
    h_.last_sent = h_.cursor;
    last_alerted_ = LinkFailure::kCount;
    publish();

    const auto session_start = Clock::now();
    const std::uint64_t cursor_at_start = h_.cursor;
    auto ended = co_await (send_loop() || link_.watch());
    link_.close();
    h_.connected = false;
    const LinkError why = ended.index() == 0 ? std::get<0>(ended) : std::get<1>(ended);
    if (stopping_) break;
    if (reload_requested_) {
      reload_requested_ = false;
      ++h_.tls_reloads;
      next_expiry_check_ = {};  // the new certificate's dates, now
      h_.last_error = "tls files changed: reconnected";
      backoff = options_.backoff_initial;
      continue;  // at once: the new files are read by connect()
    }
    ++h_.failures[static_cast<std::size_t>(why.reason)];
    h_.last_error = std::string(to_string(why.reason)) + ": " + why.detail;
    // Everything after the cursor goes again; what was sent may have arrived.
    resend_until_ = std::max({resend_until_, h_.last_sent, attempted_});
    h_.last_sent = h_.cursor;
    audit::Fields f;
    f.set("reason", to_string(why.reason));
    f.set("detail", why.detail);
    f.set("backlog", source_.last_seq() - std::min(source_.last_seq(), h_.cursor));
    if (is_handshake_failure(why.reason)) {
      emit("export-handshake-failed", audit::Outcome::kFailure, audit::Severity::kAlert,
           std::move(f));
    } else {
      emit("export-disconnected", audit::Outcome::kWarning, audit::Severity::kWarning,
           std::move(f));
    }
    publish();
    // A session that carried records, or lasted, proves the destination works: start over.
    if (h_.cursor > cursor_at_start || Clock::now() - session_start >= options_.backoff_max) {
      backoff = options_.backoff_initial;
    }
    co_await sleep(backoff);
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
  commits_.reset();
  save_cursor(true);
  h_.connected = false;
  publish();
}

asio::awaitable<LinkError> SyslogExporter::send_loop() {
  std::vector<InFlight> inflight;
  const bool stream = options_.transport.kind != TransportKind::kUdp;
  const bool tls = options_.transport.kind == TransportKind::kTls;
  auto next_file_check = Clock::now() + options_.file_check_interval;
  std::optional<Clock::time_point> draining_since;
  std::string batch;
  std::string message;

  for (;;) {
    if (stopping_) {
      confirm(inflight, true);
      co_return LinkError{LinkFailure::kStopping, "stopping"};
    }
    confirm(inflight, false);
    check_certificates();
    const std::uint64_t last = source_.last_seq();
    h_.backlog = last - std::min(last, h_.cursor);

    const auto now = Clock::now();
    if (tls && !draining_since && now >= next_file_check) {
      next_file_check = now + options_.file_check_interval;
      if (tls::files_signature(options_.transport.tls) != files_signature_) draining_since = now;
    }
    if (draining_since) {
      // New certificate, key, CA or CRL: stop sending, let the window drain, then reconnect.
      if (inflight.empty() || now - *draining_since >= options_.reload_drain_timeout) {
        confirm(inflight, true);
        reload_requested_ = true;
        link_.close();
        co_return LinkError{LinkFailure::kTlsFilesChanged, "tls files changed"};
      }
      publish();
      co_await sleep(options_.poll_interval);
      continue;
    }

    // The window is counted from the saved cursor: after a kill -9 at most max_unconfirmed
    // records are sent again, whatever the cursor in memory had reached.
    const std::uint64_t in_window = h_.last_sent - std::min(h_.last_sent, saved_cursor_);
    if (in_window >= options_.max_unconfirmed && h_.cursor > saved_cursor_) {
      save_cursor(true);
      continue;
    }
    if (in_window >= options_.max_unconfirmed) {
      publish();
      co_await sleep(options_.poll_interval);
      continue;
    }
    if (h_.last_sent >= last) {
      publish();
      // Records sent but not yet confirmed wait for TCP acknowledgements, and a cursor not yet
      // saved for its save interval: neither comes with a commit.
      if (inflight.empty() && h_.cursor == saved_cursor_) {
        co_await wait_for_commit();
      } else {
        co_await sleep(options_.poll_interval);
      }
      continue;
    }
    const std::size_t room = static_cast<std::size_t>(
        std::min<std::uint64_t>(options_.batch_records, options_.max_unconfirmed - in_window));
    std::error_code read_error;
    std::vector<store::StoredRecord> records = source_.read_after(h_.last_sent, room, read_error);
    if (read_error) {
      // The store reports its own failures; the exporter waits and reads again.
      h_.last_error = "store: " + read_error.message();
      co_await sleep(options_.backoff_initial);
      continue;
    }
    if (records.empty()) {
      co_await sleep(options_.poll_interval);
      continue;
    }
    batch.clear();
    std::size_t sent = 0;
    // A write that fails half-way (or datagrams sent before one failed) may still have
    // reached the collector: the whole batch counts as possibly delivered.
    attempted_ = std::max(attempted_, records.back().seq);
    for (const auto& r : records) {
      if (!format_record(r, message)) {
        ++h_.records_skipped;
        continue;
      }
      if (r.seq <= resend_until_) ++h_.duplicates_sent;
      if (!stream) {
        if (auto err = co_await link_.write(message)) co_return *err;
        ++sent;
        continue;
      }
      append_octet_counted(batch, message);
      ++sent;
    }
    const std::uint64_t batch_last = records.back().seq;
    if (stream && !batch.empty()) {
      if (batch_last > saved_sent_) {
        // Before the bytes leave: after a kill -9, the next run knows they may have arrived.
        if (!cursors_.save_cursor(sent_key(options_.name), batch_last)) saved_sent_ = batch_last;
      }
      if (auto err = co_await link_.write(batch)) co_return *err;
    }
    h_.records_sent += sent;
    h_.last_sent = batch_last;
    if (!stream) {
      h_.cursor = batch_last;  // UDP: nothing to wait for
    } else if (const auto p = link_.progress()) {
      inflight.push_back(InFlight{batch_last, p->written, std::nullopt});
    } else {
      co_return LinkError{LinkFailure::kNetwork, "socket state unavailable"};
    }
    publish();
  }
}

}  // namespace wardgate::exporter
