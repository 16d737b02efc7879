#include "export/exporter_metrics.h"

namespace wardgate::exporter {
namespace {

constexpr const char* kExpiryName = "wardgate_export_certificate_expiry_seconds";

const char* role_name(CertificateRole role) {
  return role == CertificateRole::kClient ? "client" : "ca";
}

common::Gauge& gauge(common::MetricsRegistry& r, const char* name, const char* help,
                     const std::string& destination) {
  return r.gauge_family(name, help, {"destination"}).with({destination});
}

common::Counter& counter(common::MetricsRegistry& r, const char* name, const char* help,
                         const std::string& destination) {
  return r.counter_family(name, help, {"destination"}).with({destination});
}

}  // namespace

ExporterMetrics::ExporterMetrics(common::MetricsRegistry& registry, const std::string& destination)
    : connected(gauge(registry, "wardgate_export_connected",
                      "1 while the exporter is connected to the syslog destination.", destination)),
      delivered(gauge(registry, "wardgate_export_delivered_seq",
                      "Last audit sequence number delivered to the destination (its cursor).",
                      destination)),
      sent(gauge(registry, "wardgate_export_sent_seq",
                 "Last audit sequence number written to the destination's connection.",
                 destination)),
      backlog(gauge(registry, "wardgate_export_backlog_records",
                    "Committed audit records not yet delivered to the destination.", destination)),
      records_sent(counter(registry, "wardgate_export_records_sent_total",
                           "Syslog messages written to the destination (resends included).",
                           destination)),
      duplicates_sent(counter(registry, "wardgate_export_duplicates_sent_total",
                              "Resent records the destination may have received already.",
                              destination)),
      records_skipped(counter(registry, "wardgate_export_records_skipped_total",
                              "Audit records not exported (ATNA: no audit message type).",
                              destination)),
      connects(counter(registry, "wardgate_export_connects_total",
                       "Connections established to the destination.", destination)),
      handshakes(counter(registry, "wardgate_export_tls_handshakes_total",
                         "TLS handshakes completed with the destination.", destination)),
      tls_reloads(counter(registry, "wardgate_export_tls_reloads_total",
                          "Reconnections because the TLS files changed.", destination)),
      cursor_save_failures(counter(registry, "wardgate_export_cursor_save_failures_total",
                                   "Cursor saves the audit store failed (tried again later).",
                                   destination)),
      store_read_failures(counter(registry, "wardgate_export_store_read_failures_total",
                                  "Reads of the next records the audit store failed (tried "
                                  "again after a back-off).",
                                  destination)),
      registry_(registry),
      destination_(destination),
      expiry_(registry.gauge_family(kExpiryName,
                                    "Seconds until the exporter's certificate expires "
                                    "(client: its own; ca: the trusted CA's).",
                                    {"destination", "certificate"})) {
  auto& family = registry.counter_family(
      "wardgate_export_link_failures_total",
      "Failed connections and ended sessions with the destination, by reason.",
      {"destination", "reason"});
  // Every reason from the start, so a rate over a reason never begins at a missing series.
  for (std::size_t i = 0; i < kLinkFailureCount; ++i) {
    failures_[i] = &family.with({destination, to_string(static_cast<LinkFailure>(i))});
  }
}

std::uint64_t ExporterMetrics::failures_of(LinkFailure f) const {
  return static_cast<std::uint64_t>(failures_[static_cast<std::size_t>(f)]->value());
}

std::uint64_t ExporterMetrics::handshake_failures() const {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < kLinkFailureCount; ++i) {
    if (is_handshake_failure(static_cast<LinkFailure>(i))) {
      n += failures_of(static_cast<LinkFailure>(i));
    }
  }
  return n;
}

void ExporterMetrics::set_expiry(CertificateRole role, double seconds_left) {
  expiry_.with({destination_, role_name(role)}).set(seconds_left);
}

std::optional<double> ExporterMetrics::expiry(CertificateRole role) const {
  return registry_.value(kExpiryName, {destination_, role_name(role)});
}

}  // namespace wardgate::exporter
