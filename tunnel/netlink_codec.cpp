#include "tunnel/netlink_codec.h"

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <stdexcept>
#include <system_error>
#include <tuple>

namespace wardgate::tunnel::wgnl {
namespace {

constexpr std::size_t kAttrHeader = 4;  // struct nlattr: u16 nla_len, u16 nla_type
constexpr std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

template <typename T>
void put_raw(Bytes& out, std::size_t at, T value) {
  std::memcpy(out.data() + at, &value, sizeof value);
}

template <typename T>
T get_raw(std::span<const std::uint8_t> in, std::size_t at = 0) {
  T value{};
  std::memcpy(&value, in.data() + at, sizeof value);
  return value;
}

// Builds one message (nlmsghdr + genlmsghdr + attributes) the way libmnl does: attributes padded
// to 4 bytes, nests flagged NLA_F_NESTED, and every *_check put refusing to grow past the limit.
class MessageWriter {
 public:
  MessageWriter(RequestHeader header, std::uint8_t cmd, std::uint16_t flags, std::size_t limit)
      : limit_(limit) {
    // Never reallocated while filled: no stray copy of a private key is left in freed memory.
    bytes_.reserve(limit);
    bytes_.resize(NLMSG_HDRLEN + GENL_HDRLEN);
    put_raw<std::uint16_t>(bytes_, 4, header.family_id);
    put_raw<std::uint16_t>(bytes_, 6, flags);
    put_raw<std::uint32_t>(bytes_, 8, header.seq);
    bytes_[NLMSG_HDRLEN] = cmd;
    bytes_[NLMSG_HDRLEN + 1] = WG_GENL_VERSION;
  }

  bool fits(std::size_t payload) const {
    return bytes_.size() + kAttrHeader + align4(payload) <= limit_;
  }
  bool put(std::uint16_t type, const void* data, std::size_t length) {
    if (!fits(length)) return false;
    const std::size_t at = bytes_.size();
    bytes_.resize(at + kAttrHeader + align4(length), 0);
    put_raw<std::uint16_t>(bytes_, at, static_cast<std::uint16_t>(kAttrHeader + length));
    put_raw<std::uint16_t>(bytes_, at + 2, type);
    if (length) std::memcpy(bytes_.data() + at + kAttrHeader, data, length);
    return true;
  }
  template <typename T>
  bool put_value(std::uint16_t type, T value) {
    return put(type, &value, sizeof value);
  }
  // Returns the nest's offset, or 0 when not even its header fits.
  std::size_t nest_start(std::uint16_t type) {
    if (!fits(0)) return 0;
    const std::size_t at = bytes_.size();
    bytes_.resize(at + kAttrHeader, 0);
    put_raw<std::uint16_t>(bytes_, at + 2, static_cast<std::uint16_t>(type | NLA_F_NESTED));
    return at;
  }
  void nest_end(std::size_t at) {
    put_raw<std::uint16_t>(bytes_, at, static_cast<std::uint16_t>(bytes_.size() - at));
  }
  void nest_cancel(std::size_t at) { bytes_.resize(at); }

  Bytes finish() {
    put_raw<std::uint32_t>(bytes_, 0, static_cast<std::uint32_t>(bytes_.size()));
    return std::move(bytes_);
  }

 private:
  Bytes bytes_;
  std::size_t limit_;
};

void check_ifname(const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ || ifname.find('\0') != std::string::npos)
    throw std::invalid_argument("interface name \"" + ifname + "\" is not 1 to " +
                                std::to_string(IFNAMSIZ - 1) + " characters");
}

bool put_endpoint(MessageWriter& w, const Endpoint& endpoint) {
  if (endpoint.address.family == AF_INET) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(endpoint.port);
    std::memcpy(&sin.sin_addr, endpoint.address.bytes.data(), 4);
    return w.put(WGPEER_A_ENDPOINT, &sin, sizeof sin);
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(endpoint.port);
  std::memcpy(&sin6.sin6_addr, endpoint.address.bytes.data(), 16);
  return w.put(WGPEER_A_ENDPOINT, &sin6, sizeof sin6);
}

// Appends the peer's attributes that go only with its first appearance; false when they do not
// fit in this message.
bool put_peer_head(MessageWriter& w, const PeerConfig& peer) {
  if (peer.preshared_key && !w.put(WGPEER_A_PRESHARED_KEY, peer.preshared_key->data(), kKeyLength))
    return false;
  if (peer.endpoint && !put_endpoint(w, *peer.endpoint)) return false;
  if (peer.persistent_keepalive_s &&
      !w.put_value<std::uint16_t>(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
                                  *peer.persistent_keepalive_s))
    return false;
  return true;
}

bool put_allowed_ip(MessageWriter& w, std::uint16_t index, const IpPrefix& prefix) {
  const std::size_t nest = w.nest_start(index);
  if (!nest) return false;
  const auto family = static_cast<std::uint16_t>(prefix.address.family);
  if (!w.put_value<std::uint16_t>(WGALLOWEDIP_A_FAMILY, family) ||
      !w.put(WGALLOWEDIP_A_IPADDR, prefix.address.bytes.data(), prefix.address.length()) ||
      !w.put_value<std::uint8_t>(WGALLOWEDIP_A_CIDR_MASK, prefix.cidr)) {
    w.nest_cancel(nest);
    return false;
  }
  w.nest_end(nest);
  return true;
}

}  // namespace

