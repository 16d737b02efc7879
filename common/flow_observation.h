#pragma once
// One packet the gateway's ruleset denied and logged (nftables `log group G prefix "wg:<reason>"`),
// as the NFLOG reader (nat/flow_log_reader.h) decodes it: plain data, no I/O. The flow audit
// (inspect/flow_audit.h) turns observations into bounded audit records; the policy engine sees
// every one of them, unaggregated.
#include <array>
#include <chrono>
#include <cstdint>
#include <string>

namespace wardgate::common {

struct FlowObservation {
  std::chrono::system_clock::time_point time;  // when wardgate read it
  // Why the ruleset denied it: the NFLOG prefix without "wg:" ("deny-vlan", "deny-core",
  // "unknown", "spoof", "ipv6", "no-listener", "vlan-input"); a prefix not starting with "wg:"
  // is kept whole.
  std::string reason;

  std::uint8_t family = 0;      // 4 or 6
  std::string source;           // "10.1.1.20", "fe80::1"
  std::string destination;      // "10.2.2.5"
  std::uint32_t source_v4 = 0;  // IPv4 only: host byte order (as policy::DeviceRegistry::find)
  std::uint32_t destination_v4 = 0;
  std::uint32_t packet_length = 0;  // the IP header's total length (IPv6: 40 + payload length)

  // The transport: the IPv4 protocol field, or for IPv6 the header after the extension headers.
  std::uint8_t protocol = 0;
  std::string protocol_name;      // "tcp", "udp", "icmp", "icmpv6", "sctp", ... else the number
  std::uint16_t source_port = 0;  // TCP, UDP, UDP-Lite, SCTP, DCCP; 0 otherwise
  std::uint16_t destination_port = 0;
  std::uint8_t icmp_type = 0;  // ICMP / ICMPv6 only (0 is a real type: echo reply)
  std::uint8_t icmp_code = 0;
  std::uint8_t tcp_flags = 0;  // TCP only: FIN 0x01, SYN 0x02, RST 0x04, ..., ACK 0x10
  // A fragment after the first carries no transport header: ports and ICMP type stay 0.
  bool later_fragment = false;

  std::array<std::uint8_t, 6> source_mac{};  // the Ethernet source, when has_mac
  bool has_mac = false;
  std::uint32_t in_ifindex = 0;  // 0: the packet had no input interface (locally generated)
  std::string in_ifname;         // "vlan0"; empty when unknown

  bool operator==(const FlowObservation&) const = default;
};

}  // namespace wardgate::common
