#include "tunnel/wg_quick.h"

#include <netdb.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "tunnel/key.h"

namespace wardgate::tunnel {
namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split_list(const std::string& value) {
  std::vector<std::string> out;
  std::stringstream in(value);
  std::string item;
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

template <typename T>
T number(const std::string& value, const std::string& where) {
  T out{};
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc{} || end != value.data() + value.size() || value.empty())
    throw std::runtime_error(where + ": \"" + value + "\" is not a number in range");
  return out;
}

Key key(const std::string& value, const std::string& where) {
  const auto k = key_from_base64(value);
  if (!k) throw std::runtime_error(where + ": not a base64 WireGuard key");
  return *k;
}

// "host:port" with a name resolved once (wg-quick does the same at `up`).
std::string resolve_endpoint(const std::string& text) {
  if (Endpoint::parse(text)) return text;
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("endpoint " + text + ": no port");
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0)
    throw std::runtime_error("endpoint " + text + ": " + gai_strerror(rc));
  std::array<char, NI_MAXHOST> buf{};
  const int rc = ::getnameinfo(res->ai_addr, res->ai_addrlen, buf.data(), buf.size(), nullptr, 0,
                               NI_NUMERICHOST);
  const bool v6 = res->ai_family == AF_INET6;
  ::freeaddrinfo(res);
  if (rc != 0) throw std::runtime_error("endpoint " + text + ": " + gai_strerror(rc));
  std::string resolved = v6 ? "[" + std::string(buf.data()) + "]" : std::string(buf.data());
  resolved += text.substr(colon);
  if (!Endpoint::parse(resolved)) throw std::runtime_error("endpoint " + text + ": bad port");
  return resolved;
}

std::string join(const std::vector<IpPrefix>& prefixes) {
  std::string out;
  for (const auto& p : prefixes) out += (out.empty() ? "" : ", ") + p.to_string();
  return out;
}

}  // namespace

WgQuickFile parse_wg_quick(const std::string& text) {
  WgQuickFile f;
  enum { kNone, kInterface, kPeer } section = kNone;
  std::stringstream in(text);
  std::string raw;
  std::string pending_comment;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string where = "line " + std::to_string(line_no);
    std::string line = trim(raw);
    if (line.empty()) continue;
    if (line[0] == '#') {
      pending_comment = trim(line.substr(1));
      continue;
    }
    if (const auto hash = line.find('#'); hash != std::string::npos)
      line = trim(line.substr(0, hash));
    if (line.front() == '[') {
      const std::string name = lower(line);
      if (name == "[interface]") {
        section = kInterface;
      } else if (name == "[peer]") {
        section = kPeer;
        f.peers.emplace_back().comment = pending_comment;
      } else {
        throw std::runtime_error(fmt::format("{}: unknown section {}", where, line));
      }
      pending_comment.clear();
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw std::runtime_error(where + ": expected Key = Value");
    const std::string k = lower(trim(line.substr(0, eq)));
    const std::string v = trim(line.substr(eq + 1));
    if (section == kNone)
      throw std::runtime_error(fmt::format("{}: {} outside a section", where, k));
    if (section == kInterface) {
      if (k == "privatekey") {
        f.private_key = key(v, where);
      } else if (k == "listenport") {
        f.listen_port = number<std::uint16_t>(v, where);
      } else if (k == "fwmark") {
        f.fwmark = v == "off" ? 0 : number<std::uint32_t>(v, where);
      } else if (k == "mtu") {
        f.mtu = number<std::uint32_t>(v, where);
      } else if (k == "address") {
        for (const auto& a : split_list(v)) {
          const auto p = IpPrefix::parse(a);
          if (!p) throw std::runtime_error(fmt::format("{}: bad address {}", where, a));
          f.addresses.push_back(*p);
        }
      } else {
        f.ignored.push_back("[Interface] " + trim(line.substr(0, eq)));
      }
    } else {
      auto& p = f.peers.back();
      if (k == "publickey") {
        p.public_key = key(v, where);
      } else if (k == "presharedkey") {
        p.preshared_key = key(v, where);
      } else if (k == "endpoint") {
        p.endpoint = v;
      } else if (k == "persistentkeepalive") {
        p.persistent_keepalive_s = v == "off" ? 0 : number<std::uint16_t>(v, where);
      } else if (k == "allowedips") {
        for (const auto& a : split_list(v)) {
          const auto prefix = IpPrefix::parse(a);
          if (!prefix) throw std::runtime_error(fmt::format("{}: bad allowed IP {}", where, a));
          p.allowed_ips.push_back(*prefix);
        }
      } else {
        f.ignored.push_back("[Peer] " + trim(line.substr(0, eq)));
      }
    }
  }
  for (std::size_t i = 0; i < f.peers.size(); ++i)
    if (is_zero(f.peers[i].public_key))
      throw std::runtime_error("[Peer] " + std::to_string(i + 1) + " has no PublicKey");
  return f;
}