std::vector<Bytes> encode_set_device(const std::string& ifname, const DeviceConfig& config,
                                     RequestHeader header, std::size_t max_message) {
  check_ifname(ifname);
  std::vector<Bytes> messages;
  std::size_t peer_index = 0;
  std::size_t ip_index = 0;  // first allowed IP of peers[peer_index] not yet sent
  bool head_sent = false;    // peers[peer_index] went out in an earlier message already
  const auto& peers = config.peers;
  do {
    MessageWriter w({header.family_id, header.seq + static_cast<std::uint32_t>(messages.size())},
                    WG_CMD_SET_DEVICE, NLM_F_REQUEST | NLM_F_ACK, max_message);
    bool fits = w.put(WGDEVICE_A_IFNAME, ifname.c_str(), ifname.size() + 1);
    if (messages.empty()) {
      if (config.private_key)
        fits = fits && w.put(WGDEVICE_A_PRIVATE_KEY, config.private_key->data(), kKeyLength);
      if (config.listen_port)
        fits = fits && w.put_value<std::uint16_t>(WGDEVICE_A_LISTEN_PORT, *config.listen_port);
      if (config.fwmark)
        fits = fits && w.put_value<std::uint32_t>(WGDEVICE_A_FWMARK, *config.fwmark);
      if (config.replace_peers)
        fits = fits && w.put_value<std::uint32_t>(WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS);
    }
    if (!fits)
      throw std::invalid_argument("netlink message size " + std::to_string(max_message) +
                                  " cannot hold the device's attributes");
    const auto progress = std::tuple(peer_index, head_sent, ip_index);
    if (peer_index < peers.size()) {
      const std::size_t peers_nest = w.nest_start(WGDEVICE_A_PEERS);
      for (std::uint16_t slot = 0; peers_nest && peer_index < peers.size(); ++slot) {
        const PeerConfig& peer = peers[peer_index];
        const bool first_part = !head_sent;
        std::uint32_t flags = 0;
        if (peer.remove) flags |= WGPEER_F_REMOVE_ME;
        if (peer.update_only) flags |= WGPEER_F_UPDATE_ONLY;
        if (first_part && peer.replace_allowed_ips) flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
        const std::size_t peer_nest = w.nest_start(slot);
        if (!peer_nest || !w.put(WGPEER_A_PUBLIC_KEY, peer.public_key.data(), kKeyLength) ||
            (first_part && !put_peer_head(w, peer)) ||
            (flags && !w.put_value<std::uint32_t>(WGPEER_A_FLAGS, flags))) {
          if (peer_nest) w.nest_cancel(peer_nest);
          break;
        }
        bool complete = true;
        if (ip_index < peer.allowed_ips.size()) {
          const std::size_t ips_nest = w.nest_start(WGPEER_A_ALLOWEDIPS);
          complete = ips_nest != 0;
          for (std::uint16_t j = 0; complete && ip_index < peer.allowed_ips.size(); ++j) {
            complete = put_allowed_ip(w, j, peer.allowed_ips[ip_index]);
            if (complete) ++ip_index;
          }
          if (ips_nest) w.nest_end(ips_nest);
        }
        // A peer cut inside its allowed IPs still carries its head: it ends this message and
        // goes on in the next one at ip_index.
        w.nest_end(peer_nest);
        head_sent = true;
        if (!complete) break;
        ++peer_index;
        ip_index = 0;
        head_sent = false;
      }
      if (peers_nest) w.nest_end(peers_nest);
    }
    if (!messages.empty() && std::tuple(peer_index, head_sent, ip_index) == progress)
      throw std::invalid_argument("netlink message size " + std::to_string(max_message) +
                                  " cannot hold one peer");
    messages.push_back(w.finish());
  } while (peer_index < peers.size());
  return messages;
}

