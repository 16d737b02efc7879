#include "tunnel/uapi_codec.h"

#include <charconv>

#include "tunnel/key.h"

namespace wardgate::tunnel {
namespace {

void line(std::string& out, std::string_view key, std::string_view value) {
  out.append(key).append("=").append(value).append("\n");
}

template <typename T>
bool parse_number(std::string_view text, T& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

bool peer_attribute(std::string_view key) {
  for (const std::string_view k :
       {"preshared_key", "endpoint", "last_handshake_time_sec", "last_handshake_time_nsec",
        "rx_bytes", "tx_bytes", "persistent_keepalive_interval", "allowed_ip", "protocol_version"})
    if (key == k) return true;
  return false;
}

}  // namespace

std::string encode_uapi_set(const DeviceConfig& c) {
  std::string out = "set=1\n";
  if (c.private_key) line(out, "private_key", to_hex(*c.private_key));
  if (c.listen_port) line(out, "listen_port", std::to_string(*c.listen_port));
  if (c.fwmark) line(out, "fwmark", std::to_string(*c.fwmark));
  if (c.replace_peers) line(out, "replace_peers", "true");
  for (const auto& p : c.peers) {
    line(out, "public_key", to_hex(p.public_key));
    if (p.remove) {
      line(out, "remove", "true");
      continue;
    }
    if (p.update_only) line(out, "update_only", "true");
    if (p.preshared_key) line(out, "preshared_key", to_hex(*p.preshared_key));
    if (p.endpoint) line(out, "endpoint", p.endpoint->to_string());
    if (p.persistent_keepalive_s)
      line(out, "persistent_keepalive_interval", std::to_string(*p.persistent_keepalive_s));
    if (p.replace_allowed_ips) line(out, "replace_allowed_ips", "true");
    for (const auto& ip : p.allowed_ips) line(out, "allowed_ip", ip.to_string());
  }
  out += "\n";
  return out;
}

bool uapi_reply_complete(std::string_view buffer) {
  return buffer == "\n" || (buffer.size() >= 2 && buffer.substr(buffer.size() - 2) == "\n\n");
}

UapiReply decode_uapi_get(std::string_view reply, DeviceState& state) {
  UapiReply r;
  if (reply.size() > kUapiMaxReplyBytes) {
    r.error = "reply larger than " + std::to_string(kUapiMaxReplyBytes) + " bytes";
    return r;
  }
  std::size_t allowed_ips = 0;
  // wireguard-go answers a refused request with a negative errno ("errno=-22"), so whether the
  // line was seen is kept apart from its value.
  bool have_errno = false;
  PeerState* peer = nullptr;
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < reply.size()) {
    const auto nl = reply.find('\n', pos);
    if (nl == std::string_view::npos) {
      r.error = "reply ends inside a line";
      return r;
    }
    const std::string_view l = reply.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (l.empty()) {
      r.complete = true;
      if (!have_errno) r.error = "reply without errno";
      return r;
    }
    const auto fail = [&](const std::string& why) {
      r.error = "line " + std::to_string(line_no) + ": " + why;
      return r;
    };
    if (l.size() > kUapiMaxLineBytes) return fail("longer than the cap");
    const auto eq = l.find('=');
    if (eq == std::string_view::npos) return fail("not key=value");
    const std::string_view key = l.substr(0, eq);
    const std::string value(l.substr(eq + 1));
    if (key == "errno") {
      if (!parse_number(value, r.errno_value)) return fail("errno is not a number");
      have_errno = true;
    } else if (key == "private_key") {
      const auto k = key_from_hex(value);
      if (!k) return fail("private_key is not 64 hex digits");
      // Only the public half leaves this function: the private key is never kept in the state.
      state.public_key = is_zero(*k) ? std::nullopt : std::optional<Key>(public_key_of(*k));
    } else if (key == "listen_port") {
      if (!parse_number(value, state.listen_port)) return fail("bad listen_port");
    } else if (key == "fwmark") {
      if (!parse_number(value, state.fwmark)) return fail("bad fwmark");
    } else if (key == "public_key") {
      const auto k = key_from_hex(value);
      if (!k) return fail("public_key is not 64 hex digits");
      if (state.peers.size() >= kUapiMaxPeers) return fail("more peers than the cap");
      peer = &state.peers.emplace_back();
      peer->public_key = *k;
    } else if (peer == nullptr) {
      if (peer_attribute(key))
        return fail("peer attribute \"" + std::string(key) + "\" before any public_key");
      // An unknown device-level key: skipped like unknown peer keys below.
    } else if (key == "preshared_key") {
      const auto k = key_from_hex(value);
      if (!k) return fail("preshared_key is not 64 hex digits");
      peer->has_preshared_key = !is_zero(*k);
    } else if (key == "endpoint") {
      const auto e = Endpoint::parse(value);
      if (!e) return fail("bad endpoint");
      peer->endpoint = *e;
    } else if (key == "last_handshake_time_sec") {
      if (!parse_number(value, peer->last_handshake_s)) return fail("bad handshake time");
    } else if (key == "last_handshake_time_nsec") {
      if (!parse_number(value, peer->last_handshake_ns)) return fail("bad handshake time");
    } else if (key == "rx_bytes") {
      if (!parse_number(value, peer->rx_bytes)) return fail("bad rx_bytes");
    } else if (key == "tx_bytes") {
      if (!parse_number(value, peer->tx_bytes)) return fail("bad tx_bytes");
    } else if (key == "persistent_keepalive_interval") {
      if (!parse_number(value, peer->persistent_keepalive_s)) return fail("bad keepalive");
    } else if (key == "allowed_ip") {
      const auto p = IpPrefix::parse(value);
      if (!p) return fail("bad allowed_ip");
      if (++allowed_ips > kUapiMaxAllowedIps) return fail("more allowed IPs than the cap");
      peer->allowed_ips.push_back(*p);
    } else if (key == "protocol_version") {
      if (!parse_number(value, peer->protocol_version)) return fail("bad protocol_version");
    }
    // Unknown keys are skipped: newer daemons may add some, and get must stay readable.
  }
  r.error = "reply without its terminating empty line";
  return r;
}

UapiReply decode_uapi_errno(std::string_view reply) {
  DeviceState ignored;
  return decode_uapi_get(reply, ignored);
}

}  // namespace wardgate::tunnel
