#pragma once
// Reads and validates the `interception` section of the configuration (docs/configuration.md):
// which interfaces and TCP ports are diverted to wardgate's transparent listener, and the
// nftables table and policy route that do it. Throws common::ConfigError naming the key by its
// full path ("interception.services[1].port").
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nat/policy_routing.h"
#include "nat/tproxy_rules.h"

namespace wardgate::nat {

struct InterceptedService {
  std::string name;  // shown in logs and audit events
  std::uint16_t port = 0;
  std::string protocol = "tcp";  // which inspector reads the connections
  bool operator==(const InterceptedService&) const = default;
};

struct InterceptionOptions {
  std::vector<std::string> interfaces;  // imaging VLAN interfaces; empty: any interface
  std::vector<InterceptedService> services;
  std::uint16_t listen_port = 15001;
  std::uint32_t fwmark = 1;
  std::uint32_t route_table = 100;
  std::uint32_t rule_priority = 1000;
  std::string nft_table = "wardgate";
  bool operator==(const InterceptionOptions&) const = default;

  TproxyRules tproxy_rules() const;
  PolicyRoute policy_route() const;
};

// `protocols`: the names a service's "protocol" may take (the inspectors wardgate has), in the
// order an error message lists them.
InterceptionOptions read_interception_section(const nlohmann::json& section,
                                              const std::vector<std::string>& protocols);

}  // namespace wardgate::nat
