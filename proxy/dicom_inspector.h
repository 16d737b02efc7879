#pragma once
// DICOM inspection of one proxied connection: feeds the relayed bytes to dicom::Decoder, turns
// what it reports into audit events (associations, one event per DIMSE operation, a summary) and
// applies the device's DICOM rules. A refused association is answered by wardgate itself with
// A-ASSOCIATE-RJ and never reaches the server; a refused command ends the association with
// A-ABORT to both sides; a protocol violation is a security alert and, with enforcement on, an
// A-ABORT to both sides. Data set bytes beyond the identifier peek are relayed unseen (splice).
#include <memory>
#include <string>

#include "audit/patient_data.h"
#include "audit/sink.h"
#include "dicom/decoder.h"
#include "policy/device_registry.h"
#include "proxy/inspector.h"

namespace wardgate::proxy {

struct DicomInspection {
  audit::AuditSink* sink = nullptr;
  const policy::DeviceRegistry* devices = nullptr;
  const audit::PatientDataProtector* patients = nullptr;
  std::string appliance_id;
  bool enforce = true;  // false: violations are audited, never acted upon
  dicom::DecoderLimits limits;
};

class DicomInspectorFactory final : public InspectorFactory {
 public:
  explicit DicomInspectorFactory(DicomInspection settings) : settings_(std::move(settings)) {}
  std::unique_ptr<Inspector> create(const SessionInfo& info) override;

 private:
  DicomInspection settings_;
};

}  // namespace wardgate::proxy
