#pragma once
// Ships the audit store to the configured syslog destinations (audit.export[]) while wardgate
// runs: one SyslogExporter per destination, all on one thread of their own, reading the store
// after each destination's persistent cursor. Stopping saves the cursors. Their state and
// counters are metrics wardgate_export_* in the process's registry.
#include <memory>
#include <thread>
#include <vector>

#include "app/config.h"
#include "export/syslog_exporter.h"
#include "store/audit_store.h"

namespace wardgate::app {

class AuditExport {
 public:
  // Starts nothing when no destination is configured. `events`: where the exporters' own events
  // go (the store, through the sink the inspectors use); `metrics` must outlive this.
  AuditExport(const Config& config, store::AuditStore& store, audit::AuditSink& events,
              common::MetricsRegistry& metrics);
  ~AuditExport();
  AuditExport(const AuditExport&) = delete;
  AuditExport& operator=(const AuditExport&) = delete;

  // Ends every exporter (their cursors saved) and the thread; idempotent.
  void stop();

 private:
  boost::asio::io_context io_;
  std::vector<std::unique_ptr<exporter::SyslogExporter>> exporters_;
  std::thread thread_;
};

}  // namespace wardgate::app