Bytes encode_get_device(const std::string& ifname, RequestHeader header) {
  check_ifname(ifname);
  MessageWriter w(header, WG_CMD_GET_DEVICE, NLM_F_REQUEST | NLM_F_DUMP, kDefaultMessageSize);
  w.put(WGDEVICE_A_IFNAME, ifname.c_str(), ifname.size() + 1);
  return w.finish();
}

// ---- decoding -------------------------------------------------------------------------------

namespace {

// Calls visit(type, payload) for each attribute of a block, checking each header against the
// bytes left; what names the block in errors.
template <typename Visit>
std::string for_each_attr(std::span<const std::uint8_t> block, const char* what, Visit visit) {
  while (!block.empty()) {
    if (block.size() < kAttrHeader)
      return std::string(what) + ": " + std::to_string(block.size()) +
             " trailing bytes, shorter than an attribute header";
    const auto length = get_raw<std::uint16_t>(block, 0);
    const auto type = static_cast<std::uint16_t>(get_raw<std::uint16_t>(block, 2) & NLA_TYPE_MASK);
    if (length < kAttrHeader || length > block.size())
      return std::string(what) + ": attribute " + std::to_string(type) + " has length " +
             std::to_string(length) + " with " + std::to_string(block.size()) + " bytes left";
    if (auto error = visit(type, block.subspan(kAttrHeader, length - kAttrHeader)); !error.empty())
      return error;
    block = block.subspan(std::min<std::size_t>(align4(length), block.size()));
  }
  return {};
}

std::string bad_length(const char* what, std::size_t got, std::size_t want) {
  return std::string(what) + " is " + std::to_string(got) + " bytes, expected " +
         std::to_string(want);
}

template <typename T>
std::string read_fixed(std::span<const std::uint8_t> payload, const char* what, T& out) {
  if (payload.size() != sizeof(T)) return bad_length(what, payload.size(), sizeof(T));
  out = get_raw<T>(payload);
  return {};
}

std::string read_key(std::span<const std::uint8_t> payload, const char* what, Key& out) {
  if (payload.size() != kKeyLength) return bad_length(what, payload.size(), kKeyLength);
  std::memcpy(out.data(), payload.data(), kKeyLength);
  return {};
}

std::string read_endpoint(std::span<const std::uint8_t> payload, std::optional<Endpoint>& out) {
  if (payload.size() < sizeof(sa_family_t))
    return bad_length("peer endpoint", payload.size(), sizeof(sockaddr_in));
  const auto family = get_raw<sa_family_t>(payload);
  Endpoint endpoint;
  if (family == AF_INET && payload.size() == sizeof(sockaddr_in)) {
    const auto sin = get_raw<sockaddr_in>(payload);
    endpoint.address.family = AF_INET;
    std::memcpy(endpoint.address.bytes.data(), &sin.sin_addr, 4);
    endpoint.port = ntohs(sin.sin_port);
  } else if (family == AF_INET6 && payload.size() == sizeof(sockaddr_in6)) {
    const auto sin6 = get_raw<sockaddr_in6>(payload);
    endpoint.address.family = AF_INET6;
    std::memcpy(endpoint.address.bytes.data(), &sin6.sin6_addr, 16);
    endpoint.port = ntohs(sin6.sin6_port);
  } else {
    return "peer endpoint: " + std::to_string(payload.size()) + " bytes of address family " +
           std::to_string(family) + " is neither sockaddr_in nor sockaddr_in6";
  }
  // No UDP endpoint has port 0 (the UAPI decoder refuses it too); showing one would mislead.
  if (endpoint.port == 0) return "peer endpoint " + endpoint.address.to_string() + " with port 0";
  out = endpoint;
  return {};
}

std::string read_allowed_ip(std::span<const std::uint8_t> block, IpPrefix& out) {
  std::uint16_t family = 0;
  std::span<const std::uint8_t> address;
  bool has_cidr = false;
  auto error = for_each_attr(block, "allowed IP", [&](std::uint16_t type, auto payload) {
    switch (type) {
      case WGALLOWEDIP_A_FAMILY:
        return read_fixed(payload, "allowed IP family", family);
      case WGALLOWEDIP_A_IPADDR:
        address = payload;
        return std::string();
      case WGALLOWEDIP_A_CIDR_MASK:
        has_cidr = true;
        return read_fixed(payload, "allowed IP cidr", out.cidr);
      default:
        return std::string();
    }
  });
  if (!error.empty()) return error;
  if (family != AF_INET && family != AF_INET6)
    return "allowed IP: address family " + std::to_string(family) + " is neither IPv4 nor IPv6";
  out.address.family = family;
  if (address.size() != out.address.length())
    return bad_length("allowed IP address", address.size(), out.address.length());
  std::memcpy(out.address.bytes.data(), address.data(), address.size());
  if (!has_cidr) return "allowed IP " + out.address.to_string() + " has no cidr mask";
  if (out.cidr > out.address.length() * 8)
    return "allowed IP " + out.address.to_string() + " has cidr " + std::to_string(out.cidr);
  return {};
}

struct KernelTimespec {  // struct __kernel_timespec
  std::int64_t tv_sec;
  std::int64_t tv_nsec;
};

}  // namespace

