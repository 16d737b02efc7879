#include "export/syslog_exporter.h"

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <numeric>

#include "export/octet_counting.h"
#include "store/store_error.h"
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

SyslogExporter::SyslogExporter(const asio::any_io_executor& executor, ExporterOptions options,
                               store::RecordSource& source, store::CursorStore& cursors,
                               common::MetricsRegistry& metrics, audit::AuditSink* events)
    : executor_(executor),
      options_(std::move(options)),
      source_(source),
      cursors_(cursors),
      events_(events),
      link_(executor, options_.transport),
      wake_(executor),
      commit_wake_(executor),
      metrics_(metrics, options_.name) {
  options_.batch_records = std::clamp<std::size_t>(options_.batch_records, 1, 10000);
  options_.max_unconfirmed = std::max(options_.max_unconfirmed, options_.batch_records);
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

std::string SyslogExporter::last_error() const {
  const std::lock_guard lock(mutex_);
  return last_error_;
}

void SyslogExporter::set_last_error(std::string text) {
  const std::lock_guard lock(mutex_);
  last_error_ = std::move(text);
}

void SyslogExporter::publish() {
  metrics_.delivered.set(static_cast<double>(cursor_));
  metrics_.sent.set(static_cast<double>(last_sent_));
  metrics_.backlog.set(static_cast<double>(backlog_));
  metrics_.connected.set(connected_ ? 1.0 : 0.0);
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

std::error_code SyslogExporter::write_cursor(const std::string& key, std::uint64_t seq) {
  // A store that throws (sqlite wrapper, allocation) must not end run(): it is a detached
  // coroutine, and an exception leaving it would terminate the process.
  std::error_code ec;
  std::string detail;
  try {
    ec = cursors_.save_cursor(key, seq);
    if (ec) detail = ec.message();
  } catch (const std::exception& e) {
    ec = store::make_error_code(store::Errc::kWriteFailed);
    detail = e.what();
  } catch (...) {
    ec = store::make_error_code(store::Errc::kWriteFailed);
    detail = ec.message();
  }
  if (!ec) {
    if (cursor_save_failures_ > 0) {
      audit::Fields f;
      f.set("failed_attempts", cursor_save_failures_);
      f.set("cursor", seq);
      emit("export-cursor-saved", audit::Outcome::kSuccess, audit::Severity::kNotice, std::move(f));
      cursor_save_failures_ = 0;
    }
    return ec;
  }
  metrics_.cursor_save_failures.inc();
  set_last_error("store: cannot save the cursor: " + detail);
  // One event per failure episode; the metric counts every attempt.
  if (cursor_save_failures_++ == 0) {
    audit::Fields f;
    f.set("reason", detail);
    f.set("cursor", seq);
    emit("export-cursor-save-failed", audit::Outcome::kFailure, audit::Severity::kWarning,
         std::move(f));
  }
  return ec;
}

bool SyslogExporter::save_cursor(bool force) {
  const auto now = Clock::now();
  if (cursor_ == saved_cursor_) return true;
  if (!force && now - last_save_ < options_.cursor_save_interval) return true;
  last_save_ = now;  // a failed save is tried again after the same interval
  if (write_cursor(options_.name, cursor_)) return false;
  saved_cursor_ = cursor_;
  return true;
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
        cursor_ = inflight[done].last_seq;
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
  constexpr double kSecondsPerDay = 86400;
  if (d.certificate_days_left) {
    metrics_.set_expiry(CertificateRole::kClient, *d.certificate_days_left * kSecondsPerDay);
  }
  if (d.ca_days_left) metrics_.set_expiry(CertificateRole::kCa, *d.ca_days_left * kSecondsPerDay);
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
  auto backoff = options_.backoff_initial;
  // Starting without the cursor would resend the whole store: wait for the store instead.
  while (!stopping_) {
    try {
      cursor_ = cursors_.load_cursor(options_.name);
      saved_sent_ = std::max(cursor_, cursors_.load_cursor(sent_key(options_.name)));
      break;
    } catch (const std::exception& e) {
      set_last_error(std::string("store: cannot read the cursor: ") + e.what());
    } catch (...) {
      set_last_error("store: cannot read the cursor");
    }
    co_await sleep(backoff);
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
  backoff = options_.backoff_initial;
  saved_cursor_ = cursor_;
  resend_until_ = saved_sent_;
  last_sent_ = cursor_;

  while (!stopping_) {
    check_certificates();
    backlog_ = source_.last_seq() - std::min(source_.last_seq(), cursor_);
    files_signature_ = tls::files_signature(options_.transport.tls);
    auto err = co_await link_.connect();
    if (stopping_) break;
    if (err) {
      metrics_.failures(err->reason).inc();
      set_last_error(std::string(to_string(err->reason)) + ": " + err->detail);
      const auto now = Clock::now();
      if (is_handshake_failure(err->reason) &&
          (err->reason != last_alerted_ || now - last_alert_time_ >= kAlertRepeat)) {
        audit::Fields f;
        f.set("reason", to_string(err->reason));
        f.set("detail", err->detail);
        f.set("backlog", backlog_);
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
    metrics_.connects.inc();
    if (options_.transport.kind == TransportKind::kTls) metrics_.handshakes.inc();
    connected_ = true;
    last_sent_ = cursor_;
    last_alerted_ = LinkFailure::kCount;
    publish();

    const auto session_start = Clock::now();
    const std::uint64_t cursor_at_start = cursor_;
    auto ended = co_await (send_loop() || link_.watch());
    link_.close();
    connected_ = false;
    const LinkError why = ended.index() == 0 ? std::get<0>(ended) : std::get<1>(ended);
    if (stopping_) break;
    if (reload_requested_) {
      reload_requested_ = false;
      metrics_.tls_reloads.inc();
      next_expiry_check_ = {};  // the new certificate's dates, now
      set_last_error("tls files changed: reconnected");
      backoff = options_.backoff_initial;
      continue;  // at once: the new files are read by connect()
    }
    metrics_.failures(why.reason).inc();
    set_last_error(std::string(to_string(why.reason)) + ": " + why.detail);
    // Everything after the cursor goes again; what was sent may have arrived.
    resend_until_ = std::max({resend_until_, last_sent_, attempted_});
    last_sent_ = cursor_;
    audit::Fields f;
    f.set("reason", to_string(why.reason));
    f.set("detail", why.detail);
    f.set("backlog", source_.last_seq() - std::min(source_.last_seq(), cursor_));
    if (is_handshake_failure(why.reason)) {
      emit("export-handshake-failed", audit::Outcome::kFailure, audit::Severity::kAlert,
           std::move(f));
    } else {
      emit("export-disconnected", audit::Outcome::kWarning, audit::Severity::kWarning,
           std::move(f));
    }
    publish();
    // A session that carried records, or lasted, proves the destination works: start over.
    if (cursor_ > cursor_at_start || Clock::now() - session_start >= options_.backoff_max) {
      backoff = options_.backoff_initial;
    }
    co_await sleep(backoff);
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
  commits_.reset();
  save_cursor(true);
  connected_ = false;
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
    backlog_ = last - std::min(last, cursor_);

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
    const std::uint64_t in_window = last_sent_ - std::min(last_sent_, saved_cursor_);
    if (in_window >= options_.max_unconfirmed && cursor_ > saved_cursor_) {
      if (!save_cursor(true)) co_await sleep(options_.poll_interval);
      continue;
    }
    if (in_window >= options_.max_unconfirmed) {
      publish();
      co_await sleep(options_.poll_interval);
      continue;
    }
    if (last_sent_ >= last) {
      publish();
      // Records sent but not yet confirmed wait for TCP acknowledgements, and a cursor not yet
      // saved for its save interval: neither comes with a commit.
      if (inflight.empty() && cursor_ == saved_cursor_) {
        co_await wait_for_commit();
      } else {
        co_await sleep(options_.poll_interval);
      }
      continue;
    }
    const std::size_t room = static_cast<std::size_t>(
        std::min<std::uint64_t>(options_.batch_records, options_.max_unconfirmed - in_window));
    std::error_code read_error;
    std::vector<store::StoredRecord> records = source_.read_after(last_sent_, room, read_error);
    if (read_error) {
      // The store reports its own failures; the exporter counts it, waits and reads again.
      metrics_.store_read_failures.inc();
      set_last_error("store: " + read_error.message());
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
        metrics_.records_skipped.inc();
        continue;
      }
      if (r.seq <= resend_until_) metrics_.duplicates_sent.inc();
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
        if (!write_cursor(sent_key(options_.name), batch_last)) saved_sent_ = batch_last;
      }
      if (auto err = co_await link_.write(batch)) co_return *err;
    }
    metrics_.records_sent.inc(sent);
    last_sent_ = batch_last;
    if (!stream) {
      cursor_ = batch_last;  // UDP: nothing to wait for
    } else if (const auto p = link_.progress()) {
      inflight.push_back(InFlight{batch_last, p->written, std::nullopt});
    } else {
      co_return LinkError{LinkFailure::kNetwork, "socket state unavailable"};
    }
    publish();
  }
}

}  // namespace wardgate::exporter
