#pragma once
// Builds, from the configuration, where audit events go (the audit pipeline: the store and the
// audit.log mirror) and what inspects the relayed traffic (patient-data protection, the device
// registry and one inspector factory per protocol). Start-up only: throws std::runtime_error with
// a message naming the file or key at fault.
#include <memory>

#include "app/config.h"
#include "audit/event_budget.h"
#include "audit/fanout_sink.h"
#include "audit/logging_sink.h"
#include "audit/patient_data.h"
#include "audit/patient_data_filter.h"
#include "common/metrics.h"
#include "inspect/byte_count_inspector.h"
#include "inspect/protocol_inspectors.h"
#include "policy/device_registry.h"
#include "store/audit_store.h"

namespace wardgate::app {

struct AuditPipeline {
  std::unique_ptr<store::AuditStore> store;  // where every event is kept
  std::unique_ptr<audit::LoggingSink> log;   // audit.log mirror; null when "off"
  // Between the fanout and the mirror unless audit.log_patient_data is "as-stored".
  std::unique_ptr<audit::PatientDataFilterSink> log_filter;
  std::unique_ptr<audit::FanoutSink> fanout;  // the store and the mirror
  // What every module records to: each device's events within its budget, the rest summarised.
  std::unique_ptr<audit::EventBudgetSink> sink;
};

// `metrics` receives the store's metrics; it must outlive the pipeline.
AuditPipeline make_audit_pipeline(const Config& config, common::MetricsRegistry& metrics);

struct Inspection {
  std::unique_ptr<audit::PatientDataProtector> patients;
  std::unique_ptr<policy::DeviceRegistry> devices;
  std::shared_ptr<inspect::ByteCountInspectorFactory> counters;  // services of no protocol
  std::shared_ptr<inspect::ProtocolInspectors> inspectors;       // what the proxy asks
};

// The inspectors record to `audit`, which must outlive them.
Inspection make_inspection(const Config& config, audit::AuditSink& audit);

}  // namespace wardgate::app