std::string write_wg_quick(const WgQuickFile& f) {
  std::string out = "[Interface]\n";
  if (!f.addresses.empty()) out += "Address = " + join(f.addresses) + "\n";
  if (f.listen_port) out += "ListenPort = " + std::to_string(*f.listen_port) + "\n";
  if (f.fwmark && *f.fwmark != 0) out += "FwMark = " + std::to_string(*f.fwmark) + "\n";
  if (f.mtu) out += "MTU = " + std::to_string(*f.mtu) + "\n";
  if (f.private_key) out += "PrivateKey = " + to_base64(*f.private_key) + "\n";
  for (const auto& p : f.peers) {
    out += "\n";
    if (!p.comment.empty()) out += "# " + p.comment + "\n";
    out += "[Peer]\nPublicKey = " + to_base64(p.public_key) + "\n";
    if (p.preshared_key) out += "PresharedKey = " + to_base64(*p.preshared_key) + "\n";
    if (!p.endpoint.empty()) out += "Endpoint = " + p.endpoint + "\n";
    if (p.persistent_keepalive_s && *p.persistent_keepalive_s != 0)
      out += "PersistentKeepalive = " + std::to_string(*p.persistent_keepalive_s) + "\n";
    if (!p.allowed_ips.empty()) out += "AllowedIPs = " + join(p.allowed_ips) + "\n";
  }
  return out;
}

std::string appliance_peer_block(const TunnelConfig& c, const Key& public_key,
                                 const std::optional<Key>& preshared_key,
                                 const std::string& appliance_id) {
  std::vector<IpPrefix> allowed;
  for (const auto& a : c.addresses) {
    // The appliance's own address as a host route on the concentrator.
    IpPrefix host = a;
    host.cidr = static_cast<std::uint8_t>(a.address.length() * 8);
    allowed.push_back(host);
  }
  for (const auto& n : c.advertised_networks) allowed.push_back(n);
  std::string out = "# wardgate appliance " + appliance_id +
                    "\n[Peer]\nPublicKey = " + to_base64(public_key) + "\n";
  if (preshared_key) out += "PresharedKey = " + to_base64(*preshared_key) + "\n";
  out += "AllowedIPs = " + join(allowed) + "\n";
  return out;
}

WgQuickFile appliance_wg_quick(const TunnelConfig& c, const std::optional<Key>& private_key) {
  WgQuickFile f;
  f.private_key = private_key;
  f.listen_port = c.listen_port;
  f.fwmark = c.fwmark;
  f.mtu = c.mtu;
  f.addresses = c.addresses;
  for (const auto& p : c.peers) {
    WgQuickPeer q;
    q.comment = p.name;
    q.public_key = p.public_key;
    if (p.endpoint) q.endpoint = p.endpoint->to_string();
    q.persistent_keepalive_s = p.persistent_keepalive_s;
    q.allowed_ips = p.allowed_ips;
    f.peers.push_back(std::move(q));
  }
  return f;
}

std::string tunnel_section_json(const WgQuickFile& f, const std::string& interface,
                                const std::string& private_key_file,
                                const std::vector<std::string>& preshared_key_files) {
  nlohmann::ordered_json t;
  t["interface"] = interface;
  t["private_key_file"] = private_key_file;
  if (f.listen_port) t["listen_port"] = *f.listen_port;
  if (f.fwmark && *f.fwmark != 0) t["fwmark"] = *f.fwmark;
  if (f.mtu) t["mtu"] = *f.mtu;
  t["addresses"] = nlohmann::json::array();
  for (const auto& a : f.addresses) t["addresses"].push_back(a.to_string());
  t["peers"] = nlohmann::json::array();
  for (std::size_t i = 0; i < f.peers.size(); ++i) {
    const auto& p = f.peers[i];
    nlohmann::ordered_json j;
    j["name"] = p.comment.empty() ? "peer" + std::to_string(i + 1) : p.comment;
    j["public_key"] = to_base64(p.public_key);
    if (p.preshared_key && i < preshared_key_files.size())
      j["preshared_key_file"] = preshared_key_files[i];
    if (!p.endpoint.empty()) j["endpoint"] = resolve_endpoint(p.endpoint);
    if (p.persistent_keepalive_s) j["persistent_keepalive_s"] = *p.persistent_keepalive_s;
    j["allowed_ips"] = nlohmann::json::array();
    for (const auto& a : p.allowed_ips) j["allowed_ips"].push_back(a.to_string());
    t["peers"].push_back(std::move(j));
  }
  return nlohmann::ordered_json{{"tunnel", t}}.dump(2);
}

}  // namespace wardgate::tunnel
