#include "nat/interception_section.h"

#include <set>

#include "common/json_reader.h"

namespace wardgate::nat {
namespace {

using common::ObjectReader;
using common::valid_name;

constexpr std::int64_t kMaxPort = 65535;
constexpr std::size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1

std::vector<std::string> read_interfaces(ObjectReader& r) {
  std::vector<std::string> out;
  const nlohmann::json* v = r.member("interfaces");
  if (v == nullptr) return out;
  if (!v->is_array()) r.fail("interfaces", "must be an array of interface names");
  for (std::size_t i = 0; i < v->size(); ++i) {
    const auto& item = (*v)[i];
    const std::string key = "interfaces[" + std::to_string(i) + "]";
    if (!item.is_string() || !valid_name(item.get<std::string>(), kMaxInterfaceName)) {
      r.fail(key, "must be an interface name of 1 to 15 letters, digits, '-', '_' or '.'");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<InterceptedService> read_services(ObjectReader& r,
                                              const std::vector<std::string>& protocols) {
  const nlohmann::json* v = r.member("services");
  if (v == nullptr) r.fail("services", "is required: the TCP ports to intercept");
  if (!v->is_array() || v->empty()) {
    r.fail("services", R"(must be a non-empty array of {"name": ..., "port": ...})");
  }
  std::vector<InterceptedService> out;
  std::set<std::uint16_t> ports;
  for (std::size_t i = 0; i < v->size(); ++i) {
    ObjectReader s((*v)[i], r.path_of("services[" + std::to_string(i) + "]"));
    InterceptedService svc;
    svc.name = s.string("name", "");
    if (!valid_name(svc.name, 32)) {
      s.fail("name", "must be 1 to 32 letters, digits, '-', '_' or '.'");
    }
    const nlohmann::json* port = s.member("port");
    if (port == nullptr) s.fail("port", "is required");
    svc.port = static_cast<std::uint16_t>(s.integer("port", 1, kMaxPort, 0));
    svc.protocol = s.choice("protocol", protocols, svc.protocol);
    s.reject_unknown_keys();
    if (!ports.insert(svc.port).second) {
      s.fail("port", "port " + std::to_string(svc.port) + " is listed twice");
    }
    out.push_back(svc);
  }
  return out;
}

}  // namespace

TproxyRules InterceptionOptions::tproxy_rules() const {
  TproxyRules rules{nft_table, interfaces, {}, listen_port, fwmark};
  for (const auto& s : services) rules.ports.push_back(s.port);
  return rules;
}

PolicyRoute InterceptionOptions::policy_route() const {
  return PolicyRoute{fwmark, route_table, rule_priority};
}

InterceptionOptions read_interception_section(const nlohmann::json& section,
                                              const std::vector<std::string>& protocols) {
  ObjectReader r(section, "interception");
  InterceptionOptions c;
  c.interfaces = read_interfaces(r);
  c.services = read_services(r, protocols);
  c.listen_port = static_cast<std::uint16_t>(r.integer("listen_port", 1, kMaxPort, c.listen_port));
  for (const auto& s : c.services) {
    if (s.port == c.listen_port) {
      r.fail("listen_port", "must differ from every intercepted service port (" +
                                std::to_string(c.listen_port) + " is service \"" + s.name + "\")");
    }
  }
  c.fwmark = static_cast<std::uint32_t>(r.integer("fwmark", 1, 0xffffffffLL, c.fwmark));
  // Tables 253-255 are the kernel's default, main and local tables.
  c.route_table = static_cast<std::uint32_t>(r.integer("route_table", 1, 252, c.route_table));
  c.rule_priority =
      static_cast<std::uint32_t>(r.integer("rule_priority", 1, 32765, c.rule_priority));
  c.nft_table = r.string("nft_table", c.nft_table);
  if (!valid_name(c.nft_table, 64)) {
    r.fail("nft_table", "must be 1 to 64 letters, digits, '-', '_' or '.'");
  }
  r.reject_unknown_keys();
  return c;
}

}  // namespace wardgate::nat
