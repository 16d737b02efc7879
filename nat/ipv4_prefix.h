#pragma once
// IPv4 addresses and prefixes as the gateway's configuration and ruleset use them, and the 1:1
// prefix map of nat.mapped_prefix (VLAN 192.168.1.0/24 shown to the core as 10.250.3.0/24, host
// part kept). Addresses are host byte order, like policy's device registry.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wardgate::nat {

// A dotted quad: exactly four decimal parts 0-255 without leading zeros ("010" is octal to some
// tools and decimal to others, so it is refused).
std::optional<std::uint32_t> parse_ipv4(std::string_view text);
std::string format_ipv4(std::uint32_t address);

struct Ipv4Prefix {
  std::uint32_t address = 0;  // the network address: no host bits set
  std::uint8_t length = 0;    // 0-32

  // "10.1.1.0/24". On failure `why` (if given) says what is wrong, for configuration errors.
  static std::optional<Ipv4Prefix> parse(std::string_view text, std::string* why = nullptr);

  std::uint32_t mask() const;
  bool contains(std::uint32_t addr) const;
  bool overlaps(const Ipv4Prefix& other) const;
  std::uint64_t size() const;  // number of addresses (2^(32 - length))
  std::string to_string() const;
  bool operator==(const Ipv4Prefix&) const = default;
};

// Maps `from` onto `to`, both of one length, keeping the host part.
struct PrefixMap {
  Ipv4Prefix from;
  Ipv4Prefix to;

  bool in_from(std::uint32_t addr) const { return from.contains(addr); }
  bool in_to(std::uint32_t addr) const { return to.contains(addr); }
  // Only meaningful for addresses inside `from` (resp. `to`).
  std::uint32_t map(std::uint32_t addr) const { return to.address | (addr & ~from.mask()); }
  std::uint32_t unmap(std::uint32_t addr) const { return from.address | (addr & ~to.mask()); }
  bool operator==(const PrefixMap&) const = default;
};

}  // namespace wardgate::nat
