#include "nat/gateway_section.h"

#include <set>
#include <string_view>

#include "common/json_reader.h"

namespace wardgate::nat {
namespace {

using common::ConfigError;
using common::ObjectReader;
using common::valid_name;

constexpr std::int64_t kMaxPort = 65535;
// Caps keep a hostile or mistaken file from building a ruleset the kernel chokes on.
constexpr std::size_t kMaxList = 1024;
constexpr std::size_t kMaxFlows = 8192;  // a few per device for a thousand devices
constexpr std::size_t kMaxNameLength = 32;
constexpr std::string_view kGatewayDestination = "gateway";

const nlohmann::json& required_array(ObjectReader& r, const std::string& key, bool non_empty,
                                     const std::string& what) {
  const nlohmann::json* v = r.member(key);
  if (v == nullptr) r.fail(key, "is required: " + what);
  if (!v->is_array() || (non_empty && v->empty())) {
    r.fail(key, std::string("must be ") + (non_empty ? "a non-empty" : "an") + " array: " + what);
  }
  if (v->size() > kMaxList) r.fail(key, "has more than " + std::to_string(kMaxList) + " entries");
  return *v;
}

std::string item_key(const std::string& key, std::size_t i) {
  return key + "[" + std::to_string(i) + "]";
}

Ipv4Prefix prefix_value(const ObjectReader& r, const std::string& key, const nlohmann::json& v) {
  if (!v.is_string()) r.fail(key, "must be an IPv4 prefix string, e.g. \"10.1.1.0/24\"");
  std::string why;
  const auto p = Ipv4Prefix::parse(v.get<std::string>(), &why);
  if (!p) r.fail(key, why + " (got " + common::shown(v) + ")");
  return *p;
}

Ipv4Prefix required_prefix(ObjectReader& r, const std::string& key) {
  const nlohmann::json* v = r.member(key);
  if (v == nullptr) r.fail(key, "is required, e.g. \"10.1.1.0/24\"");
  return prefix_value(r, key, *v);
}

std::uint32_t required_address(ObjectReader& r, const std::string& key) {
  const nlohmann::json* v = r.member(key);
  if (v == nullptr) r.fail(key, "is required, e.g. \"10.1.1.1\"");
  const auto a = v->is_string() ? parse_ipv4(v->get<std::string>()) : std::nullopt;
  if (!a) r.fail(key, "must be a dotted-quad IPv4 address (got " + common::shown(*v) + ")");
  return *a;
}

std::vector<std::string> names(ObjectReader& r, const std::string& key,
                               const std::set<std::string>& known, const std::string& what) {
  std::vector<std::string> out;
  const nlohmann::json* v = r.member(key);
  if (v == nullptr) return out;
  if (!v->is_array()) r.fail(key, "must be an array of " + what + " names");
  if (v->size() > kMaxList) r.fail(key, "has more than " + std::to_string(kMaxList) + " entries");
  for (std::size_t i = 0; i < v->size(); ++i) {
    const auto& item = (*v)[i];
    if (!item.is_string()) r.fail(item_key(key, i), "must be a " + what + " name");
    const auto name = item.get<std::string>();
    if (known.count(name) == 0) {
      std::string reason = "names no configured " + what;
      reason += " (got \"" + name + "\")";
      r.fail(item_key(key, i), reason);
    }
    out.push_back(name);
  }
  return out;
}

std::vector<std::uint16_t> ports(ObjectReader& r, FlowProtocol protocol) {
  std::vector<std::uint16_t> out;
  const nlohmann::json* v = r.member("ports");
  if (protocol == FlowProtocol::icmp) {
    if (v != nullptr) r.fail("ports", "must be absent for protocol icmp (ICMP has no ports)");
    return out;
  }
  if (v == nullptr || !v->is_array() || v->empty()) {
    r.fail("ports", "must be a non-empty array of destination ports 1 to 65535");
  }
  if (v->size() > kMaxList)
    r.fail("ports", "has more than " + std::to_string(kMaxList) + " entries");
  std::set<std::uint16_t> seen;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const auto& p = (*v)[i];
    if (!p.is_number_integer() || p.get<std::int64_t>() < 1 || p.get<std::int64_t>() > kMaxPort) {
      r.fail(item_key("ports", i), "must be a port 1 to 65535 (got " + common::shown(p) + ")");
    }
    const auto port = static_cast<std::uint16_t>(p.get<std::int64_t>());
    if (!seen.insert(port).second) {
      r.fail(item_key("ports", i), "port " + std::to_string(port) + " is listed twice");
    }
    out.push_back(port);
  }
  return out;
}

void read_destinations(ObjectReader& r, PassThroughFlow& flow, const GatewayOptions& g) {
  const auto& v =
      required_array(r, "destinations", true, R"(core prefixes like "10.2.2.5/32", or "gateway")");
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string key = item_key("destinations", i);
    if (v[i].is_string() && v[i].get<std::string>() == kGatewayDestination) {
      if (flow.protocol != FlowProtocol::icmp) {
        r.fail(key,
               "\"gateway\" is for ICMP echo only; the appliance's own TCP services are "
               "gateway.vlan_services");
      }
      flow.to_gateway = true;
      continue;
    }
    const Ipv4Prefix d = prefix_value(r, key, v[i]);
    if (d.overlaps(g.vlan_prefix)) {
      r.fail(key, d.to_string() +
                      " overlaps gateway.vlan_prefix: traffic inside the VLAN does "
                      "not pass the gateway");
    }
    flow.destinations.push_back(d);
  }
}

