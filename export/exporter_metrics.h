#pragma once
// One destination's exporter metrics, wardgate_export_* labelled by destination, in the process's
// registry. The exporter updates them; anyone else (the admin's /metrics page, the test driver)
// may build the same view, since registering a family again returns the existing one.
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "common/metrics.h"
#include "export/syslog_transport.h"

namespace wardgate::exporter {

constexpr std::size_t kLinkFailureCount = static_cast<std::size_t>(LinkFailure::kCount);

enum class CertificateRole : std::uint8_t { kClient, kCa };

class ExporterMetrics {
 public:
  ExporterMetrics(common::MetricsRegistry& registry, const std::string& destination);

  common::Gauge& connected;          // 1 while connected
  common::Gauge& delivered;          // last delivered (carried) sequence number: the cursor
  common::Gauge& sent;               // last sequence number written to the connection
  common::Gauge& backlog;            // committed records after the cursor
  common::Counter& records_sent;     // messages written (resends included)
  common::Counter& duplicates_sent;  // resends of records possibly delivered already
  common::Counter& records_skipped;  // ATNA: events without an audit message type
  common::Counter& connects;
  common::Counter& handshakes;            // TLS handshakes completed
  common::Counter& tls_reloads;           // reconnects because the TLS files changed
  common::Counter& cursor_save_failures;  // the store did not take a cursor save
  common::Counter& store_read_failures;   // the store could not give the next records

  common::Counter& failures(LinkFailure f) { return *failures_[static_cast<std::size_t>(f)]; }
  std::uint64_t failures_of(LinkFailure f) const;
  std::uint64_t handshake_failures() const;  // the failures is_handshake_failure() names

  // Seconds until the certificate's notAfter (negative once expired); set once known.
  void set_expiry(CertificateRole role, double seconds_left);
  std::optional<double> expiry(CertificateRole role) const;

 private:
  common::MetricsRegistry& registry_;
  std::string destination_;
  std::array<common::Counter*, kLinkFailureCount> failures_{};
  common::Family<common::Gauge>& expiry_;
};

}  // namespace wardgate::exporter
