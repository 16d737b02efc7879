#include "nat/gateway_rules.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace wardgate::nat {
namespace {

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;

// Of prefixes sharing one key, keeps those no other contains (CIDR prefixes are either nested or
// disjoint, so this leaves disjoint ones): the kernel refuses overlapping interval elements.
std::vector<Ipv4Prefix> outermost(std::vector<Ipv4Prefix> prefixes) {
  std::sort(prefixes.begin(), prefixes.end(), [](const Ipv4Prefix& a, const Ipv4Prefix& b) {
    return std::tie(a.length, a.address) < std::tie(b.length, b.address);
  });
  std::vector<Ipv4Prefix> kept;
  for (const auto& p : prefixes) {
    const bool nested = std::any_of(kept.begin(), kept.end(),
                                    [&](const Ipv4Prefix& k) { return k.contains(p.address); });
    if (!nested) kept.push_back(p);
  }
  return kept;
}

// Device addresses by name and by type, so resolving a flow costs its names, not all devices.
struct DeviceIndex {
  std::map<std::string, std::uint32_t, std::less<>> by_name;
  std::map<std::string, std::vector<std::uint32_t>, std::less<>> by_type;

  explicit DeviceIndex(const std::vector<DeviceName>& devices) {
    for (const auto& d : devices) {
      by_name.emplace(d.name, d.address);
      by_type[d.type].push_back(d.address);
    }
  }

  std::set<std::uint32_t> sources_of(const PassThroughFlow& flow) const {
    std::set<std::uint32_t> out;
    for (const auto& name : flow.devices) {
      if (const auto it = by_name.find(name); it != by_name.end()) out.insert(it->second);
    }
    for (const auto& type : flow.device_types) {
      if (const auto it = by_type.find(type); it != by_type.end()) {
        out.insert(it->second.begin(), it->second.end());
      }
    }
    return out;
  }
};

template <typename T, typename F>
std::string list_of(const std::vector<T>& items, F&& format) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ", ";
    out += format(items[i]);
  }
  return out;
}

std::string port_list(const std::vector<std::uint16_t>& ports) {
  return "{ " + list_of(ports, [](std::uint16_t p) { return std::to_string(p); }) + " }";
}

const char* protocol_name(std::uint8_t protocol) { return protocol == kUdp ? "udp" : "tcp"; }

// A named set; elements one per line, none when empty (nft refuses "elements = { }").
void render_set(std::ostringstream& s, const std::string& name, const std::string& type,
                const std::string& flags, const std::vector<std::string>& elements) {
  s << "  set " << name << " {\n    type " << type << "\n";
  if (!flags.empty()) s << "    flags " << flags << "\n";
  if (!elements.empty()) {
    s << "    elements = {\n";
    for (std::size_t i = 0; i < elements.size(); ++i) {
      s << "      " << elements[i] << (i + 1 < elements.size() ? ",\n" : "\n");
    }
    s << "    }\n";
  }
  s << "  }\n";
}

// A chain that records why a packet is refused (rate-limited so a flood costs no CPU in the log
// path; the counter counts every packet) and then refuses it.
void render_deny_chain(std::ostringstream& s, const GatewayPlan& p, const std::string& name,
                       const char* prefix, const std::string& verdict) {
  s << "  chain " << name << " {\n"
    << "    limit rate " << p.log_rate_per_second << "/second burst " << p.log_rate_per_second
    << " packets log prefix \"" << prefix << "\" group " << p.log_group << "\n"
    << "    " << verdict << "\n"
    << "  }\n";
}

}  // namespace