std::string split_messages(std::span<const std::uint8_t> datagram, std::vector<Message>& out) {
  while (!datagram.empty()) {
    if (datagram.size() < NLMSG_HDRLEN)
      return "netlink: " + std::to_string(datagram.size()) +
             " trailing bytes, shorter than a message header";
    const auto length = get_raw<std::uint32_t>(datagram, 0);
    if (length < NLMSG_HDRLEN || length > datagram.size())
      return "netlink: message length " + std::to_string(length) + " with " +
             std::to_string(datagram.size()) + " bytes left";
    Message message;
    message.type = get_raw<std::uint16_t>(datagram, 4);
    message.flags = get_raw<std::uint16_t>(datagram, 6);
    message.seq = get_raw<std::uint32_t>(datagram, 8);
    message.payload = datagram.subspan(NLMSG_HDRLEN, length - NLMSG_HDRLEN);
    out.push_back(message);
    datagram = datagram.subspan(std::min<std::size_t>(NLMSG_ALIGN(length), datagram.size()));
  }
  return {};
}

std::string parse_error(const Message& message, int& error, std::string& text) {
  text.clear();
  if (message.payload.size() < sizeof(nlmsgerr))
    return bad_length("netlink error message", message.payload.size(), sizeof(nlmsgerr));
  // The kernel sends 0 (an ack) or a negative errno; anything else (a positive number, or
  // INT32_MIN, whose negation overflows) is not an error code of netlink's.
  const auto code = get_raw<std::int32_t>(message.payload);
  if (code > 0 || code < -4095)
    return "netlink error message: " + std::to_string(code) + " is not 0 or a negative errno";
  error = -code;
  // With NLM_F_ACK_TLVS, extended-ack attributes follow the echoed request: all of it unless
  // NLM_F_CAPPED says only its header was echoed.
  if (!(message.flags & NLM_F_ACK_TLVS)) return {};
  std::size_t echoed = NLMSG_HDRLEN;
  if (!(message.flags & NLM_F_CAPPED)) {
    const auto request_length = get_raw<std::uint32_t>(message.payload, sizeof(std::int32_t));
    echoed = NLMSG_ALIGN(request_length);
  }
  const std::size_t start = sizeof(std::int32_t) + echoed;
  if (start > message.payload.size()) return {};  // nothing readable beyond the echo
  return for_each_attr(
      message.payload.subspan(start), "netlink extended ack",
      [&](std::uint16_t type, auto payload) {
        if (type == NLMSGERR_ATTR_MSG && !payload.empty())
          text.assign(reinterpret_cast<const char*>(payload.data()),
                      strnlen(reinterpret_cast<const char*>(payload.data()), payload.size()));
        return std::string();
      });
}

