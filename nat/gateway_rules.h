#pragma once
// The gateway's forwarding policy (issue 12) as plain data, and its rendering to one nftables
// script that replaces `table inet <name>` in a single transaction. Per-device facts live in sets
// (addresses, published services, pass-through flows), so 1 000 devices stay a handful of rules
// and one small transaction. Denied packets are logged to NFLOG with a prefix saying why:
//   wg:ipv6  wg:spoof  wg:unknown  wg:deny-vlan  wg:no-listener  wg:deny-core  wg:vlan-input
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nat/gateway_section.h"
#include "nat/interception_section.h"
#include "nat/ipv4_prefix.h"
#include "nat/policy_routing.h"

namespace wardgate::nat {

// One element of the forwarded-flow set: source device . protocol . destination . port.
struct PassThroughElement {
  std::uint32_t source = 0;
  std::uint8_t protocol = 0;  // IPPROTO_TCP or IPPROTO_UDP
  Ipv4Prefix destination;
  std::uint16_t port = 0;
  bool operator==(const PassThroughElement&) const = default;
};

// ICMP echo from a device to a core prefix.
struct EchoElement {
  std::uint32_t source = 0;
  Ipv4Prefix destination;
  bool operator==(const EchoElement&) const = default;
};

// A device's service the core connects to, at the address the core sees (mapped or own).
struct PublishedElement {
  std::uint32_t address = 0;
  std::uint16_t port = 0;
  bool operator==(const PublishedElement&) const = default;
};

struct GatewayPlan {
  std::string table = "wardgate";  // table inet <table>
  std::vector<std::string> vlan_interfaces;
  Ipv4Prefix vlan_prefix;
  std::uint32_t gateway_address = 0;
  std::vector<std::uint32_t> devices;  // registered device addresses
  bool intercept_unknown = false;      // unknown_devices audit/allow: proxied like devices
  std::vector<std::uint16_t> intercepted_ports;
  std::uint16_t listener_port = 15001;
  std::uint32_t fwmark = 1;
  PolicyRoute route;
  std::vector<PublishedElement> published;
  std::vector<PassThroughElement> pass_through;  // no element contained in another
  std::vector<EchoElement> echo;                 // no element contained in another
  std::vector<std::uint32_t> echo_to_gateway;    // devices that may ping the gateway
  std::vector<std::uint16_t> vlan_services;      // appliance TCP ports open to the VLAN
  std::uint16_t log_group = 7900;
  std::uint32_t log_rate_per_second = 1000;   // NFLOG observations beyond it are counted only
  std::uint32_t bypass_ct_mark = 0x80000000;  // conntrack mark bit of flows admitted by a bypass
  std::optional<PrefixMap> nat;
};

// Everything resolved: device types expanded to addresses, published services at their mapped
// addresses, duplicate and nested flow elements merged (the kernel refuses overlapping elements).
GatewayPlan make_gateway_plan(const GatewayOptions& gateway, const std::vector<DeviceName>& devices,
                              const InterceptionOptions& interception);

// Replaces (or creates) the table atomically: the kernel never sees a half-applied policy.
std::string render_gateway_script(const GatewayPlan& plan);
// Removes the table if it exists (and succeeds if it does not).
std::string render_gateway_remove_script(const std::string& table);

// The NFLOG prefixes, for the flow log reader and tests.
namespace log_prefix {
inline constexpr const char* kDenyVlan = "wg:deny-vlan";
inline constexpr const char* kDenyCore = "wg:deny-core";
inline constexpr const char* kUnknown = "wg:unknown";
inline constexpr const char* kSpoof = "wg:spoof";
inline constexpr const char* kIpv6 = "wg:ipv6";
inline constexpr const char* kNoListener = "wg:no-listener";
inline constexpr const char* kVlanInput = "wg:vlan-input";
// Not a denial: the new flows of an unregistered address whose intercepted connections are
// proxied (unknown_devices audit/allow), logged so its first-seen event has its MAC.
inline constexpr const char* kUnknownSeen = "wg:unknown-seen";
}  // namespace log_prefix

}  // namespace wardgate::nat
