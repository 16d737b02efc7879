#include "app/inspection_setup.h"

#include "dicom/decoder.h"
#include "inspect/dicom_inspector.h"
#include "inspect/hl7_inspector.h"

namespace wardgate::app {

AuditPipeline make_audit_pipeline(const Config& config, common::MetricsRegistry& metrics) {
  AuditPipeline p;
  store::StoreOptions store_options = config.audit.store;
  store_options.metrics = &metrics;
  p.store = std::make_unique<store::AuditStore>(std::move(store_options));
  std::vector<audit::AuditSink*> sinks{p.store.get()};
  if (config.audit.options.log != "off") {
    audit::LoggingSinkOptions log_options;
    log_options.appliance_id = config.appliance_id;
    log_options.metrics = &metrics;
    p.log = std::make_unique<audit::LoggingSink>(config.audit.options.log, log_options);
    if (config.audit.options.log_patient_data == "as-stored") {
      sinks.push_back(p.log.get());
    } else {
      p.log_filter = std::make_unique<audit::PatientDataFilterSink>(*p.log);
      sinks.push_back(p.log_filter.get());
    }
  }
  p.fanout = std::make_unique<audit::FanoutSink>(std::move(sinks));
  p.sink =
      std::make_unique<audit::EventBudgetSink>(config.audit.budget, config.appliance_id, *p.fanout,
                                               common::SystemClock::instance(), metrics);
  p.sink->start_timer();
  return p;
}

Inspection make_inspection(const Config& config, audit::AuditSink& audit) {
  Inspection in;
  audit::Secret secret{};
  if (config.audit.options.patient_data == audit::PatientDataPolicy::kKeyedHash) {
    secret = audit::load_or_create_secret(config.audit.options.secret_file);
  }
  in.patients =
      std::make_unique<audit::PatientDataProtector>(config.audit.options.patient_data, secret);
  in.devices = std::make_unique<policy::DeviceRegistry>(config.devices);

  in.counters = std::make_shared<inspect::ByteCountInspectorFactory>();
  in.inspectors = std::make_shared<inspect::ProtocolInspectors>(in.counters);

  // What every inspector is given: where events go, the devices, patient-data protection.
  const inspect::InspectorSettings common{&audit, in.devices.get(), in.patients.get(),
                                          config.appliance_id};
  inspect::DicomInspection dicom;
  static_cast<inspect::InspectorSettings&>(dicom) = common;
  dicom.enforce = config.dicom.enforce;
  dicom.limits = config.dicom.limits;
  in.inspectors->add("dicom", std::make_shared<inspect::DicomInspectorFactory>(dicom));
  dicom::prepare_decoding();

  inspect::Hl7Inspection hl7;
  static_cast<inspect::InspectorSettings&>(hl7) = common;
  hl7.enforce = config.hl7.enforce;
  hl7.limits = config.hl7.limits;
  hl7.ack_timeout = config.hl7.ack_timeout;
  in.inspectors->add("hl7", std::make_shared<inspect::Hl7InspectorFactory>(hl7));
  return in;
}

}  // namespace wardgate::app
