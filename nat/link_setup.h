#pragma once
// What wg-quick does around a WireGuard interface, over rtnetlink (libnl-route-3): the MTU, the
// transmit queue length, the interface's own addresses, bringing it up, and the routes that send
// the core networks into it. Idempotent (replaces what a crashed run left behind).
#include <cstdint>
#include <string>
#include <vector>

namespace wardgate::nat {

struct LinkSetup {
  std::string interface;
  std::uint32_t mtu = 1420;
  std::uint32_t txqueuelen = 0;        // 0: leave as it is
  std::vector<std::string> addresses;  // "10.99.0.2/32", "fd00::2/128"
  std::vector<std::string> routes;     // "10.2.2.0/24": via the interface, scope link
};

// Empty on success, else what failed and why.
std::string configure_link(const LinkSetup& setup);
// Removes the routes (the addresses go with the interface). Empty on success.
std::string remove_link_routes(const LinkSetup& setup);

}  // namespace wardgate::nat
