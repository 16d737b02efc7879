#include "app/config.h"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <fstream>
#include <iostream>
#include <sstream>

#include "export/export_section.h"
#include "policy/device_section.h"
#include "store/store_section.h"
#include "tunnel/tunnel_config_reader.h"

namespace wardgate::app {
namespace {

using common::ObjectReader;

std::string host_name() {
  std::array<char, HOST_NAME_MAX + 1> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "wardgate";
  return buf.data();
}

std::string read_appliance_id(const nlohmann::json* j) {
  if (j == nullptr) return host_name();
  ObjectReader r(*j, "appliance");
  if (r.member("id") == nullptr) {
    r.reject_unknown_keys();
    return host_name();
  }
  std::string id = r.string("id", "");
  if (!common::valid_name(id, 64)) {
    r.fail("id", "must be 1 to 64 letters, digits, '-', '_' or '.'");
  }
  r.reject_unknown_keys();
  return id;
}

AuditConfig read_audit(const nlohmann::json* j) {
  AuditConfig c;
  if (j == nullptr) return c;
  ObjectReader r(*j, "audit");
  c.options = audit::read_audit_options(r);
  c.budget = audit::read_event_budget_section(r.member("event_budget"));
  c.store = store::read_store_section(r.member("store"));
  c.exports = exporter::read_export_section(r.member("export"));
  r.reject_unknown_keys();
  return c;
}

// With a gateway, the concentrator routes the prefix the core sees the VLAN under: advertised
// networks inside the VLAN prefix follow nat.mapped_prefix (host part kept), and with none
// given the presented prefix is advertised.
void advertise_presented_prefix(tunnel::TunnelConfig& t, const nat::GatewayOptions& g) {
  const auto as_tunnel_prefix = [](const nat::Ipv4Prefix& p) {
    return *tunnel::IpPrefix::parse(p.to_string());
  };
  if (t.advertised_networks.empty()) {
    t.advertised_networks.push_back(as_tunnel_prefix(g.nat ? g.nat->to : g.vlan_prefix));
    return;
  }
  if (!g.nat) return;
  for (auto& n : t.advertised_networks) {
    if (n.address.family != AF_INET) continue;
    const auto p = nat::Ipv4Prefix::parse(n.to_string());
    if (!p || p->length < g.vlan_prefix.length || !g.vlan_prefix.contains(p->address)) continue;
    n = as_tunnel_prefix(nat::Ipv4Prefix{g.nat->map(p->address), p->length});
  }
}

// What a section needs from another one: the proxy listens where interception diverts to, and
// the appliance id names the appliance in every event the store and the exporters write.
void compose(Config& c) {
  proxy::ProxyOptions& p = c.proxy.options;
  p.listen_port = c.interception.listen_port;
  for (const auto& s : c.interception.services) p.services[s.port] = {s.name, s.protocol};
  // The proxy picks the inspector by port, so a port means one protocol, whoever listens on it.
  for (std::size_t i = 0; i < c.devices.size(); ++i) {
    const auto& services = c.devices[i].published_services;
    for (std::size_t j = 0; j < services.size(); ++j) {
      const auto& s = services[j];
      const auto [it, fresh] =
          p.services.emplace(s.port, proxy::ProxyOptions::Service{s.name, s.protocol});
      if (!fresh && it->second.protocol != s.protocol) {
        throw ConfigError("devices[" + std::to_string(i) + "].published_services[" +
                          std::to_string(j) + "].protocol: port " + std::to_string(s.port) +
                          " is " + it->second.protocol + " already (service " + it->second.name +
                          ")");
      }
    }
  }
  c.audit.store.appliance_id = c.appliance_id;
  for (auto& e : c.audit.exports) {
    e.appliance_id = c.appliance_id;
    e.syslog.sw_version = WARDGATE_VERSION;
  }
  if (c.tunnel && c.gateway) advertise_presented_prefix(*c.tunnel, *c.gateway);
}

}  // namespace

std::vector<nat::DeviceName> gateway_devices(const std::vector<policy::Device>& devices) {
  std::vector<nat::DeviceName> out;
  out.reserve(devices.size());
  for (const auto& d : devices) {
    std::vector<nat::PublishedPort> published;
    published.reserve(d.published_services.size());
    for (const auto& s : d.published_services) published.push_back({s.port});
    out.push_back({d.name, policy::to_string(d.type), d.address, std::move(published)});
  }
  return out;
}

Config parse_config(const std::string& json_text, const std::string& source_name) {
  const nlohmann::json doc = common::parse_json(json_text, source_name);
  ObjectReader root(doc, "");
  Config c;
  c.log_level = root.choice(
      "log_level", {"trace", "debug", "info", "warn", "error", "critical", "off"}, c.log_level);
  const nlohmann::json* interception = root.member("interception");
  if (interception == nullptr) root.fail("interception", "is required");
  // The inspectors a service may name (inspect::ProtocolInspectors, app/inspection_setup.cpp);
  // "hl7" and "dicom" decode, "tcp" only counts bytes.
  const std::vector<std::string> protocols{"dicom", "hl7", "tcp"};
  c.interception = nat::read_interception_section(*interception, protocols);
  c.proxy = proxy::read_proxy_section(root.member("proxy"));
  c.appliance_id = read_appliance_id(root.member("appliance"));
  c.audit = read_audit(root.member("audit"));
  c.devices = policy::read_device_section(root.member("devices"));
  c.dicom = inspect::read_dicom_section(root.member("dicom"));
  c.hl7 = inspect::read_hl7_section(root.member("hl7"));
  c.tunnel = tunnel::read_tunnel_section(root.member("tunnel"));
  c.gateway = nat::read_gateway_section(root.member("gateway"), root.member("nat"),
                                        gateway_devices(c.devices), c.interception);
  root.reject_unknown_keys();
  compose(c);
  return c;
}

Config load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return parse_config(text.str(), path);
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    // Key paths get the file name in front; JSON syntax errors already carry it.
    if (what.rfind(path, 0) == 0) throw;
    throw ConfigError(path + ": " + what);
  }
}

std::optional<Config> load_config_or_explain(const std::string& path) {
  try {
    return load_config_file(path);
  } catch (const ConfigError& e) {
    std::cerr << "wardgate: invalid configuration: " << e.what() << "\n";
    return std::nullopt;
  }
}

}  // namespace wardgate::app