GatewayPlan make_gateway_plan(const GatewayOptions& g, const std::vector<DeviceName>& devices,
                              const InterceptionOptions& interception) {
  GatewayPlan p;
  p.table = interception.nft_table;
  p.vlan_interfaces = interception.interfaces;
  p.vlan_prefix = g.vlan_prefix;
  p.gateway_address = g.gateway_address;
  p.intercept_unknown = g.unknown_devices != UnknownDevices::deny;
  for (const auto& s : interception.services) p.intercepted_ports.push_back(s.port);
  p.listener_port = interception.listen_port;
  p.fwmark = interception.fwmark;
  p.route = interception.policy_route();
  p.vlan_services.reserve(g.vlan_services.size());
  for (const auto& s : g.vlan_services) p.vlan_services.push_back(s.port);
  p.log_group = g.log_group;
  p.nat = g.nat;

  std::set<std::uint32_t> addresses;
  std::set<std::pair<std::uint32_t, std::uint16_t>> published;
  for (const auto& d : devices) {
    addresses.insert(d.address);
    const std::uint32_t seen_as = g.nat ? g.nat->map(d.address) : d.address;
    for (const auto& s : d.published_services) published.emplace(seen_as, s.port);
  }
  p.devices.assign(addresses.begin(), addresses.end());
  for (const auto& [address, port] : published) p.published.push_back({address, port});

  const DeviceIndex index(devices);
  std::map<std::tuple<std::uint32_t, std::uint8_t, std::uint16_t>, std::vector<Ipv4Prefix>> flows;
  std::map<std::uint32_t, std::vector<Ipv4Prefix>> echo;
  std::set<std::uint32_t> echo_to_gateway;
  for (const auto& flow : g.pass_through) {
    for (const std::uint32_t source : index.sources_of(flow)) {
      if (flow.to_gateway) echo_to_gateway.insert(source);
      if (flow.protocol == FlowProtocol::icmp) {
        auto& d = echo[source];
        d.insert(d.end(), flow.destinations.begin(), flow.destinations.end());
        continue;
      }
      const std::uint8_t protocol = flow.protocol == FlowProtocol::udp ? kUdp : kTcp;
      for (const std::uint16_t port : flow.ports) {
        auto& d = flows[{source, protocol, port}];
        d.insert(d.end(), flow.destinations.begin(), flow.destinations.end());
      }
    }
  }
  for (const auto& [key, destinations] : flows) {
    const auto& [source, protocol, port] = key;
    for (const auto& d : outermost(destinations))
      p.pass_through.push_back({source, protocol, d, port});
  }
  for (const auto& [source, destinations] : echo) {
    for (const auto& d : outermost(destinations)) p.echo.push_back({source, d});
  }
  p.echo_to_gateway.assign(echo_to_gateway.begin(), echo_to_gateway.end());
  return p;
}

