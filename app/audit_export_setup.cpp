#include "app/audit_export_setup.h"

#include <spdlog/spdlog.h>

namespace wardgate::app {

exporter::ExporterOptions exporter_options(const Config& config, const ExportDestinationConfig& d) {
  exporter::ExporterOptions o;
  o.name = d.name;
  o.appliance_id = config.appliance_id;
  // The configuration was validated: the names parse.
  o.transport.kind = *exporter::parse_transport(d.transport);
  o.transport.host = d.host;
  o.transport.port = d.port;
  o.transport.tls.certificate = d.client_cert;
  o.transport.tls.private_key = d.client_key;
  o.transport.tls.ca_bundle = d.ca_bundle;
  o.transport.tls.crl_file = d.crl_file;
  o.transport.server_name = d.server_name;
  o.transport.pinned_sha256 = d.pinned_sha256;
  o.transport.connect_timeout = d.connect_timeout;
  o.transport.write_timeout = d.write_timeout;
  o.format = *exporter::parse_export_format(d.format);
  o.syslog.facility = *exporter::parse_facility(d.facility);
  o.syslog.enterprise_number = d.enterprise_number;
  o.syslog.max_message_bytes = d.max_message_bytes;
  o.syslog.sw_version = WARDGATE_VERSION;
  o.enterprise_site_id = d.enterprise_site_id;
  o.confirm_delay = d.confirm_delay;
  o.max_unconfirmed = d.max_unconfirmed;
  o.backoff_max = d.backoff_max;
  return o;
}

AuditExport::AuditExport(const Config& config, store::AuditStore& store, audit::AuditSink& events) {
  for (const auto& d : config.audit.exports) {
    exporters_.push_back(std::make_unique<exporter::SyslogExporter>(
        io_.get_executor(), exporter_options(config, d), store, store, &events));
    boost::asio::co_spawn(io_, exporters_.back()->run(), boost::asio::detached);
    spdlog::info("audit export {}: {} to {}:{} ({})", d.name, d.transport, d.host, d.port,
                 d.format);
  }
  if (!exporters_.empty()) thread_ = std::thread([this] { io_.run(); });
}

AuditExport::~AuditExport() { stop(); }

void AuditExport::stop() {
  for (auto& e : exporters_) e->stop();
  if (thread_.joinable()) thread_.join();
}

std::vector<exporter::ExporterHealth> AuditExport::health() const {
  std::vector<exporter::ExporterHealth> out;
  for (const auto& e : exporters_) out.push_back(e->health());
  return out;
}

}  // namespace wardgate::app
