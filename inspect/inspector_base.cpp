#include "inspect/inspector_base.h"

#include <arpa/inet.h>

#include "inspect/session_event.h"

namespace wardgate::inspect {

InspectorBase::InspectorBase(const InspectorSettings& settings, const SessionInfo& info,
                             const char* category)
    : settings_(settings),
      info_(info),
      category_(category),
      device_(settings.devices->find(ntohl(info.device_addr().s_addr))),
      published_(device_ != nullptr && info.device_side == proxy::DeviceSide::kServer
                     ? device_->published(info.server_port)
                     : nullptr),
      device_name_(device_ != nullptr ? device_->name : proxy::ip_text(info.device_addr())),
      rules_holder_(published_ != nullptr
                        ? device_name_ + " (published service " + published_->name + ")"
                        : device_name_) {}

const policy::DicomRules* InspectorBase::dicom_rules() const {
  if (device_ == nullptr) return nullptr;
  if (info_.device_side == proxy::DeviceSide::kClient) return &device_->dicom;
  return published_ != nullptr && published_->protocol == "dicom" ? &published_->dicom : nullptr;
}

const policy::Hl7Rules* InspectorBase::hl7_rules() const {
  if (device_ == nullptr) return nullptr;
  if (info_.device_side == proxy::DeviceSide::kClient) return &device_->hl7;
  return published_ != nullptr && published_->protocol == "hl7" ? &published_->hl7 : nullptr;
}

audit::Event InspectorBase::event(const char* action, audit::Outcome outcome) const {
  audit::Event e =
      session_event(info_, settings_.appliance_id, device_name_, category_, action, outcome);
  annotate(e);
  return e;
}

void InspectorBase::alert(const char* what, const policy::Decision& d, bool enforced) {
  audit::Event e =
      event("security-alert", enforced ? audit::Outcome::kDenied : audit::Outcome::kWarning);
  e.severity = audit::Severity::kAlert;
  e.fields.set("alert", what);
  e.fields.set("rule", policy::to_string(d.rule));
  e.fields.set("reason", d.reason);
  e.fields.set("reaction", enforced ? "refused" : "none (audit only)");
  emit(std::move(e));
}

}  // namespace wardgate::inspect
