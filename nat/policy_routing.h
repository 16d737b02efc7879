#pragma once
// The policy routing TPROXY needs: packets marked by wardgate's nft rules are looked up in a table
// whose only route says "every address is local", so diverted packets reach the transparent
// sockets instead of being forwarded. Equivalent to
//   ip rule add fwmark MARK lookup TABLE priority PRIO
//   ip route replace local 0.0.0.0/0 dev lo table TABLE
// done over rtnetlink (libnl-route-3), idempotently: stale copies from a crashed run are removed.
#include <cstdint>
#include <string>

namespace wardgate::nat {

struct PolicyRoute {
  std::uint32_t fwmark = 1;
  std::uint32_t table = 100;
  std::uint32_t priority = 1000;
};

// Both return an empty string on success, else what failed and why.
std::string install_policy_route(const PolicyRoute& route);
std::string remove_policy_route(const PolicyRoute& route);

// Whether the rule and the local route are present (for status and tests).
bool policy_route_present(const PolicyRoute& route);

}  // namespace wardgate::nat
