#include "nat/ipv4_prefix.h"

#include <gtest/gtest.h>

namespace wardgate::nat {
namespace {

std::uint32_t ip(const char* s) { return parse_ipv4(s).value(); }

TEST(Ipv4Address, ParsesDottedQuadsOnly) {
  EXPECT_EQ(parse_ipv4("10.1.1.20"), 0x0a010114u);
  EXPECT_EQ(parse_ipv4("255.255.255.255"), 0xffffffffu);
  EXPECT_EQ(parse_ipv4("0.0.0.0"), 0u);
  for (const char* bad : {"", "10.1.1", "10.1.1.1.1", "10.1.1.256", "10.01.1.1", "10.1.1.-1",
                          "10..1.1", "10.1.1.1 ", " 10.1.1.1", "a.b.c.d", "1000.1.1.1"}) {
    EXPECT_FALSE(parse_ipv4(bad).has_value()) << bad;
  }
  EXPECT_EQ(format_ipv4(ip("192.168.1.20")), "192.168.1.20");
}

TEST(Ipv4Prefix, ParsesNetworkPrefixesAndSaysWhyOthersAreRefused) {
  const auto p = Ipv4Prefix::parse("10.1.1.0/24");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->address, ip("10.1.1.0"));
  EXPECT_EQ(p->length, 24);
  EXPECT_EQ(p->size(), 256u);
  EXPECT_EQ(p->to_string(), "10.1.1.0/24");
  EXPECT_EQ(Ipv4Prefix::parse("0.0.0.0/0")->size(), std::uint64_t{1} << 32);
  EXPECT_EQ(Ipv4Prefix::parse("10.2.2.5/32")->size(), 1u);

  std::string why;
  EXPECT_FALSE(Ipv4Prefix::parse("10.1.1.1/24", &why));
  EXPECT_NE(why.find("host bits"), std::string::npos) << why;
  EXPECT_FALSE(Ipv4Prefix::parse("10.1.1.0/33", &why));
  EXPECT_NE(why.find("0 to 32"), std::string::npos) << why;
  EXPECT_FALSE(Ipv4Prefix::parse("10.1.1.0/024", &why));
  EXPECT_FALSE(Ipv4Prefix::parse("10.1.01.0/24", &why));
  EXPECT_NE(why.find("leading zeros"), std::string::npos) << why;
  EXPECT_FALSE(Ipv4Prefix::parse("10.1.1.0", &why));
  EXPECT_FALSE(Ipv4Prefix::parse("10.1.1.0/", &why));
  EXPECT_FALSE(Ipv4Prefix::parse("10.1.1.0/24/1", &why));
}

TEST(Ipv4Prefix, ContainsAndOverlaps) {
  const auto vlan = *Ipv4Prefix::parse("10.1.1.0/24");
  EXPECT_TRUE(vlan.contains(ip("10.1.1.0")));
  EXPECT_TRUE(vlan.contains(ip("10.1.1.255")));
  EXPECT_FALSE(vlan.contains(ip("10.1.2.0")));
  EXPECT_FALSE(vlan.contains(ip("10.1.0.255")));
  EXPECT_TRUE(Ipv4Prefix::parse("0.0.0.0/0")->contains(ip("203.0.113.9")));

  EXPECT_TRUE(vlan.overlaps(*Ipv4Prefix::parse("10.0.0.0/8")));
  EXPECT_TRUE(Ipv4Prefix::parse("10.0.0.0/8")->overlaps(vlan));
  EXPECT_TRUE(vlan.overlaps(*Ipv4Prefix::parse("10.1.1.128/25")));
  EXPECT_TRUE(vlan.overlaps(vlan));
  EXPECT_FALSE(vlan.overlaps(*Ipv4Prefix::parse("10.1.2.0/24")));
  EXPECT_FALSE(Ipv4Prefix::parse("10.1.2.0/24")->overlaps(vlan));
}

TEST(PrefixMap, KeepsTheHostPartBothWays) {
  const PrefixMap m{*Ipv4Prefix::parse("192.168.1.0/24"), *Ipv4Prefix::parse("10.250.3.0/24")};
  EXPECT_EQ(m.map(ip("192.168.1.20")), ip("10.250.3.20"));
  EXPECT_EQ(m.unmap(ip("10.250.3.20")), ip("192.168.1.20"));
  EXPECT_EQ(m.map(ip("192.168.1.255")), ip("10.250.3.255"));
  EXPECT_TRUE(m.in_from(ip("192.168.1.7")));
  EXPECT_FALSE(m.in_from(ip("10.250.3.7")));
  EXPECT_TRUE(m.in_to(ip("10.250.3.7")));
  const PrefixMap small{*Ipv4Prefix::parse("172.16.0.8/29"), *Ipv4Prefix::parse("10.9.9.16/29")};
  EXPECT_EQ(small.map(ip("172.16.0.13")), ip("10.9.9.21"));
  EXPECT_EQ(small.unmap(small.map(ip("172.16.0.15"))), ip("172.16.0.15"));
}

}  // namespace
}  // namespace wardgate::nat
