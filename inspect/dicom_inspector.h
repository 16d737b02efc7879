#pragma once
// DICOM inspection of one proxied connection: feeds the relayed bytes to dicom::Decoder, has what
// it reports recorded (inspect/dicom_audit_trail.h) and applies the device's DICOM rules (on a
// connection the core opened to a device's storage SCP, its published service's rules). A
// refused association is answered by wardgate itself with A-ASSOCIATE-RJ and never reaches the
// server; a refused command ends the association with A-ABORT to both sides; a protocol
// violation is a security alert and, with enforcement on, an A-ABORT to both sides. Data set
// bytes beyond the identifier peek are relayed unseen (splice).
#include <memory>

#include "dicom/decoder.h"
#include "inspect/inspector_base.h"

namespace wardgate::inspect {

struct DicomInspection : InspectorSettings {
  bool enforce = true;  // false: violations are audited, never acted upon
  dicom::DecoderLimits limits;
};

class DicomInspectorFactory final : public proxy::InspectorFactory {
 public:
  explicit DicomInspectorFactory(DicomInspection settings) : settings_(std::move(settings)) {}
  std::unique_ptr<proxy::Inspector> create(const SessionInfo& info) override;

 private:
  DicomInspection settings_;
};

}  // namespace wardgate::inspect
