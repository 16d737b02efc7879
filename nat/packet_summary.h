#pragma once
// The first bytes of a logged IPv4 or IPv6 packet (NFLOG copies at most its copy range, 128
// bytes) -> the L3/L4 fields of a common::FlowObservation: addresses, transport protocol, ports,
// ICMP type and code, TCP flags. A parser of kernel-delivered (so attacker-shaped) bytes: every
// length is checked before it is used, the IPv6 extension header chain is followed at most
// kMaxExtensionHeaders deep, and nothing is read outside `packet`.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>

#include "common/flow_observation.h"

namespace wardgate::nat {

constexpr std::size_t kMaxExtensionHeaders = 8;

// Fills the L3/L4 fields of `out` (family, source, destination, source_v4, destination_v4,
// packet_length, protocol, protocol_name, ports, icmp_type/code, tcp_flags, later_fragment) and
// leaves the others alone. On an error (Errc::kTruncatedPacket, kNotIp, kBadIpHeader,
// kTooManyExtensionHeaders) the fields read before it stay filled: a packet cut short after its
// IP header still names its addresses.
std::error_code summarize_packet(std::span<const std::uint8_t> packet,
                                 common::FlowObservation& out);

// "tcp", "udp", "icmp", "icmpv6", "sctp", "gre", "esp", "ah", "udplite", "dccp", "igmp", "ipip",
// "ipv6", "ospf", "pim", "vrrp"; any other number as decimal text ("253").
std::string protocol_name(std::uint8_t protocol);

}  // namespace wardgate::nat