std::vector<PassThroughFlow> read_pass_through(ObjectReader& r, const GatewayOptions& g,
                                               const std::vector<DeviceName>& devices,
                                               const InterceptionOptions& interception) {
  std::vector<PassThroughFlow> out;
  const nlohmann::json* v = r.member("pass_through");
  if (v == nullptr) return out;
  if (!v->is_array()) r.fail("pass_through", "must be an array of flows");
  if (v->size() > kMaxFlows) {
    r.fail("pass_through", "has more than " + std::to_string(kMaxFlows) + " entries");
  }
  std::set<std::string> device_names;
  std::set<std::string> device_types;
  for (const auto& d : devices) {
    device_names.insert(d.name);
    device_types.insert(d.type);
  }
  std::set<std::uint16_t> intercepted;
  for (const auto& s : interception.services) intercepted.insert(s.port);
  std::set<std::string> flow_names;
  for (std::size_t i = 0; i < v->size(); ++i) {
    ObjectReader f((*v)[i], r.path_of(item_key("pass_through", i)));
    PassThroughFlow flow;
    flow.name = f.string("name", "");
    if (!valid_name(flow.name, kMaxNameLength)) {
      f.fail("name", "must be 1 to 32 letters, digits, '-', '_' or '.'");
    }
    if (!flow_names.insert(flow.name).second) f.fail("name", "\"" + flow.name + "\" is used twice");
    flow.devices = names(f, "devices", device_names, "device");
    flow.device_types = names(f, "device_types", device_types, "device type");
    if (flow.devices.empty() && flow.device_types.empty()) {
      f.fail("devices", "a flow names at least one device (devices) or device type (device_types)");
    }
    if (f.member("protocol") == nullptr) f.fail("protocol", "is required: tcp, udp or icmp");
    flow.protocol = f.choice("protocol", {FlowProtocol::tcp, FlowProtocol::udp, FlowProtocol::icmp},
                             FlowProtocol::tcp);
    flow.ports = ports(f, flow.protocol);
    if (flow.protocol == FlowProtocol::tcp) {
      for (std::size_t p = 0; p < flow.ports.size(); ++p) {
        if (intercepted.count(flow.ports[p]) != 0) {
          f.fail(item_key("ports", p), "TCP port " + std::to_string(flow.ports[p]) +
                                           " is intercepted (interception.services): it is "
                                           "proxied, never passed through");
        }
      }
    }
    read_destinations(f, flow, g);
    f.reject_unknown_keys();
    out.push_back(std::move(flow));
  }
  return out;
}

std::vector<VlanService> read_vlan_services(ObjectReader& r) {
  std::vector<VlanService> out;
  const nlohmann::json* v = r.member("vlan_services");
  if (v == nullptr) return out;
  if (!v->is_array()) r.fail("vlan_services", R"(must be an array of {"name": ..., "port": ...})");
  if (v->size() > kMaxList) {
    r.fail("vlan_services", "has more than " + std::to_string(kMaxList) + " entries");
  }
  std::set<std::uint16_t> seen;
  for (std::size_t i = 0; i < v->size(); ++i) {
    ObjectReader s((*v)[i], r.path_of(item_key("vlan_services", i)));
    VlanService svc;
    svc.name = s.string("name", "");
    if (!valid_name(svc.name, kMaxNameLength)) {
      s.fail("name", "must be 1 to 32 letters, digits, '-', '_' or '.'");
    }
    if (s.member("port") == nullptr) s.fail("port", "is required");
    svc.port = static_cast<std::uint16_t>(s.integer("port", 1, kMaxPort, 0));
    if (!seen.insert(svc.port).second) {
      s.fail("port", "port " + std::to_string(svc.port) + " is listed twice");
    }
    s.reject_unknown_keys();
    out.push_back(svc);
  }
  return out;
}

