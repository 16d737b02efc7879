#include "app/audit_export_setup.h"

#include <spdlog/spdlog.h>

namespace wardgate::app {

AuditExport::AuditExport(const Config& config, store::AuditStore& store, audit::AuditSink& events) {
  for (const auto& d : config.audit.exports) {
    exporters_.push_back(
        std::make_unique<exporter::SyslogExporter>(io_.get_executor(), d, store, store, &events));
    boost::asio::co_spawn(io_, exporters_.back()->run(), boost::asio::detached);
    spdlog::info("audit export {}: {} to {}:{} ({})", d.name, to_string(d.transport.kind),
                 d.transport.host, d.transport.port, to_string(d.format));
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