std::string render_gateway_script(const GatewayPlan& p) {
  const std::string vlan = p.vlan_prefix.to_string();
  const std::string gateway = format_ipv4(p.gateway_address);
  const std::string mark = std::to_string(p.fwmark);
  const std::string bypassed = std::to_string(p.bypass_ct_mark);
  const std::string tproxy =
      "tproxy ip to :" + std::to_string(p.listener_port) + " meta mark set " + mark + " accept";
  const std::string intercepted = port_list(p.intercepted_ports);

  std::ostringstream s;
  // "add" then "delete" makes the delete succeed whether or not the table exists; everything below
  // is one transaction, so the previous policy stays in force until the new one replaces it.
  s << "add table inet " << p.table << "\n"
    << "delete table inet " << p.table << "\n"
    << "table inet " << p.table << " {\n";

  std::vector<std::string> e;
  for (const auto& i : p.vlan_interfaces) e.push_back("\"" + i + "\"");
  render_set(s, "vlan_ifaces", "ifname", "", e);
  // Filled by `wardgate bypass`: element = VLAN interface, with a timeout and the reason.
  render_set(s, "bypass", "ifname", "timeout", {});
  e.clear();
  for (const auto a : p.devices) e.push_back(format_ipv4(a));
  render_set(s, "known_devices", "ipv4_addr", "", e);
  e.clear();
  for (const auto& x : p.published)
    e.push_back(format_ipv4(x.address) + " . " + std::to_string(x.port));
  render_set(s, "published", "ipv4_addr . inet_service", "", e);
  e.clear();
  for (const auto& x : p.pass_through) {
    e.push_back(format_ipv4(x.source) + " . " + protocol_name(x.protocol) + " . " +
                x.destination.to_string() + " . " + std::to_string(x.port));
  }
  render_set(s, "pass_through", "ipv4_addr . inet_proto . ipv4_addr . inet_service", "interval", e);
  e.clear();
  for (const auto& x : p.echo)
    e.push_back(format_ipv4(x.source) + " . " + x.destination.to_string());
  render_set(s, "pass_echo", "ipv4_addr . ipv4_addr", "interval", e);
  e.clear();
  for (const auto a : p.echo_to_gateway) e.push_back(format_ipv4(a));
  render_set(s, "echo_to_gateway", "ipv4_addr", "", e);

  // Interception: wardgate's own transparent sockets first (both legs, DESIGN.md pitfalls), then
  // new connections from the VLAN to the intercepted ports and from the core to published services.
  s << "  chain prerouting {\n"
    << "    type filter hook prerouting priority mangle; policy accept;\n"
    // Not the listener itself (a wildcard socket): a SYN from the VLAN to port listen_port of any
    // address would otherwise reach it and be answered.
    << "    meta l4proto tcp socket transparent 1 socket wildcard 0 meta mark set " << mark
    << " accept\n"
    // Spoofed sources before routing: the kernel drops a packet from its own address as a
    // martian before the forward chain, unrecorded.
    << "    iifname @vlan_ifaces meta nfproto ipv4 ip saddr != " << vlan << " goto deny_spoof\n"
    << "    iifname @vlan_ifaces ip saddr " << gateway
    << " goto deny_spoof\n"
    // A bypassed VLAN is not inspected: its connections go straight through (forward chain).
    << "    iifname @bypass accept\n"
    << "    iifname @vlan_ifaces ip saddr @known_devices ip daddr != " << vlan << " tcp dport "
    << intercepted << " counter " << tproxy << "\n";
  if (p.intercept_unknown) {
    // Logged without a verdict, so an unregistered address's first-seen event carries its MAC
    // even when all it does is use the intercepted services.
    s << "    iifname @vlan_ifaces ip saddr != @known_devices ct state new jump unknown_seen\n";
    s << "    iifname @vlan_ifaces ip saddr " << vlan << " ip saddr != " << gateway
      << " ip daddr != " << vlan << " tcp dport " << intercepted << " counter " << tproxy << "\n";
  }
  s << "    iifname != @vlan_ifaces ip daddr . tcp dport @published counter " << tproxy << "\n"
    << "  }\n";

  // Forwarding: nothing crosses between the VLAN and elsewhere unless a rule below says so.
  s << "  chain forward {\n"
    << "    type filter hook forward priority filter; policy drop;\n"
    // Flows a bypass admitted carry the ct mark bit and live only as long as the bypass.
    << "    iifname @bypass ct mark set ct mark or " << bypassed << " counter accept\n"
    << "    oifname @bypass ct mark set ct mark or " << bypassed << " counter accept\n"
    << "    ct mark and " << bypassed << " == " << bypassed << " counter drop\n"
    << "    ct state established,related counter accept\n"
    << "    iifname @vlan_ifaces goto from_vlan\n"
    << "    oifname @vlan_ifaces goto to_vlan\n"
    // Traffic not touching the VLAN is not the gateway's business.
    << "    accept\n"
    << "  }\n";

  s << "  chain from_vlan {\n"
    << "    meta nfproto ipv6 goto deny_ipv6\n";
  // Unknown devices whose connections would be proxied get the clean refusal too.
  if (p.intercept_unknown) s << "    tcp dport " << intercepted << " goto no_listener\n";
  s << "    ip saddr != @known_devices goto deny_unknown\n"
    << "    ip saddr . meta l4proto . ip daddr . th dport @pass_through counter accept\n"
    << "    icmp type echo-request ip saddr . ip daddr @pass_echo counter accept\n";
  // The proxy did not take the connection (TPROXY found no listener): refuse it at once instead
  // of letting the device wait for a timeout.
  if (!p.intercept_unknown) s << "    tcp dport " << intercepted << " goto no_listener\n";
  s << "    ct state new goto deny_vlan\n"
    << "    counter drop\n"
    << "  }\n";

  s << "  chain to_vlan {\n"
    << "    ct state new goto deny_core\n"
    << "    counter drop\n"
    << "  }\n";

  if (p.intercept_unknown) {
    render_deny_chain(s, p, "unknown_seen", log_prefix::kUnknownSeen, "counter return");
  }
  render_deny_chain(s, p, "deny_ipv6", log_prefix::kIpv6, "counter drop");
  render_deny_chain(s, p, "deny_spoof", log_prefix::kSpoof, "counter drop");
  render_deny_chain(s, p, "deny_unknown", log_prefix::kUnknown, "counter drop");
  render_deny_chain(s, p, "deny_vlan", log_prefix::kDenyVlan, "counter drop");
  render_deny_chain(s, p, "deny_core", log_prefix::kDenyCore, "counter drop");
  render_deny_chain(s, p, "no_listener", log_prefix::kNoListener,
                    "meta l4proto tcp counter reject with tcp reset");

  // The appliance itself, from the VLAN only: other interfaces (admin from the core) untouched.
  s << "  chain input {\n"
    << "    type filter hook input priority filter; policy accept;\n"
    << "    iifname @vlan_ifaces goto vlan_input\n"
    << "  }\n"
    << "  chain vlan_input {\n"
    << "    ct state established,related counter accept\n"
    << "    meta mark " << mark << " counter accept\n"
    << "    icmpv6 type nd-router-advert counter drop\n"
    << "    meta nfproto ipv6 goto deny_ipv6\n"
    << "    ip daddr " << gateway
    << " icmp type echo-request ip saddr @echo_to_gateway counter accept\n";
  if (!p.vlan_services.empty()) {
    s << "    ip daddr " << gateway << " tcp dport " << port_list(p.vlan_services)
      << " counter accept\n";
  }
  s << "    limit rate " << p.log_rate_per_second << "/second burst " << p.log_rate_per_second
    << " packets log prefix \"" << log_prefix::kVlanInput << "\" group " << p.log_group << "\n"
    << "    counter drop\n"
    << "  }\n";

  if (p.nat) {
    const std::string from = p.nat->from.to_string();
    const std::string to = p.nat->to.to_string();
    // The core addresses the VLAN by its mapped prefix; TPROXYed (marked) connections keep their
    // destination so the proxy sees the address the core used. Everything else is translated and
    // then judged by the forward chain like any core-to-VLAN packet.
    s << "  chain nat_prerouting {\n"
      << "    type nat hook prerouting priority dstnat; policy accept;\n"
      << "    meta mark " << mark << " accept\n"
      << "    iifname != @vlan_ifaces ip daddr " << to << " dnat ip prefix to ip daddr map { " << to
      << " : " << from << " }\n"
      << "  }\n"
      // Forwarded flows leave under the mapped prefix, host part kept; replies are mapped back by
      // conntrack.
      << "  chain nat_postrouting {\n"
      << "    type nat hook postrouting priority srcnat; policy accept;\n"
      << "    iifname @vlan_ifaces oifname != @vlan_ifaces ip saddr " << from
      << " snat ip prefix to ip saddr map { " << from << " : " << to << " }\n"
      << "  }\n";
  }
  s << "}\n";
  return s.str();
}

std::string render_gateway_remove_script(const std::string& table) {
  return "add table inet " + table + "\ndelete table inet " + table + "\n";
}

}  // namespace wardgate::nat
