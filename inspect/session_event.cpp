#include "inspect/session_event.h"

#include <chrono>

namespace wardgate::inspect {

audit::Event session_event(const proxy::SessionInfo& session, const std::string& appliance_id,
                           const std::string& device, const char* category, const char* action,
                           audit::Outcome outcome) {
  audit::Event e;
  e.time = std::chrono::system_clock::now();
  e.appliance_id = appliance_id;
  e.device = device;
  e.category = category;
  e.action = action;
  e.outcome = outcome;
  e.severity =
      outcome == audit::Outcome::kSuccess ? audit::Severity::kInfo : audit::Severity::kNotice;
  e.fields.set("session", session.id);
  e.fields.set("client", proxy::endpoint_text(session.device_addr, session.device_port));
  e.fields.set("server", proxy::endpoint_text(session.server_addr, session.server_port));
  return e;
}

}  // namespace wardgate::inspect