std::optional<PrefixMap> read_nat(const nlohmann::json& section, const GatewayOptions& g) {
  ObjectReader r(section, "nat");
  const Ipv4Prefix mapped = required_prefix(r, "mapped_prefix");
  r.reject_unknown_keys();
  if (mapped.length != g.vlan_prefix.length) {
    r.fail("mapped_prefix", "must have the length of gateway.vlan_prefix (" +
                                g.vlan_prefix.to_string() + "): 1:1 NAT keeps the host part");
  }
  if (mapped.overlaps(g.vlan_prefix)) {
    r.fail("mapped_prefix", "overlaps gateway.vlan_prefix " + g.vlan_prefix.to_string());
  }
  for (const auto& core : g.core_networks) {
    if (mapped.overlaps(core)) {
      r.fail("mapped_prefix", "overlaps gateway.core_networks entry " + core.to_string());
    }
  }
  return PrefixMap{g.vlan_prefix, mapped};
}

// The devices must live on the VLAN, and their published services must not be ports the VLAN
// side intercepts (one port, one meaning on the listener).
void check_devices(const GatewayOptions& g, const std::vector<DeviceName>& devices,
                   const InterceptionOptions& interception) {
  std::set<std::uint16_t> intercepted;
  for (const auto& s : interception.services) intercepted.insert(s.port);
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const auto& d = devices[i];
    const std::string key = item_key("devices", i);
    if (!g.vlan_prefix.contains(d.address) || d.address == g.gateway_address) {
      throw ConfigError(key + ".address: " + format_ipv4(d.address) + " of device \"" + d.name +
                        "\" must be inside gateway.vlan_prefix " + g.vlan_prefix.to_string() +
                        " and differ from gateway.gateway_address");
    }
    for (std::size_t j = 0; j < d.published_services.size(); ++j) {
      const auto port = d.published_services[j].port;
      if (intercepted.count(port) != 0 || port == interception.listen_port) {
        throw ConfigError(key + "." + item_key("published_services", j) + ".port: port " +
                          std::to_string(port) +
                          " is intercepted on the VLAN side (interception.services or "
                          "interception.listen_port); publish the service on another port");
      }
    }
  }
}

}  // namespace

const char* to_string(UnknownDevices u) {
  switch (u) {
    case UnknownDevices::deny:
      return "deny";
    case UnknownDevices::audit:
      return "audit";
    case UnknownDevices::allow:
      return "allow";
  }
  return "deny";
}

const char* to_string(FlowProtocol p) {
  switch (p) {
    case FlowProtocol::tcp:
      return "tcp";
    case FlowProtocol::udp:
      return "udp";
    case FlowProtocol::icmp:
      return "icmp";
  }
  return "tcp";
}

std::uint8_t ip_protocol_number(FlowProtocol p) {
  switch (p) {
    case FlowProtocol::tcp:
      return 6;
    case FlowProtocol::udp:
      return 17;
    case FlowProtocol::icmp:
      return 1;
  }
  return 6;
}

std::optional<GatewayOptions> read_gateway_section(const nlohmann::json* gateway,
                                                   const nlohmann::json* nat,
                                                   const std::vector<DeviceName>& devices,
                                                   const InterceptionOptions& interception) {
  if (gateway == nullptr) {
    if (nat != nullptr)
      throw ConfigError("nat: requires the gateway section (gateway.vlan_prefix)");
    return std::nullopt;
  }
  ObjectReader r(*gateway, "gateway");
  if (interception.interfaces.empty()) {
    throw ConfigError(
        "interception.interfaces: must name the VLAN interfaces when a gateway section is "
        "present (the gateway's policy applies per interface)");
  }
  GatewayOptions g;
  g.vlan_prefix = required_prefix(r, "vlan_prefix");
  g.gateway_address = required_address(r, "gateway_address");
  if (!g.vlan_prefix.contains(g.gateway_address)) {
    r.fail("gateway_address", format_ipv4(g.gateway_address) + " is outside gateway.vlan_prefix " +
                                  g.vlan_prefix.to_string());
  }
  const auto& core = required_array(r, "core_networks", true, "IPv4 prefixes of the core");
  for (std::size_t i = 0; i < core.size(); ++i) {
    const std::string key = item_key("core_networks", i);
    g.core_networks.push_back(prefix_value(r, key, core[i]));
    if (g.core_networks.back().overlaps(g.vlan_prefix)) {
      r.fail(key, "overlaps gateway.vlan_prefix " + g.vlan_prefix.to_string());
    }
  }
  g.unknown_devices = r.choice("unknown_devices",
                               {UnknownDevices::deny, UnknownDevices::audit, UnknownDevices::allow},
                               g.unknown_devices);
  g.pass_through = read_pass_through(r, g, devices, interception);
  g.vlan_services = read_vlan_services(r);
  g.log_group = static_cast<std::uint16_t>(r.integer("log_group", 0, 65535, g.log_group));
  r.reject_unknown_keys();
  if (nat != nullptr) g.nat = read_nat(*nat, g);
  check_devices(g, devices, interception);
  return g;
}

}  // namespace wardgate::nat