std::string DumpDecoder::add(const Message& message) {
  if (done_) return "wireguard dump: message after the end of the dump";
  if (message.payload.size() < GENL_HDRLEN)
    return bad_length("wireguard dump message", message.payload.size(), GENL_HDRLEN);
  if (message.payload[0] != WG_CMD_GET_DEVICE)
    return "wireguard dump: command " + std::to_string(message.payload[0]) +
           " is not WG_CMD_GET_DEVICE";
  return for_each_attr(
      message.payload.subspan(GENL_HDRLEN), "wireguard device", [&](std::uint16_t type, auto p) {
        switch (type) {
          case WGDEVICE_A_IFNAME:
            state_.interface.assign(reinterpret_cast<const char*>(p.data()),
                                    strnlen(reinterpret_cast<const char*>(p.data()), p.size()));
            return std::string();
          case WGDEVICE_A_PUBLIC_KEY: {
            Key key{};
            auto error = read_key(p, "device public key", key);
            if (error.empty()) state_.public_key = key;
            return error;
          }
          case WGDEVICE_A_LISTEN_PORT:
            return read_fixed(p, "listen port", state_.listen_port);
          case WGDEVICE_A_FWMARK:
            return read_fixed(p, "fwmark", state_.fwmark);
          case WGDEVICE_A_PEERS:
            return add_peers(p);
          default:
            return std::string();  // ifindex; the private key is never kept
        }
      });
}

std::string DumpDecoder::add_peers(std::span<const std::uint8_t> peers) {
  bool first_in_message = true;
  return for_each_attr(peers, "wireguard peers", [&](std::uint16_t, auto peer) {
    Key key{};
    bool has_key = false;
    auto error = for_each_attr(peer, "wireguard peer", [&](std::uint16_t type, auto p) {
      if (type != WGPEER_A_PUBLIC_KEY) return std::string();
      has_key = true;
      return read_key(p, "peer public key", key);
    });
    if (!error.empty()) return error;
    if (!has_key) return std::string("wireguard peer without a public key");
    // The kernel goes on with a peer whose allowed IPs did not fit: same key, next message.
    const bool continued =
        first_in_message && !state_.peers.empty() && state_.peers.back().public_key == key;
    first_in_message = false;
    if (!continued) {
      if (state_.peers.size() >= kMaxPeers)
        return "wireguard dump: more than " + std::to_string(kMaxPeers) + " peers";
      state_.peers.emplace_back().public_key = key;
    }
    return add_peer(peer);
  });
}

std::string DumpDecoder::add_peer(std::span<const std::uint8_t> block) {
  PeerState& peer = state_.peers.back();
  return for_each_attr(block, "wireguard peer", [&](std::uint16_t type, auto p) {
    switch (type) {
      case WGPEER_A_PRESHARED_KEY: {
        Key psk{};
        auto error = read_key(p, "peer preshared key", psk);
        peer.has_preshared_key = psk != Key{};
        return error;
      }
      case WGPEER_A_ENDPOINT:
        return read_endpoint(p, peer.endpoint);
      case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
        return read_fixed(p, "persistent keepalive", peer.persistent_keepalive_s);
      case WGPEER_A_LAST_HANDSHAKE_TIME: {
        KernelTimespec ts{};
        auto error = read_fixed(p, "last handshake time", ts);
        peer.last_handshake_s = ts.tv_sec;
        peer.last_handshake_ns = ts.tv_nsec;
        return error;
      }
      case WGPEER_A_RX_BYTES:
        return read_fixed(p, "rx bytes", peer.rx_bytes);
      case WGPEER_A_TX_BYTES:
        return read_fixed(p, "tx bytes", peer.tx_bytes);
      case WGPEER_A_PROTOCOL_VERSION:
        return read_fixed(p, "protocol version", peer.protocol_version);
      case WGPEER_A_ALLOWEDIPS:
        return for_each_attr(p, "allowed IPs", [&](std::uint16_t, auto ip) {
          if (allowed_ips_ >= kMaxAllowedIps)
            return "wireguard dump: more than " + std::to_string(kMaxAllowedIps) + " allowed IPs";
          IpPrefix prefix;
          auto error = read_allowed_ip(ip, prefix);
          if (!error.empty()) return error;
          peer.allowed_ips.push_back(prefix);
          ++allowed_ips_;
          return std::string();
        });
      default:
        return std::string();
    }
  });
}

std::string DumpDecoder::finish(const Message& message) {
  done_ = true;
  // NLMSG_DONE of a dump carries an int: 0, or the negative errno that ended the dump.
  if (message.payload.size() >= sizeof(std::int32_t)) {
    const auto error = get_raw<std::int32_t>(message.payload);
    if (error < -4095)  // not an errno (and INT32_MIN would overflow when negated)
      return "wireguard dump ended with error code " + std::to_string(error);
    if (error < 0)
      return "wireguard dump ended with an error: " + std::generic_category().message(-error);
  }
  return {};
}

}  // namespace wardgate::tunnel::wgnl
