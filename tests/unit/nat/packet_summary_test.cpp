#include "nat/packet_summary.h"

#include <gtest/gtest.h>

#include "nat/nat_error.h"
#include "packet_builder.h"

namespace wardgate::nat {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the packet builders

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kIcmp = 1;
constexpr std::uint8_t kIcmpv6 = 58;
constexpr std::uint8_t kDestinationOptions = 60;
constexpr std::uint8_t kHopByHop = 0;
constexpr std::uint8_t kFragment = 44;

common::FlowObservation summary_of(const Bytes& packet, std::error_code* error = nullptr) {
  common::FlowObservation f;
  const std::error_code ec = summarize_packet(packet, f);
  if (error != nullptr) *error = ec;
  return f;
}

TEST(PacketSummary, Ipv4Udp) {
  std::error_code ec;
  const auto f =
      summary_of(ipv4("10.1.1.20", "10.2.2.5", kUdp, ports_header(40000, 123, false)), &ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(f.family, 4);
  EXPECT_EQ(f.source, "10.1.1.20");
  EXPECT_EQ(f.destination, "10.2.2.5");
  EXPECT_EQ(f.source_v4, 0x0a010114U);  // host order, as DeviceRegistry::find takes it
  EXPECT_EQ(f.destination_v4, 0x0a020205U);
  EXPECT_EQ(f.protocol, kUdp);
  EXPECT_EQ(f.protocol_name, "udp");
  EXPECT_EQ(f.source_port, 40000);
  EXPECT_EQ(f.destination_port, 123);
  EXPECT_EQ(f.packet_length, 28U);
  EXPECT_FALSE(f.later_fragment);
}

TEST(PacketSummary, Ipv4TcpSynWithOptions) {
  std::error_code ec;
  const auto f =
      summary_of(ipv4("10.1.1.20", "10.2.2.9", kTcp, ports_header(1025, 445, true), 2), &ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(f.protocol_name, "tcp");
  EXPECT_EQ(f.source_port, 1025);
  EXPECT_EQ(f.destination_port, 445);  // found after 8 bytes of IP options
  EXPECT_EQ(f.tcp_flags, 0x02);
}

TEST(PacketSummary, Ipv4IcmpEcho) {
  const auto f = summary_of(ipv4("10.1.1.20", "10.1.1.1", kIcmp, Bytes{8, 0, 0, 0, 0, 1, 0, 1}));
  EXPECT_EQ(f.protocol_name, "icmp");
  EXPECT_EQ(f.icmp_type, 8);
  EXPECT_EQ(f.icmp_code, 0);
  EXPECT_EQ(f.destination_port, 0);
}

TEST(PacketSummary, Ipv4LaterFragmentHasNoPorts) {
  std::error_code ec;
  // Offset 185 (x 8 bytes): what follows the IP header is the middle of a UDP payload.
  const auto f =
      summary_of(ipv4("10.1.1.20", "10.2.2.5", kUdp, ports_header(53, 53, false), 0, 185), &ec);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(f.later_fragment);
  EXPECT_EQ(f.protocol_name, "udp");
  EXPECT_EQ(f.source_port, 0);
  EXPECT_EQ(f.destination_port, 0);
}

TEST(PacketSummary, Ipv6TcpBehindExtensionHeaders) {
  const Bytes rest = concat(concat(extension(kDestinationOptions), extension(kTcp)),
                            ports_header(50000, 104, true, 0x12));
  std::error_code ec;
  const auto f = summary_of(ipv6("fe80::1", "2001:db8::5", kHopByHop, rest), &ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(f.family, 6);
  EXPECT_EQ(f.source, "fe80::1");
  EXPECT_EQ(f.destination, "2001:db8::5");
  EXPECT_EQ(f.source_v4, 0U);
  EXPECT_EQ(f.protocol, kTcp);
  EXPECT_EQ(f.protocol_name, "tcp");
  EXPECT_EQ(f.source_port, 50000);
  EXPECT_EQ(f.destination_port, 104);
  EXPECT_EQ(f.tcp_flags, 0x12);
  EXPECT_EQ(f.packet_length, 40U + rest.size());
}

TEST(PacketSummary, Ipv6RouterSolicitation) {
  const auto f = summary_of(ipv6("fe80::1", "ff02::2", kIcmpv6, Bytes{133, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(f.protocol_name, "icmpv6");
  EXPECT_EQ(f.icmp_type, 133);
}

TEST(PacketSummary, Ipv6Fragments) {
  std::error_code ec;
  const auto first =
      summary_of(ipv6("fe80::1", "fe80::2", kFragment,
                      concat(fragment_header(kUdp, 0, true), ports_header(5353, 5353, false))),
                 &ec);
  EXPECT_FALSE(ec);
  EXPECT_FALSE(first.later_fragment);
  EXPECT_EQ(first.protocol_name, "udp");
  EXPECT_EQ(first.destination_port, 5353);

  const auto later =
      summary_of(ipv6("fe80::1", "fe80::2", kFragment,
                      concat(fragment_header(kUdp, 181, false), ports_header(5353, 5353, false))),
                 &ec);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(later.later_fragment);
  EXPECT_EQ(later.protocol_name, "udp");
  EXPECT_EQ(later.destination_port, 0);
}

TEST(PacketSummary, Ipv6ExtensionChainIsCapped) {
  Bytes rest;
  for (std::size_t i = 0; i < kMaxExtensionHeaders; ++i) {
    rest = concat(rest, extension(kDestinationOptions));
  }
  rest = concat(rest, ports_header(1, 2, false));
  // kMaxExtensionHeaders headers each pointing at another one: one too many.
  std::error_code ec;
  const auto f = summary_of(ipv6("fe80::1", "fe80::2", kDestinationOptions, rest), &ec);
  EXPECT_EQ(ec, Errc::kTooManyExtensionHeaders);
  EXPECT_EQ(f.source, "fe80::1");  // the addresses were read before the chain

  // The same chain ending in UDP after exactly kMaxExtensionHeaders headers is read.
  rest.clear();
  for (std::size_t i = 0; i + 1 < kMaxExtensionHeaders; ++i) {
    rest = concat(rest, extension(kDestinationOptions));
  }
  rest = concat(concat(rest, extension(kUdp)), ports_header(1, 2, false));
  const auto g = summary_of(ipv6("fe80::1", "fe80::2", kDestinationOptions, rest), &ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(g.destination_port, 2);
}

// Every prefix of a packet: never a read past it (ASan in CI), and a truncated packet is an
// error unless every header the summary needs is inside the prefix.
TEST(PacketSummary, EveryTruncation) {
  const Bytes v4 = ipv4("10.1.1.20", "10.2.2.5", kTcp, ports_header(1025, 445, true));
  const Bytes v6 =
      ipv6("fe80::1", "fe80::2", kHopByHop, concat(extension(kTcp), ports_header(1025, 445, true)));
  for (const Bytes* packet : {&v4, &v6}) {
    const std::size_t complete = packet->size() - 6;  // TCP flags at offset 13 of the header
    for (std::size_t n = 0; n <= packet->size(); ++n) {
      const Bytes cut(packet->begin(), packet->begin() + static_cast<std::ptrdiff_t>(n));
      std::error_code ec;
      const auto f = summary_of(cut, &ec);
      if (n < complete) {
        EXPECT_EQ(ec, Errc::kTruncatedPacket) << n;
      } else {
        EXPECT_FALSE(ec) << n;
        EXPECT_EQ(f.destination_port, 445) << n;
      }
      const std::size_t fixed = packet == &v4 ? 20 : 40;
      EXPECT_EQ(!f.source.empty(), n >= fixed) << n;
    }
  }
}

TEST(PacketSummary, MalformedHeaders) {
  std::error_code ec;
  summary_of(Bytes{0x50, 0, 0, 20}, &ec);
  EXPECT_EQ(ec, Errc::kNotIp);
  summary_of(Bytes{}, &ec);
  EXPECT_EQ(ec, Errc::kTruncatedPacket);
  Bytes short_ihl = ipv4("10.1.1.20", "10.2.2.5", kUdp, ports_header(1, 2, false));
  short_ihl[0] = 0x44;  // 16-byte header
  summary_of(short_ihl, &ec);
  EXPECT_EQ(ec, Errc::kBadIpHeader);
  Bytes long_ihl = ipv4("10.1.1.20", "10.2.2.5", kUdp, ports_header(1, 2, false));
  long_ihl[0] = 0x4f;  // 60-byte header inside a 28-byte packet
  summary_of(long_ihl, &ec);
  EXPECT_EQ(ec, Errc::kBadIpHeader);
  EXPECT_EQ(std::string(nat_category().name()), "wardgate.nat");
}

TEST(PacketSummary, ProtocolNames) {
  EXPECT_EQ(protocol_name(6), "tcp");
  EXPECT_EQ(protocol_name(58), "icmpv6");
  EXPECT_EQ(protocol_name(132), "sctp");
  EXPECT_EQ(protocol_name(253), "253");
}

}  // namespace
}  // namespace wardgate::nat
