#pragma once
// Puts the gateway's forwarding policy into the kernel and keeps it there. Fail closed: nothing
// removes it when wardgate stops (graceful stop, kill -9, OOM kill all leave the VLAN closed); the
// next start replaces it atomically. remove_gateway() is for explicit maintenance only
// (`wardgate gateway remove`). The bypass helpers manage the `bypass` set: the only way traffic
// crosses uninspected, per VLAN interface, ending by itself.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nat/gateway_rules.h"
#include "nat/policy_routing.h"

namespace wardgate::nat {

// Installs the policy route TPROXY needs, then replaces `table inet <plan.table>` (and any
// interception-only `table ip <plan.table>` of an earlier mode) in one nft transaction; a running
// bypass is carried over with its remaining time. Empty on success; on failure the previous
// policy, if any, stays in force.
std::string install_gateway(const GatewayPlan& plan);
// Removes the table and the policy route: the VLAN is then routed without wardgate. Empty on
// success; succeeds when nothing is installed.
std::string remove_gateway(const std::string& table, const PolicyRoute& route);

constexpr std::int64_t kMaxBypassMinutes = 1440;  // one day
constexpr std::size_t kMaxBypassReason = 120;

// The reason as it can go into a kernel comment: printable ASCII, '"' and '\' replaced, control
// and non-ASCII bytes shown as '?', at most kMaxBypassReason characters.
std::string sanitize_bypass_reason(std::string_view reason);

// Lets the interface's traffic through uninspected for `minutes` (1 to kMaxBypassMinutes);
// replaces a bypass already running on it. Empty on success, else why not.
std::string add_bypass(const std::string& table, const std::string& interface, std::int64_t minutes,
                       const std::string& reason);
// Ends every bypass now; flows they admitted are cut off. Empty on success.
std::string end_bypass(const std::string& table);

struct BypassEntry {
  std::string interface;
  std::int64_t expires_in_seconds = 0;
  std::string reason;
  bool operator==(const BypassEntry&) const = default;
};
struct BypassList {
  std::vector<BypassEntry> entries;
  std::string error;  // empty on success
};
BypassList list_bypass(const std::string& table);

// Reads the JSON listing of the bypass set (`nft -j list set inet <table> bypass`).
BypassList parse_bypass_listing(std::string_view json);

}  // namespace wardgate::nat
