#include "app/audit_export_setup.h"

#include <spdlog/spdlog.h>

namespace wardgate::app {

AuditExport::AuditExport(const Config& config, store::AuditStore& store, audit::AuditSink& events,
                         common::MetricsRegistry& metrics) {
  for (const auto& d : config.audit.exports) {
    exporters_.push_back(std::make_unique<exporter::SyslogExporter>(io_.get_executor(), d, store,
                                                                    store, metrics, &events));
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

}  // namespace wardgate::app
