#pragma once
// What the DICOM and HL7 inspectors share: the settings every inspector takes, the device the
// session belongs to, and the audit events they start from (who, which connection, alerts).
#include <string>

#include "audit/event.h"
#include "audit/patient_data.h"
#include "audit/sink.h"
#include "policy/decision.h"
#include "policy/device_registry.h"
#include "proxy/inspector.h"

namespace wardgate::inspect {

using proxy::Action;
using proxy::CloseCause;
using proxy::Direction;
using proxy::Response;
using proxy::SessionInfo;

struct InspectorSettings {
  audit::AuditSink* sink = nullptr;
  const policy::DeviceRegistry* devices = nullptr;
  const audit::PatientDataProtector* patients = nullptr;
  std::string appliance_id;
};

class InspectorBase : public proxy::Inspector {
 public:
  // The event every record of this session starts from; `annotate()` adds the protocol's own
  // session fields.
  audit::Event event(const char* action, audit::Outcome outcome) const;
  void emit(audit::Event e) { settings_.sink->record(std::move(e)); }

  // Both decoders name the two ends kClient (the device) and kServer.
  template <class Side>
  static Side side_of(Direction d) {
    return d == Direction::kFromDevice ? Side::kClient : Side::kServer;
  }
  template <class Side>
  static const char* who(Side s) {
    return s == Side::kClient ? "device" : "server";
  }

 protected:
  // `category`: the audit category of the protocol ("dicom", "hl7").
  InspectorBase(const InspectorSettings& settings, const SessionInfo& info, const char* category);

  // A rule refused something; `enforced`: wardgate acts on it (else it is only audited).
  void alert(const char* what, const policy::Decision& d, bool enforced);

  virtual void annotate(audit::Event& /*e*/) const {}

  const SessionInfo& info() const { return info_; }
  // The configured device the session comes from; null when it is not in devices[].
  const policy::Device* device() const { return device_; }
  const audit::PatientDataProtector& patients() const { return *settings_.patients; }
  const std::string& appliance_id() const { return settings_.appliance_id; }

 private:
  const InspectorSettings& settings_;
  SessionInfo info_;
  const char* category_;
  const policy::Device* device_;
  std::string device_name_;
};

}  // namespace wardgate::inspect
