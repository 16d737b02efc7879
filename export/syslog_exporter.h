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
//
// Its state and counters are metrics wardgate_export_* labelled by destination in the
// registry it is given (export/exporter_metrics.h).
#include <utility>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "audit/sink.h"
#include "common/metrics.h"
#include "export/atna_format.h"
#include "export/exporter_metrics.h"
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
  bool operator==(const ExporterOptions&) const = default;
};

class SyslogExporter {
 public:
  // `events` receives the exporter's own audit events (handshake failures as security alerts,
  // disconnects, certificate expiry warnings at 30 and 7 days); may be null. `metrics` holds
  // the destination's wardgate_export_* metrics.
  SyslogExporter(const boost::asio::any_io_executor& executor, ExporterOptions options,
                 store::RecordSource& source, store::CursorStore& cursors,
                 common::MetricsRegistry& metrics, audit::AuditSink* events);
  ~SyslogExporter();
  SyslogExporter(const SyslogExporter&) = delete;
  SyslogExporter& operator=(const SyslogExporter&) = delete;

  // Runs until stop(); co_spawn it on the executor given to the constructor.
  boost::asio::awaitable<void> run();
  // Thread-safe: asks run() to end soon (the connection is closed, the cursor saved).
  void stop();
  // Thread-safe: the last failure as "<reason>: <detail>" (text, so not a metric); empty if none.
  std::string last_error() const;

 private:
  struct InFlight;
  boost::asio::awaitable<LinkError> send_loop();
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds d);
  // Until the store commits (or idle_interval, or stop()).
  boost::asio::awaitable<void> wait_for_commit();
  void confirm(std::vector<InFlight>& inflight, bool force_save);
  // False if the store did not take the cursor (recorded, tried again later).
  bool save_cursor(bool force);
  // Saves one cursor key, turning a store exception into an error; counts and reports failures.
  std::error_code write_cursor(const std::string& key, std::uint64_t seq);
  bool format_record(const store::StoredRecord& record, std::string& out);
  void check_certificates();
  void emit(std::string action, audit::Outcome outcome, audit::Severity severity,
            audit::Fields fields);
  // Shows the working state (cursor, last sent, backlog, connected) in the gauges.
  void publish();
  void set_last_error(std::string text);

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

  ExporterMetrics metrics_;
  // Owned by run()'s coroutine; publish() copies them to the gauges.
  std::uint64_t cursor_ = 0;     // last delivered (carried) sequence number
  std::uint64_t last_sent_ = 0;  // last sequence number written to the connection
  std::uint64_t backlog_ = 0;    // committed records after the cursor
  bool connected_ = false;
  std::uint64_t saved_cursor_ = 0;
  std::uint64_t resend_until_ = 0;  // seqs up to this may have reached the collector before
  std::uint64_t attempted_ = 0;     // highest seq handed to a write, finished or not
  std::uint64_t saved_sent_ = 0;
  std::chrono::steady_clock::time_point last_save_{};
  std::uint64_t cursor_save_failures_ = 0;  // in a row, since the last successful save
  std::string files_signature_;
  bool reload_requested_ = false;
  int expiry_level_client_ = 0;  // 0 none, 1 <= 30 days warned, 2 <= 7 days warned
  int expiry_level_ca_ = 0;
  std::chrono::steady_clock::time_point next_expiry_check_{};
  LinkFailure last_alerted_ = LinkFailure::kCount;
  std::chrono::steady_clock::time_point last_alert_time_{};

  mutable std::mutex mutex_;
  std::string last_error_;
};

}  // namespace wardgate::exporter
