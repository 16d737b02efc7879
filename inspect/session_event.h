#pragma once
// The audit event every inspector starts from: who (appliance, device), what (category,
// action, outcome) and which connection (session number, client and server endpoints, and who
// opened it: the device, or the core).
#include <string>

#include "audit/event.h"
#include "proxy/inspector.h"

namespace wardgate::inspect {

// Severity follows the outcome: info for success, notice otherwise (callers raise it for alerts).
audit::Event session_event(const proxy::SessionInfo& session, const std::string& appliance_id,
                           const std::string& device, const char* category, const char* action,
                           audit::Outcome outcome);

}  // namespace wardgate::inspect
