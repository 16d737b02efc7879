#pragma once
// Builds what inspects the relayed traffic from the configuration: the audit sink, patient-data
// protection, the device registry and one inspector factory per protocol. Start-up only: throws
// std::runtime_error with a message naming the file or key at fault.
#include <memory>

#include "app/config.h"
#include "audit/fanout_sink.h"
#include "audit/logging_sink.h"
#include "audit/patient_data.h"
#include "common/metrics.h"
#include "policy/device_registry.h"
#include "proxy/byte_count_inspector.h"
#include "proxy/protocol_inspectors.h"
#include "store/audit_store.h"

namespace wardgate::app {

struct Inspection {
  std::unique_ptr<store::AuditStore> store;  // where every event is kept
  std::unique_ptr<audit::LoggingSink> log;   // audit.log mirror; null when "off"
  std::unique_ptr<audit::FanoutSink> audit;  // what the inspectors record to
  std::unique_ptr<audit::PatientDataProtector> patients;
  std::unique_ptr<policy::DeviceRegistry> devices;
  std::shared_ptr<proxy::ByteCountInspectorFactory> counters;  // non-DICOM services
  std::shared_ptr<proxy::ProtocolInspectors> inspectors;       // what the proxy asks
};

// `metrics` receives the store's metrics; it must outlive the Inspection.
Inspection make_inspection(const Config& config, common::MetricsRegistry& metrics);

}  // namespace wardgate::app
