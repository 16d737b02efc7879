#pragma once
// Ships the audit store's records to one syslog destination, at least once, in sequence order
// (docs/audit-export.md). One exporter per destination; each keeps its own persistent cursor.
// Caught up, it sleeps until the store reports a commit (RecordSource::on_commit).
//
// Delivery: RFC 5425 and RFC 6587 have no application acknowledgement, so a record sent over
// TCP or TLS is only "carried" (the cursor moves past it) once the collector's TCP has
// acknowledged its last byte (tcpi_bytes_acked) AND confirm_delay has passed since, with the
// connection still up. Records sent after the saved cursor form the unconfirmed window (at
// most max_unconfirmed records); after any disconnect, reconnect or restart everything after
// the cursor is sent again. The collector may thus see duplicates, only from that window; they are
// counted (duplicates_sent). Over UDP nothing can be confirmed: a record is carried once the
// datagram left (RFC 5426 is lossy by design).
#include <utility>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "audit/sink.h"
#include "export/atna_format.h"
#include "export/syslog_format.h"
#include "export/syslog_transport.h"
#include "store/commit_notifier.h"
#include "store/record_source.h"

namespace wardgate::exporter {

enum class ExportFormat : std::uint8_t { kRfc5424, kAtna };
const char* to_string(ExportFormat format);  // "rfc5424", "atna"
std::optional<ExportFormat> parse_export_format(std::string_view name);

struct ExporterOptions {
  std::string name;          // destination name: cursor key, health, audit events
  std::string appliance_id;  // of the exporter's own audit events
  TransportOptions transport;
  ExportFormat format = ExportFormat::kRfc5424;
  SyslogOptions syslog;
  std::string enterprise_site_id;  // ATNA AuditEnterpriseSiteID
  std::size_t batch_records = 512;
  std::size_t max_unconfirmed = 65536;
  std::chrono::milliseconds confirm_delay{500};
  // While the window is full or a TLS reload drains it: how often TCP acknowledgements are
  // looked at (they come with no event to wait for).
  std::chrono::milliseconds poll_interval{20};
  // Caught up, the exporter sleeps until the store commits; it also wakes this often to look at
  // the certificates and TLS files.
  std::chrono::milliseconds idle_interval{1000};
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds cursor_save_interval{200};
  std::chrono::milliseconds file_check_interval{1000};  // TLS files' mtime
  std::chrono::milliseconds reload_drain_timeout{5000};
};

constexpr std::size_t kLinkFailureCount = static_cast<std::size_t>(LinkFailure::kCount);

// What the /metrics page and the health view show per destination.
struct ExporterHealth {
  std::string name;
  bool connected = false;
  std::uint64_t cursor = 0;           // last delivered (carried) sequence number
  std::uint64_t last_sent = 0;        // last sequence number written to the connection
  std::uint64_t backlog = 0;          // committed records after the cursor
  std::uint64_t records_sent = 0;     // messages written (resends included)
  std::uint64_t duplicates_sent = 0;  // resends of records possibly delivered already
  std::uint64_t records_skipped = 0;  // ATNA: events without an audit message type
  std::uint64_t connects = 0;
  std::uint64_t handshake_successes = 0;
  std::array<std::uint64_t, kLinkFailureCount> failures{};  // by LinkFailure
  std::uint64_t tls_reloads = 0;  // reconnects because the TLS files changed
  std::string last_error;         // "<reason>: <detail>"
  std::optional<double> client_cert_days_left;
  std::optional<double> ca_days_left;

  std::uint64_t failures_of(LinkFailure f) const { return failures[static_cast<std::size_t>(f)]; }
  std::uint64_t handshake_failures() const;
};

class SyslogExporter {
 public:
  // `events` receives the exporter's own audit events (handshake failures as security alerts,
  // disconnects, certificate expiry warnings at 30 and 7 days); may be null.
  SyslogExporter(const boost::asio::any_io_executor& executor, ExporterOptions options,
                 store::RecordSource& source, store::CursorStore& cursors,
                 audit::AuditSink* events);
  ~SyslogExporter();
  SyslogExporter(const SyslogExporter&) = delete;
  SyslogExporter& operator=(const SyslogExporter&) = delete;

  // Runs until stop(); co_spawn it on the executor given to the constructor.
  boost::asio::awaitable<void> run();
  // Thread-safe: asks run() to end soon (the connection is closed, the cursor saved).
  void stop();
  // Thread-safe snapshot.
  ExporterHealth health() const;

 private:
  struct InFlight;
  boost::asio::awaitable<LinkError> send_loop();
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds d);
  // Until the store commits (or idle_interval, or stop()).
  boost::asio::awaitable<void> wait_for_commit();
  void confirm(std::vector<InFlight>& inflight, bool force_save);
  void save_cursor(bool force);
  bool format_record(const store::StoredRecord& record, std::string& out);
  void check_certificates();
  void emit(std::string action, audit::Outcome outcome, audit::Severity severity,
            audit::Fields fields);
  void publish();

  boost::asio::any_io_executor executor_;
  ExporterOptions options_;
  store::RecordSource& source_;
  store::CursorStore& cursors_;
  audit::AuditSink* events_;
  SyslogLink link_;
  boost::asio::steady_timer wake_;
  boost::asio::steady_timer commit_wake_;  // apart from wake_: a commit must not cut a backoff
  std::atomic<bool> committed_{false};     // a commit since wait_for_commit() last looked
  store::CommitSubscription commits_;
  std::atomic<bool> stopping_{false};

  ExporterHealth h_;  // owned by run()'s coroutine; copied to published_
  std::uint64_t saved_cursor_ = 0;
  std::uint64_t resend_until_ = 0;  // seqs up to this may have reached the collector before
  std::uint64_t attempted_ = 0;     // highest seq handed to a write, finished or not
  std::uint64_t saved_sent_ = 0;
  std::chrono::steady_clock::time_point last_save_{};
  std::string files_signature_;
  bool reload_requested_ = false;
  int expiry_level_client_ = 0;  // 0 none, 1 <= 30 days warned, 2 <= 7 days warned
  int expiry_level_ca_ = 0;
  std::chrono::steady_clock::time_point next_expiry_check_{};
  LinkFailure last_alerted_ = LinkFailure::kCount;
  std::chrono::steady_clock::time_point last_alert_time_{};

  mutable std::mutex mutex_;
  ExporterHealth published_;
};

}  // namespace wardgate::exporter
