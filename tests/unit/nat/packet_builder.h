#pragma once
// Packets as they appear on the wire, built field by field, for the tests of the packet summary
// and the NFLOG decoder (and the seeds of their fuzz corpus).
#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace wardgate::nat::testing {

using Bytes = std::vector<std::uint8_t>;

inline void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v & 0xffU));
}

inline void put_address(Bytes& b, int family, const char* text) {
  std::array<std::uint8_t, 16> bytes{};
  ::inet_pton(family, text, bytes.data());
  b.insert(b.end(), bytes.begin(), bytes.begin() + (family == AF_INET ? 4 : 16));
}

// UDP/TCP header start: ports, then (TCP) sequence, ack, offset and flags.
inline Bytes ports_header(std::uint16_t source, std::uint16_t destination, bool tcp,
                          std::uint8_t flags = 0x02) {
  Bytes b;
  put16(b, source);
  put16(b, destination);
  if (tcp) {
    b.insert(b.end(), 8, 0);  // sequence, acknowledgement
    b.push_back(0x50);        // data offset 5
    b.push_back(flags);       // SYN by default
    b.insert(b.end(), 6, 0);  // window, checksum, urgent
  } else {
    put16(b, 8);  // length
    put16(b, 0);  // checksum
  }
  return b;
}

// An IPv4 packet around `l4`; `options` adds 4-byte words of options (IHL 5 + options).
inline Bytes ipv4(const char* source, const char* destination, std::uint8_t protocol,
                  const Bytes& l4, std::uint8_t options = 0, std::uint16_t fragment_offset = 0) {
  Bytes b;
  b.push_back(static_cast<std::uint8_t>(0x40 | (5 + options)));
  b.push_back(0);
  put16(b, static_cast<std::uint16_t>(20 + 4 * options + l4.size()));
  put16(b, 0x1234);           // identification
  put16(b, fragment_offset);  // flags and offset (8-byte units)
  b.push_back(64);
  b.push_back(protocol);
  put16(b, 0);  // checksum: not checked by the summary
  put_address(b, AF_INET, source);
  put_address(b, AF_INET, destination);
  b.insert(b.end(), std::size_t{4} * options, 1);  // NOP options
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}

// An IPv6 packet; `extensions` is the chain after the fixed header, `next` its first header.
inline Bytes ipv6(const char* source, const char* destination, std::uint8_t next,
                  const Bytes& rest) {
  Bytes b{0x60, 0, 0, 0};
  put16(b, static_cast<std::uint16_t>(rest.size()));
  b.push_back(next);
  b.push_back(64);
  put_address(b, AF_INET6, source);
  put_address(b, AF_INET6, destination);
  b.insert(b.end(), rest.begin(), rest.end());
  return b;
}

// An 8-byte extension header (hop-by-hop, destination options: padding only).
inline Bytes extension(std::uint8_t next) { return Bytes{next, 0, 1, 4, 0, 0, 0, 0}; }

// An IPv6 fragment header (RFC 8200 4.5): offset in 8-byte units.
inline Bytes fragment_header(std::uint8_t next, std::uint16_t offset, bool more) {
  Bytes b{next, 0};
  put16(b, static_cast<std::uint16_t>((offset << 3) | (more ? 1 : 0)));
  b.insert(b.end(), {0, 0, 0, 42});
  return b;
}

inline Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace wardgate::nat::testing
