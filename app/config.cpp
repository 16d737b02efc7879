#include "app/config.h"

#include <fstream>
#include <set>
#include <sstream>

namespace wardgate::app {
namespace {

constexpr std::int64_t kMaxPort = 65535;
constexpr std::size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1

bool valid_name(const std::string& s, std::size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

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

std::vector<ServiceConfig> read_services(ObjectReader& r) {
  const nlohmann::json* v = r.member("services");
  if (v == nullptr) r.fail("services", "is required: the TCP ports to intercept");
  if (!v->is_array() || v->empty()) {
    r.fail("services", "must be a non-empty array of {\"name\": ..., \"port\": ...}");
  }
  std::vector<ServiceConfig> out;
  std::set<std::uint16_t> ports;
  for (std::size_t i = 0; i < v->size(); ++i) {
    ObjectReader s((*v)[i], r.path_of("services[" + std::to_string(i) + "]"));
    ServiceConfig svc;
    svc.name = s.string("name", "");
    if (!valid_name(svc.name, 32)) {
      s.fail("name", "must be 1 to 32 letters, digits, '-', '_' or '.'");
    }
    const nlohmann::json* port = s.member("port");
    if (port == nullptr) s.fail("port", "is required");
    svc.port = static_cast<std::uint16_t>(s.integer("port", 1, kMaxPort, 0));
    s.reject_unknown_keys();
    if (!ports.insert(svc.port).second)
      s.fail("port", "port " + std::to_string(svc.port) + " is listed twice");
    out.push_back(svc);
  }
  return out;
}

InterceptionConfig read_interception(const nlohmann::json& j) {
  ObjectReader r(j, "interception");
  InterceptionConfig c;
  c.interfaces = read_interfaces(r);
  c.services = read_services(r);
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

ProxyConfig read_proxy(const nlohmann::json* j) {
  ProxyConfig c;
  if (j == nullptr) return c;
  ObjectReader r(*j, "proxy");
  c.threads = static_cast<unsigned>(r.integer("threads", 0, 256, c.threads));
  c.connect_timeout = std::chrono::milliseconds(
      r.integer("connect_timeout_ms", 100, 600000, c.connect_timeout.count()));
  c.idle_timeout =
      std::chrono::seconds(r.integer("idle_timeout_s", 1, 7 * 86400, c.idle_timeout.count()));
  c.drain_timeout =
      std::chrono::seconds(r.integer("drain_timeout_s", 0, 3600, c.drain_timeout.count()));
  c.max_connections =
      static_cast<std::uint32_t>(r.integer("max_connections", 1, 1000000, c.max_connections));
  c.max_connections_per_device = static_cast<std::uint32_t>(
      r.integer("max_connections_per_device", 1, 1000000, c.max_connections_per_device));
  c.chunk_bytes =
      static_cast<std::uint32_t>(r.integer("chunk_bytes", 4096, 16 << 20, c.chunk_bytes));
  c.socket_buffer_bytes = static_cast<std::uint32_t>(
      r.integer("socket_buffer_bytes", 0, 256 << 20, c.socket_buffer_bytes));
  c.congestion_control = r.string("congestion_control", "");
  c.zero_copy = r.boolean("zero_copy", c.zero_copy);
  if (!c.congestion_control.empty() && !valid_name(c.congestion_control, 15)) {
    r.fail("congestion_control", "must be a congestion control name such as \"bbr\" or \"cubic\"");
  }
  r.reject_unknown_keys();
  if (c.max_connections_per_device > c.max_connections) {
    r.fail("max_connections_per_device", "must not exceed proxy.max_connections");
  }
  return c;
}

}  // namespace

Config parse_config(const std::string& json_text, const std::string& source_name) {
  const nlohmann::json doc = parse_json(json_text, source_name);
  ObjectReader root(doc, "");
  Config c;
  c.log_level = root.choice(
      "log_level", {"trace", "debug", "info", "warn", "error", "critical", "off"}, c.log_level);
  const nlohmann::json* interception = root.member("interception");
  if (interception == nullptr) root.fail("interception", "is required");
  c.interception = read_interception(*interception);
  c.proxy = read_proxy(root.member("proxy"));
  root.reject_unknown_keys();
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

}  // namespace wardgate::app
