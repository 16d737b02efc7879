#pragma once
// The WireGuard device model both backends speak: what wardgate sets on an interface
// (DeviceConfig, PeerConfig) and what it reads back (DeviceState, PeerState). It mirrors the
// attributes of the kernel's generic netlink family "wireguard" and of the cross-platform UAPI,
// so the two codecs translate field by field and the rest of wardgate never sees either wire form.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wardgate::tunnel {

constexpr std::size_t kKeyLength = 32;
using Key = std::array<std::uint8_t, kKeyLength>;

// An IPv4 or IPv6 address; family is AF_INET or AF_INET6, bytes in network order (4 or 16 used).
struct IpAddress {
  int family = 0;
  std::array<std::uint8_t, 16> bytes{};

  static std::optional<IpAddress> parse(const std::string& text);
  std::string to_string() const;
  std::size_t length() const { return family == 10 /* AF_INET6 */ ? 16 : 4; }
  bool operator==(const IpAddress&) const = default;
};

// "10.0.0.0/8", "fd00::/64"; a bare address is a host prefix (/32 or /128).
struct IpPrefix {
  IpAddress address;
  std::uint8_t cidr = 0;

  static std::optional<IpPrefix> parse(const std::string& text);
  std::string to_string() const;
  bool operator==(const IpPrefix&) const = default;
};

// A peer's UDP endpoint: "192.0.2.1:51820" or "[2001:db8::1]:51820" (numeric only: wardgate
// never resolves names on the data path; wg-quick import resolves them once, up front).
struct Endpoint {
  IpAddress address;
  std::uint16_t port = 0;

  static std::optional<Endpoint> parse(const std::string& text);
  std::string to_string() const;
  bool operator==(const Endpoint&) const = default;
};

struct PeerConfig {
  Key public_key{};
  std::optional<Key> preshared_key;  // an all-zero key removes it
  std::optional<Endpoint> endpoint;
  std::optional<std::uint16_t> persistent_keepalive_s;  // 0 turns it off
  std::vector<IpPrefix> allowed_ips;
  bool replace_allowed_ips = true;
  bool remove = false;       // remove this peer from the device
  bool update_only = false;  // change the peer only if it already exists
};

struct DeviceConfig {
  std::optional<Key> private_key;
  std::optional<std::uint16_t> listen_port;
  std::optional<std::uint32_t> fwmark;  // 0 turns it off
  bool replace_peers = false;           // peers not listed are removed
  std::vector<PeerConfig> peers;
};

struct PeerState {
  Key public_key{};
  bool has_preshared_key = false;
  std::optional<Endpoint> endpoint;
  std::uint16_t persistent_keepalive_s = 0;
  std::vector<IpPrefix> allowed_ips;
  std::int64_t last_handshake_s = 0;  // Unix time; 0: never
  std::int64_t last_handshake_ns = 0;
  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_bytes = 0;
  std::uint32_t protocol_version = 0;
};

struct DeviceState {
  std::string interface;
  std::optional<Key> public_key;  // derived from the private key, absent when none is set
  std::uint16_t listen_port = 0;
  std::uint32_t fwmark = 0;
  std::vector<PeerState> peers;
};

}  // namespace wardgate::tunnel
