#pragma once
// The invariants of a DeviceState decoded from untrusted bytes (the UAPI reply, the kernel's
// netlink dump), shared by their fuzz targets: the caps hold, and every prefix and endpoint
// prints back to text that parses to the same value (what `wardgate tunnel status` shows is what
// the backend said).
#include <cstddef>

#include "fuzz_check.h"
#include "tunnel/wg_types.h"

namespace wardgate::fuzz {

inline void check_device_state(const tunnel::DeviceState& state, std::size_t max_peers,
                               std::size_t max_allowed_ips) {
  check(state.peers.size() <= max_peers, "more peers than the cap");
  std::size_t allowed = 0;
  for (const auto& p : state.peers) {
    allowed += p.allowed_ips.size();
    for (const auto& ip : p.allowed_ips) {
      const auto again = tunnel::IpPrefix::parse(ip.to_string());
      check(again && *again == ip, "an allowed IP does not print back to itself");
    }
    if (p.endpoint) {
      const auto again = tunnel::Endpoint::parse(p.endpoint->to_string());
      check(again && *again == *p.endpoint, "an endpoint does not print back to itself");
    }
  }
  check(allowed <= max_allowed_ips, "more allowed IPs than the cap");
}

}  // namespace wardgate::fuzz
