#pragma once
// Reads and validates the `gateway` and `nat` sections of the configuration
// (docs/configuration.md): the imaging VLAN's prefix and the appliance's address on it, the core
// networks, what unknown devices may do, the explicit pass-through flows, the appliance's own
// services reachable from the VLAN, and the optional 1:1 NAT of the VLAN prefix. Cross-checks them
// against the devices and the interception section. Throws common::ConfigError naming the key by
// its full path
// ("gateway.pass_through[1].devices[0]"), so nothing is applied from a refused configuration.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nat/interception_section.h"
#include "nat/ipv4_prefix.h"

namespace wardgate::nat {

// What traffic from a VLAN address that no device is registered at may do.
enum class UnknownDevices {
  deny,   // nothing: dropped and observed
  audit,  // the intercepted services (proxied, audited); everything else dropped and observed
  allow,  // as audit, without a first-seen event being required by policy
};
const char* to_string(UnknownDevices u);

enum class FlowProtocol { tcp, udp, icmp };
const char* to_string(FlowProtocol p);
std::uint8_t ip_protocol_number(FlowProtocol p);

// One explicit forwarded (not proxied) flow from the VLAN.
struct PassThroughFlow {
  std::string name;
  std::vector<std::string> devices;       // device names
  std::vector<std::string> device_types;  // device types: every device of the type
  FlowProtocol protocol = FlowProtocol::tcp;
  std::vector<std::uint16_t> ports;      // destination ports; empty for icmp
  std::vector<Ipv4Prefix> destinations;  // core destinations
  bool to_gateway = false;               // "gateway": ICMP echo to the appliance's VLAN address
  bool operator==(const PassThroughFlow&) const = default;
};

struct VlanService {
  std::string name;
  std::uint16_t port = 0;
  bool operator==(const VlanService&) const = default;
};

struct GatewayOptions {
  Ipv4Prefix vlan_prefix;
  std::uint32_t gateway_address = 0;  // host byte order, inside vlan_prefix
  std::vector<Ipv4Prefix> core_networks;
  UnknownDevices unknown_devices = UnknownDevices::deny;
  std::vector<PassThroughFlow> pass_through;
  std::vector<VlanService> vlan_services;
  std::uint16_t log_group = 7900;  // NFLOG group of the denied-flow observations
  std::optional<PrefixMap> nat;    // nat.mapped_prefix: vlan_prefix -> mapped prefix
  bool operator==(const GatewayOptions&) const = default;
};

// The devices as the gateway needs them (nat/ does not depend on policy/): in the order of the
// configuration's `devices` array, so errors can name "devices[i]".
struct PublishedPort {
  std::uint16_t port = 0;
};
struct DeviceName {
  std::string name;
  std::string type;
  std::uint32_t address = 0;  // host byte order
  std::vector<PublishedPort> published_services;
};

// `gateway` and `nat` are the sections or null when absent. Without a gateway section: nullopt
// (interception only, as before); a nat section then is an error.
std::optional<GatewayOptions> read_gateway_section(const nlohmann::json* gateway,
                                                   const nlohmann::json* nat,
                                                   const std::vector<DeviceName>& devices,
                                                   const InterceptionOptions& interception);

}  // namespace wardgate::nat
