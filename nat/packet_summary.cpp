#include "nat/packet_summary.h"

#include <arpa/inet.h>

#include <array>

#include "nat/nat_error.h"

namespace wardgate::nat {
namespace {

// IANA protocol numbers (RFC 790 onwards; the registry "Assigned Internet Protocol Numbers").
constexpr std::uint8_t kIcmp = 1;
constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kDccp = 33;
constexpr std::uint8_t kIcmpv6 = 58;
constexpr std::uint8_t kSctp = 132;
constexpr std::uint8_t kUdplite = 136;
// IPv6 extension headers (RFC 8200 section 4, RFC 4302 AH, RFC 6275 mobility, RFC 7401 HIP,
// RFC 5533 shim6). ESP (50) is not followed: what comes after it is encrypted.
constexpr std::uint8_t kHopByHop = 0;
constexpr std::uint8_t kRouting = 43;
constexpr std::uint8_t kFragment = 44;
constexpr std::uint8_t kAh = 51;
constexpr std::uint8_t kDestinationOptions = 60;
constexpr std::uint8_t kMobility = 135;
constexpr std::uint8_t kHip = 139;
constexpr std::uint8_t kShim6 = 140;

constexpr std::size_t kIpv4HeaderMin = 20;
constexpr std::size_t kIpv6Header = 40;

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::string address_text(int family, const std::uint8_t* bytes) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  ::inet_ntop(family, bytes, text.data(), text.size());
  return text.data();
}

bool is_extension_header(std::uint8_t next) {
  switch (next) {
    case kHopByHop:
    case kRouting:
    case kFragment:
    case kAh:
    case kDestinationOptions:
    case kMobility:
    case kHip:
    case kShim6:
      return true;
    default:
      return false;
  }
}

// The transport header at the start of `l4` (the rest of the captured bytes).
std::error_code summarize_transport(std::span<const std::uint8_t> l4,
                                    common::FlowObservation& out) {
  switch (out.protocol) {
    case kTcp:
      if (l4.size() < 4) return Errc::kTruncatedPacket;
      out.source_port = be16(l4.data());
      out.destination_port = be16(l4.data() + 2);
      if (l4.size() < 14) return Errc::kTruncatedPacket;  // flags: RFC 9293 section 3.1
      out.tcp_flags = l4[13];
      return {};
    case kUdp:
    case kUdplite:
    case kSctp:
    case kDccp:
      // All four start with source and destination port.
      if (l4.size() < 4) return Errc::kTruncatedPacket;
      out.source_port = be16(l4.data());
      out.destination_port = be16(l4.data() + 2);
      return {};
    case kIcmp:
    case kIcmpv6:
      if (l4.size() < 2) return Errc::kTruncatedPacket;
      out.icmp_type = l4[0];
      out.icmp_code = l4[1];
      return {};
    default:
      return {};
  }
}

std::error_code summarize_ipv4(std::span<const std::uint8_t> p, common::FlowObservation& out) {
  if (p.size() < kIpv4HeaderMin) return Errc::kTruncatedPacket;
  out.family = 4;
  out.source_v4 = be32(p.data() + 12);
  out.destination_v4 = be32(p.data() + 16);
  out.source = address_text(AF_INET, p.data() + 12);
  out.destination = address_text(AF_INET, p.data() + 16);
  out.packet_length = be16(p.data() + 2);
  out.protocol = p[9];
  out.protocol_name = protocol_name(out.protocol);
  const std::size_t header = std::size_t{p[0] & 0x0fU} * 4;
  if (header < kIpv4HeaderMin || out.packet_length < header) return Errc::kBadIpHeader;
  if ((be16(p.data() + 6) & 0x1fffU) != 0) {  // fragment offset: no transport header here
    out.later_fragment = true;
    return {};
  }
  if (p.size() < header) return Errc::kTruncatedPacket;
  return summarize_transport(p.subspan(header), out);
}

std::error_code summarize_ipv6(std::span<const std::uint8_t> p, common::FlowObservation& out) {
  if (p.size() < kIpv6Header) return Errc::kTruncatedPacket;
  out.family = 6;
  out.source = address_text(AF_INET6, p.data() + 8);
  out.destination = address_text(AF_INET6, p.data() + 24);
  out.packet_length = static_cast<std::uint32_t>(kIpv6Header + be16(p.data() + 4));
  std::uint8_t next = p[6];
  std::size_t offset = kIpv6Header;
  std::size_t followed = 0;
  while (is_extension_header(next)) {
    out.protocol = next;  // what is known so far, should the chain be cut short
    out.protocol_name = protocol_name(next);
    if (followed == kMaxExtensionHeaders) return Errc::kTooManyExtensionHeaders;
    ++followed;
    if (p.size() < offset + 8) return Errc::kTruncatedPacket;  // every one is at least 8 bytes
    const std::uint8_t following = p[offset];
    std::size_t length = 0;
    if (next == kFragment) {
      length = 8;
      if ((be16(p.data() + offset + 2) & 0xfff8U) != 0) {  // fragment offset (RFC 8200 4.5)
        out.protocol = following;
        out.protocol_name = protocol_name(following);
        out.later_fragment = true;
        return {};
      }
    } else if (next == kAh) {
      length = (std::size_t{p[offset + 1]} + 2) * 4;  // RFC 4302 section 2.2
    } else {
      length = (std::size_t{p[offset + 1]} + 1) * 8;  // RFC 8200 section 4.3
    }
    offset += length;
    next = following;
  }
  out.protocol = next;
  out.protocol_name = protocol_name(next);
  if (p.size() < offset) return Errc::kTruncatedPacket;
  return summarize_transport(p.subspan(offset), out);
}

}  // namespace

std::string protocol_name(std::uint8_t protocol) {
  switch (protocol) {
    case kIcmp:
      return "icmp";
    case 2:
      return "igmp";
    case 4:
      return "ipip";
    case kTcp:
      return "tcp";
    case kUdp:
      return "udp";
    case 41:
      return "ipv6";
    case 47:
      return "gre";
    case 50:
      return "esp";
    case kAh:
      return "ah";
    case kDccp:
      return "dccp";
    case kIcmpv6:
      return "icmpv6";
    case 89:
      return "ospf";
    case 103:
      return "pim";
    case 112:
      return "vrrp";
    case kSctp:
      return "sctp";
    case kUdplite:
      return "udplite";
    default:
      return std::to_string(protocol);
  }
}

std::error_code summarize_packet(std::span<const std::uint8_t> packet,
                                 common::FlowObservation& out) {
  if (packet.empty()) return Errc::kTruncatedPacket;
  switch (packet[0] >> 4) {
    case 4:
      return summarize_ipv4(packet, out);
    case 6:
      return summarize_ipv6(packet, out);
    default:
      return Errc::kNotIp;
  }
}

}  // namespace wardgate::nat
