#include "app/inspection_setup.h"

#include "dicom/decoder.h"
#include "inspect/dicom_inspector.h"
#include "inspect/hl7_inspector.h"

namespace wardgate::app {

store::StoreOptions store_options(const Config& config) {
  const AuditStoreConfig& c = config.audit.store;
  store::StoreOptions o;
  o.path = c.path;
  o.signing_key_file = c.signing_key_file;
  o.appliance_id = config.appliance_id;
  o.group_commit = std::chrono::milliseconds(c.group_commit_ms);
  o.checkpoint_every_records = c.checkpoint_every_records;
  o.checkpoint_every = std::chrono::seconds(c.checkpoint_every_s);
  o.retention = std::chrono::hours(24) * c.retention_days;
  o.on_failure = c.on_failure == "fail-closed" ? store::FailureMode::kFailClosed
                                               : store::FailureMode::kFailOpen;
  o.min_free_bytes = std::uint64_t{c.min_free_mb} << 20;
  return o;
}

AuditPipeline make_audit_pipeline(const Config& config) {
  AuditPipeline p;
  p.store = std::make_unique<store::AuditStore>(store_options(config));
  std::vector<audit::AuditSink*> sinks{p.store.get()};
  if (config.audit.log != "off") {
    p.log = std::make_unique<audit::LoggingSink>(config.audit.log);
    sinks.push_back(p.log.get());
  }
  p.sink = std::make_unique<audit::FanoutSink>(std::move(sinks));
  return p;
}

Inspection make_inspection(const Config& config, audit::AuditSink& audit) {
  Inspection in;
  audit::Secret secret{};
  if (config.audit.patient_data == audit::PatientDataPolicy::kKeyedHash) {
    secret = audit::load_or_create_secret(config.audit.secret_file);
  }
  in.patients = std::make_unique<audit::PatientDataProtector>(config.audit.patient_data, secret);
  in.devices = std::make_unique<policy::DeviceRegistry>(config.devices);

  in.counters = std::make_shared<inspect::ByteCountInspectorFactory>();
  in.inspectors = std::make_shared<inspect::ProtocolInspectors>(in.counters);

  inspect::DicomInspection dicom;
  dicom.sink = &audit;
  dicom.devices = in.devices.get();
  dicom.patients = in.patients.get();
  dicom.appliance_id = config.appliance_id;
  dicom.enforce = config.dicom.enforce;
  dicom.limits.data_set_peek = config.dicom.peek_bytes;
  dicom.limits.pdu_slack = config.dicom.pdu_slack;
  dicom.limits.max_pdu_length = config.dicom.max_pdu_length;
  in.inspectors->add("dicom", std::make_shared<inspect::DicomInspectorFactory>(dicom));
  dicom::prepare_decoding();

  inspect::Hl7Inspection hl7;
  hl7.sink = &audit;
  hl7.devices = in.devices.get();
  hl7.patients = in.patients.get();
  hl7.appliance_id = config.appliance_id;
  hl7.enforce = config.hl7.enforce;
  hl7.limits.max_message_size = config.hl7.max_message_size;
  hl7.ack_timeout = config.hl7.ack_timeout;
  in.inspectors->add("hl7", std::make_shared<inspect::Hl7InspectorFactory>(hl7));
  return in;
}

}  // namespace wardgate::app
