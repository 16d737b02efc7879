#pragma once
// The audited bypass (`wardgate bypass`): the one way to let VLAN traffic through without
// inspection. The kernel holds the bypass itself (an element with a timeout in the gateway's
// `bypass` set, so it ends by itself even if no wardgate process is alive); this file holds what
// the audit trail needs around it:
// - the request's checks and the operator's name;
// - the start and end events (category "gateway", actions "bypass-started", "bypass-ended");
// - the marker "a bypass is active until T" beside the event spool, from which the daemon learns
//   that a bypass it did not see end has expired, even across its own restarts.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "app/operator_text.h"
#include "audit/event.h"

namespace wardgate::app {

constexpr int kMaxBypassMinutes = 24 * 60;
constexpr std::size_t kMaxBypassReason = 120;

struct BypassRequest {
  int minutes = 0;
  std::string reason;
  std::string by;  // the operator (SUDO_USER, else LOGNAME, else "uid N")
};

// Empty if acceptable, else what is wrong ("--minutes must be 1 to 1440").
std::string check_bypass_request(const BypassRequest& request);

struct ActiveBypass {
  std::chrono::system_clock::time_point started;
  std::chrono::system_clock::time_point until;
  std::string reason;
  std::string by;
};

audit::Event bypass_started_event(const std::string& appliance_id, const ActiveBypass& bypass,
                                  const std::vector<std::string>& interfaces);
// `how`: "ended-by-operator" or "expired".
audit::Event bypass_ended_event(const std::string& appliance_id, const ActiveBypass& bypass,
                                std::chrono::system_clock::time_point at, const std::string& how,
                                const std::string& ended_by);

// The marker file in `spool_dir` ("bypass.active"). write_ throws std::runtime_error naming the
// file; read_ returns nullopt when there is none (or it is unreadable, which it reports in
// `error`).
void write_active_bypass(const std::filesystem::path& spool_dir, const ActiveBypass& bypass);
std::optional<ActiveBypass> read_active_bypass(const std::filesystem::path& spool_dir,
                                               std::string* error = nullptr);
void clear_active_bypass(const std::filesystem::path& spool_dir);

}  // namespace wardgate::app
