#include "nat/ipv4_prefix.h"

#include <charconv>

namespace wardgate::nat {
namespace {

// A decimal number without sign or leading zero, at most `max`.
std::optional<std::uint32_t> parse_decimal(std::string_view s, std::uint32_t max) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s.front() == '0')) return std::nullopt;
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size() || value > max) return std::nullopt;
  return value;
}

void set_why(std::string* why, const char* reason) {
  if (why != nullptr) *why = reason;
}

}  // namespace

std::optional<std::uint32_t> parse_ipv4(std::string_view text) {
  std::uint32_t address = 0;
  for (int part = 0; part < 4; ++part) {
    const std::size_t dot = part < 3 ? text.find('.') : text.size();
    if (dot == std::string_view::npos) return std::nullopt;
    const auto octet = parse_decimal(text.substr(0, dot), 255);
    if (!octet) return std::nullopt;
    address = (address << 8) | *octet;
    text.remove_prefix(part < 3 ? dot + 1 : dot);
  }
  return address;
}

std::string format_ipv4(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
         std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

std::optional<Ipv4Prefix> Ipv4Prefix::parse(std::string_view text, std::string* why) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    set_why(why, "must be an IPv4 prefix address/length, e.g. 10.1.1.0/24");
    return std::nullopt;
  }
  const auto address = parse_ipv4(text.substr(0, slash));
  if (!address) {
    set_why(why, "must start with a dotted-quad IPv4 address (no leading zeros)");
    return std::nullopt;
  }
  const auto length = parse_decimal(text.substr(slash + 1), 32);
  if (!length) {
    set_why(why, "must end with a prefix length 0 to 32 (no leading zeros)");
    return std::nullopt;
  }
  const Ipv4Prefix p{*address, static_cast<std::uint8_t>(*length)};
  if ((p.address & ~p.mask()) != 0) {
    set_why(why, "has host bits set: give the network address of the prefix");
    return std::nullopt;
  }
  return p;
}

std::uint32_t Ipv4Prefix::mask() const {
  return length == 0 ? 0 : ~std::uint32_t{0} << (32 - length);
}

bool Ipv4Prefix::contains(std::uint32_t addr) const { return (addr & mask()) == address; }

bool Ipv4Prefix::overlaps(const Ipv4Prefix& other) const {
  // Two prefixes overlap exactly when the shorter one contains the other's network address.
  return length <= other.length ? contains(other.address) : other.contains(address);
}

std::uint64_t Ipv4Prefix::size() const { return std::uint64_t{1} << (32 - length); }

std::string Ipv4Prefix::to_string() const {
  return format_ipv4(address) + "/" + std::to_string(length);
}

}  // namespace wardgate::nat
