#include "tunnel/wg_types.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>
#include <charconv>

namespace wardgate::tunnel {

std::optional<IpAddress> IpAddress::parse(const std::string& text) {
  // inet_pton stops at a NUL: "10.0.0.1\0anything" must not pass for 10.0.0.1.
  if (text.find('\0') != std::string::npos) return std::nullopt;
  IpAddress a;
  if (::inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (::inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return std::nullopt;
}

std::string IpAddress::to_string() const {
  std::array<char, INET6_ADDRSTRLEN> out{};
  if (family != AF_INET && family != AF_INET6) return "(none)";
  ::inet_ntop(family, bytes.data(), out.data(), out.size());
  return out.data();
}

std::optional<IpPrefix> IpPrefix::parse(const std::string& text) {
  const auto slash = text.find('/');
  const auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  const unsigned max = address->family == AF_INET ? 32 : 128;
  unsigned cidr = max;
  if (slash != std::string::npos) {
    const char* first = text.data() + slash + 1;
    const char* last = text.data() + text.size();
    const auto [end, ec] = std::from_chars(first, last, cidr);
    if (ec != std::errc{} || end != last || first == last || cidr > max) return std::nullopt;
  }
  return IpPrefix{*address, static_cast<std::uint8_t>(cidr)};
}

std::string IpPrefix::to_string() const { return address.to_string() + "/" + std::to_string(cidr); }

std::optional<Endpoint> Endpoint::parse(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    const auto parsed = IpAddress::parse(host);
    if (!parsed || parsed->family != AF_INET6) return std::nullopt;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  const auto address = IpAddress::parse(host);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (!address || ec != std::errc{} || end != port.data() + port.size() || port.empty() ||
      value == 0 || value > 65535)
    return std::nullopt;
  return Endpoint{*address, static_cast<std::uint16_t>(value)};
}

std::string Endpoint::to_string() const {
  const std::string host = address.to_string();
  return (address.family == AF_INET6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace wardgate::tunnel
