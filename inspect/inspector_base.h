#pragma once
// What the DICOM and HL7 inspectors share: the settings every inspector takes, the device the
// session belongs to, and the audit events they start from (who, which connection, alerts).
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

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
  // Every value may come from a peer (AE titles, UIDs, HL7 header fields, free text, lists):
  // each is capped in length and count, and marked when cut (audit::Fields::cap_values).
  void emit(audit::Event e) {
    e.fields.cap_values();
    settings_.sink->record(std::move(e));
  }

  // Both decoders name the two ends kClient and kServer; the device is the client of the
  // connections it opens, the server of those the core opens to a service it publishes.
  template <class Side>
  bool is_device(Side s) const {
    return (s == Side::kClient) == (info_.device_side == proxy::DeviceSide::kClient);
  }
  // The side that sent the bytes of `d`.
  template <class Side>
  Side side_of(Direction d) const {
    return (d == Direction::kFromDevice) == is_device(Side::kClient) ? Side::kClient
                                                                     : Side::kServer;
  }
  // The direction whose bytes `s` receives.
  template <class Side>
  Direction toward(Side s) const {
    return is_device(s) ? Direction::kToDevice : Direction::kFromDevice;
  }
  // What wardgate says to `s` when it closes the session.
  template <class Side>
  std::optional<std::vector<std::byte>>& response_to(Response& r, Side s) const {
    return is_device(s) ? r.to_device : r.to_upstream;
  }
  // "device"; the other end is "server" on the device's connections and "core" on those the
  // core opened.
  template <class Side>
  const char* who(Side s) const {
    if (is_device(s)) return "device";
    return s == Side::kServer ? "server" : "core";
  }

 protected:
  // `category`: the audit category of the protocol ("dicom", "hl7").
  InspectorBase(const InspectorSettings& settings, const SessionInfo& info, const char* category);

  // A rule refused something; `enforced`: wardgate acts on it (else it is only audited).
  void alert(const char* what, const policy::Decision& d, bool enforced);

  virtual void annotate(audit::Event& /*e*/) const {}

  const SessionInfo& info() const { return info_; }
  // The configured device the session comes from or goes to; null when it is not in devices[].
  const policy::Device* device() const { return device_; }
  // On a connection the core opened: the device's service it reached (null if not published).
  const policy::PublishedService* published() const { return published_; }
  // The rules the session is checked against: the device's own on its connections, those of the
  // published service on a connection the core opened. Null: none (an unknown device, or a
  // service it does not publish, which the upstream routing refuses before).
  const policy::DicomRules* dicom_rules() const;
  const policy::Hl7Rules* hl7_rules() const;
  // Whose rules they are, in refusals: "ct", or "ct (published service storescp)".
  const std::string& rules_holder() const { return rules_holder_; }
  const audit::PatientDataProtector& patients() const { return *settings_.patients; }
  const std::string& appliance_id() const { return settings_.appliance_id; }

 private:
  const InspectorSettings& settings_;
  SessionInfo info_;
  const char* category_;
  const policy::Device* device_;
  const policy::PublishedService* published_;
  std::string device_name_;
  std::string rules_holder_;
};

}  // namespace wardgate::inspect
