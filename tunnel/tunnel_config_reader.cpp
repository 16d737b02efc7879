#include "tunnel/tunnel_config_reader.h"

#include <set>

#include "common/json_reader.h"
#include "tunnel/key.h"

namespace wardgate::tunnel {
namespace {

using common::absolute_path;
using common::ObjectReader;
using common::shown;

constexpr std::size_t kMaxPeers = 64;
constexpr std::size_t kMaxPrefixes = 1024;

// Interface names: 1 to 15 characters (IFNAMSIZ - 1) of letters, digits, '-', '_', '.', not "."
// or "..". Narrower than Linux allows: the name goes into nft scripts, socket paths and logs.
bool interface_name(const std::string& s) {
  if (s.empty() || s.size() > 15 || s == "." || s == "..") return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::vector<IpPrefix> read_prefixes(ObjectReader& r, const std::string& key) {
  std::vector<IpPrefix> out;
  const nlohmann::json* v = r.member(key);
  if (v == nullptr) return out;
  if (!v->is_array() || v->size() > kMaxPrefixes)
    r.fail(key, "must be an array of at most " + std::to_string(kMaxPrefixes) +
                    " address prefixes (\"10.2.2.0/24\")");
  for (std::size_t i = 0; i < v->size(); ++i) {
    const auto& item = (*v)[i];
    const std::string item_key = key + "[" + std::to_string(i) + "]";
    std::optional<IpPrefix> p;
    if (item.is_string()) p = IpPrefix::parse(item.get<std::string>());
    if (!p)
      r.fail(item_key, "must be an address prefix like \"10.2.2.0/24\" (got " + shown(item) + ")");
    out.push_back(*p);
  }
  return out;
}

std::string key_file(ObjectReader& r, const std::string& key, const std::string& fallback) {
  std::string path = r.string(key, fallback);
  if (!path.empty()) r.require_absolute_path(key, path);
  return path;
}

}  // namespace

TunnelPeerConfig read_tunnel_peer(const nlohmann::json& object, const std::string& path) {
  ObjectReader r(object, path);
  TunnelPeerConfig p;
  p.name = r.string("name", "");
  if (p.name.empty() || p.name.size() > 64) r.fail("name", "is required (1 to 64 characters)");
  const std::string key = r.string("public_key", "");
  const auto parsed = key_from_base64(key);
  if (!parsed)
    r.fail("public_key",
           "must be the peer's base64 public key (44 characters, as wg pubkey "
           "prints it)");
  p.public_key = *parsed;
  p.preshared_key_file = key_file(r, "preshared_key_file", "");
  if (r.member("endpoint") != nullptr) {
    const std::string e = r.string("endpoint", "");
    p.endpoint = Endpoint::parse(e);
    if (!p.endpoint)
      r.fail("endpoint",
             "must be a numeric \"address:port\" (\"192.0.2.1:51820\", "
             "\"[2001:db8::1]:51820\"; got " +
                 shown(nlohmann::json(e)) + ")");
  }
  p.persistent_keepalive_s = static_cast<std::uint16_t>(
      r.integer("persistent_keepalive_s", 0, 65535, p.persistent_keepalive_s));
  p.allowed_ips = read_prefixes(r, "allowed_ips");
  r.reject_unknown_keys();
  return p;
}

std::optional<TunnelConfig> read_tunnel_section(const nlohmann::json* section) {
  if (section == nullptr) return std::nullopt;
  ObjectReader r(*section, "tunnel");
  TunnelConfig c;
  c.interface = r.string("interface", c.interface);
  if (!interface_name(c.interface))
    r.fail("interface", "must be an interface name of 1 to 15 letters, digits, '-', '_' or '.'");
  c.backend = r.choice(
      "backend", {BackendChoice::kAuto, BackendChoice::kKernel, BackendChoice::kUapi}, c.backend);
  c.private_key_file = key_file(r, "private_key_file", c.private_key_file);
  c.listen_port = static_cast<std::uint16_t>(r.integer("listen_port", 0, 65535, c.listen_port));
  c.fwmark = static_cast<std::uint32_t>(r.integer("fwmark", 0, 0xffffffffLL, c.fwmark));
  c.addresses = read_prefixes(r, "addresses");
  c.advertised_networks = read_prefixes(r, "advertised_networks");
  if (r.member("routes") != nullptr) c.routes = read_prefixes(r, "routes");
  if (const nlohmann::json* mtu = r.member("mtu"); mtu != nullptr && mtu->is_string()) {
    if (mtu->get<std::string>() != "auto")
      r.fail("mtu", "must be a number from 1280 to 65456 or \"auto\" (got " + shown(*mtu) + ")");
    c.mtu_auto = true;
  } else {
    c.mtu = static_cast<std::uint32_t>(r.integer("mtu", 1280, 65456, c.mtu));
  }
  c.mss_clamp = r.boolean("mss_clamp", c.mss_clamp);
  if (const nlohmann::json* peers = r.member("peers")) {
    if (!peers->is_array() || peers->size() > kMaxPeers)
      r.fail("peers", "must be an array of at most " + std::to_string(kMaxPeers) + " peers");
    std::set<std::string> names;
    std::set<Key> keys;
    for (std::size_t i = 0; i < peers->size(); ++i) {
      const std::string key = "peers[" + std::to_string(i) + "]";
      auto p = read_tunnel_peer((*peers)[i], r.path_of(key));
      if (!names.insert(p.name).second) r.fail(key + ".name", p.name + " is listed twice");
      if (!keys.insert(p.public_key).second)
        r.fail(key + ".public_key", "the same key is already peer " + p.name);
      c.peers.push_back(std::move(p));
    }
  }
  if (const nlohmann::json* u = r.member("uapi")) {
    ObjectReader ur(*u, "tunnel.uapi");
    c.uapi.wireguard_go = ur.string("wireguard_go", c.uapi.wireguard_go);
    if (!absolute_path(c.uapi.wireguard_go)) ur.fail("wireguard_go", "must be an absolute path");
    c.uapi.start = ur.boolean("start", c.uapi.start);
    c.uapi.socket_dir = ur.string("socket_dir", c.uapi.socket_dir);
    if (!absolute_path(c.uapi.socket_dir)) ur.fail("socket_dir", "must be an absolute path");
    c.uapi.restart_backoff_max = std::chrono::seconds(
        ur.integer("restart_backoff_max_s", 1, 3600, c.uapi.restart_backoff_max.count()));
    ur.reject_unknown_keys();
  }
  if (const nlohmann::json* t = r.member("tuning")) {
    ObjectReader tr(*t, "tunnel.tuning");
    c.tuning.enabled = tr.boolean("enabled", c.tuning.enabled);
    c.tuning.udp_buffer_bytes = static_cast<std::uint32_t>(
        tr.integer("udp_buffer_bytes", 65536, 1 << 30, c.tuning.udp_buffer_bytes));
    c.tuning.txqueuelen =
        static_cast<std::uint32_t>(tr.integer("txqueuelen", 0, 1 << 20, c.tuning.txqueuelen));
    c.tuning.offloads = tr.boolean("offloads", c.tuning.offloads);
    tr.reject_unknown_keys();
  }
  if (const nlohmann::json* m = r.member("monitor")) {
    ObjectReader mr(*m, "tunnel.monitor");
    c.monitor.interval =
        std::chrono::seconds(mr.integer("interval_s", 1, 3600, c.monitor.interval.count()));
    c.monitor.stale_after =
        std::chrono::seconds(mr.integer("stale_after_s", 1, 86400, c.monitor.stale_after.count()));
    c.monitor.silence_after = std::chrono::seconds(
        mr.integer("silence_after_s", 2, 86400, c.monitor.silence_after.count()));
    mr.reject_unknown_keys();
  }
  r.reject_unknown_keys();
  return c;
}

}  // namespace wardgate::tunnel
