#include "inspect/session_event.h"

namespace wardgate::inspect {

audit::Event session_event(const proxy::SessionInfo& session, const std::string& appliance_id,
                           const std::string& device, const char* category, const char* action,
                           audit::Outcome outcome) {
  audit::Event e = audit::make_event(
      appliance_id, device, category, action, outcome,
      outcome == audit::Outcome::kSuccess ? audit::Severity::kInfo : audit::Severity::kNotice);
  e.fields.set("session", session.id);
  e.fields.set("client", proxy::endpoint_text(session.client_addr, session.client_port));
  e.fields.set("server", proxy::endpoint_text(session.server_addr, session.server_port));
  e.fields.set("initiator", session.device_side == proxy::DeviceSide::kClient ? "device" : "core");
  return e;
}

}  // namespace wardgate::inspect
