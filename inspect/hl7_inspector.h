#pragma once
// HL7 v2 over MLLP inspection of one proxied connection: every message and every acknowledgement
// becomes an audit event; acknowledgements are matched to their message by control ID with the
// latency; framing faults are events of their own; messages still unacknowledged when the
// connection ends are reported as such.
//
// Per-device rules (devices[].hl7) are checked for every message the device sends; on a
// connection the core opened to a device's HL7 listener, the published service's rules
// (devices[].published_services[]) for every message the core sends. A refused message is a
// security alert; with enforcement on (hl7.enforce) it is also not forwarded: wardgate answers
// the sender itself with an AR (or CR) acknowledgement and the connection goes on
// (hl7/frame_gate.h holds each frame until it is judged).
#include <chrono>
#include <memory>
#include <string>

#include "hl7/decoder.h"
#include "inspect/inspector_base.h"

namespace wardgate::inspect {

struct Hl7Inspection : InspectorSettings {
  bool enforce = false;       // refused messages are withheld and answered by wardgate
  hl7::DecoderLimits limits;  // default_charset: overridden by devices[].hl7.default_charset
  std::chrono::seconds ack_timeout{30};
};

class Hl7InspectorFactory final : public proxy::InspectorFactory {
 public:
  explicit Hl7InspectorFactory(Hl7Inspection settings) : settings_(std::move(settings)) {}
  std::unique_ptr<proxy::Inspector> create(const SessionInfo& info) override;

 private:
  Hl7Inspection settings_;
};

}  // namespace wardgate::inspect
