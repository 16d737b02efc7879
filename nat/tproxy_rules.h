#pragma once
// The model of wardgate's interception rules and its rendering to one nftables script. The
// script replaces wardgate's table in a single transaction, so applying it after a crash (kill -9)
// replaces stale rules instead of stacking them, and no packet ever sees a half-applied ruleset.
#include <cstdint>
#include <string>
#include <vector>

namespace wardgate::nat {

struct TproxyRules {
  std::string table = "wardgate";               // nft table (family ip) owned by wardgate
  std::vector<std::string> ingress_interfaces;  // the imaging VLAN interfaces; empty: any
  std::vector<std::uint16_t> ports;             // intercepted TCP destination ports
  std::uint16_t listener_port = 15001;          // where the transparent listeners wait
  std::uint32_t fwmark = 1;                     // steers diverted packets to the local table
};

// The nft script that installs (or atomically replaces) the table.
std::string render_install_script(const TproxyRules& rules);
// The nft script that removes the table if it exists (and succeeds if it does not).
std::string render_remove_script(const std::string& table);

}  // namespace wardgate::nat
