#include "nat/gateway_rules.h"

#include <gtest/gtest.h>

#include "nat/nft_runner.h"
#include "tests/unit/nat/netns_child.h"

namespace wardgate::nat {
namespace {

std::uint32_t ip(const char* s) { return parse_ipv4(s).value(); }
Ipv4Prefix prefix(const char* s) { return Ipv4Prefix::parse(s).value(); }

InterceptionOptions interception() {
  InterceptionOptions i;
  i.interfaces = {"vlan0"};
  i.services = {{"dicom", 104, "dicom"}, {"hl7", 2575, "hl7"}};
  i.fwmark = 7;
  return i;
}

std::vector<DeviceName> devices() {
  return {{"ct", "modality", ip("10.1.1.20"), {{11113}}},
          {"us", "modality", ip("10.1.1.21"), {}},
          {"monitor", "monitor", ip("10.1.1.30"), {{2576}}}};
}

GatewayOptions options() {
  GatewayOptions g;
  g.vlan_prefix = prefix("10.1.1.0/24");
  g.gateway_address = ip("10.1.1.1");
  g.core_networks = {prefix("10.2.2.0/24")};
  PassThroughFlow ntp;
  ntp.name = "ntp";
  ntp.devices = {"ct"};
  ntp.device_types = {"modality"};  // names ct again: one element only
  ntp.protocol = FlowProtocol::udp;
  ntp.ports = {123};
  ntp.destinations = {prefix("10.2.2.5/32"), prefix("10.2.2.0/24")};  // nested: /24 kept
  PassThroughFlow ping;
  ping.name = "ping";
  ping.device_types = {"monitor"};
  ping.protocol = FlowProtocol::icmp;
  ping.destinations = {prefix("10.2.2.0/24")};
  ping.to_gateway = true;
  g.pass_through = {ntp, ping};
  g.vlan_services = {{"ssh", 22}};
  return g;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(GatewayPlan, ResolvesDevicesTypesMappingAndNestedDestinations) {
  GatewayOptions g = options();
  g.nat = PrefixMap{prefix("10.1.1.0/24"), prefix("10.250.3.0/24")};
  const GatewayPlan p = make_gateway_plan(g, devices(), interception());
  EXPECT_EQ(p.table, "wardgate");
  EXPECT_EQ(p.devices,
            (std::vector<std::uint32_t>{ip("10.1.1.20"), ip("10.1.1.21"), ip("10.1.1.30")}));
  EXPECT_EQ(p.intercepted_ports, (std::vector<std::uint16_t>{104, 2575}));
  EXPECT_FALSE(p.intercept_unknown);
  // The core reaches published services at the mapped addresses.
  EXPECT_EQ(p.published,
            (std::vector<PublishedElement>{{ip("10.250.3.20"), 11113}, {ip("10.250.3.30"), 2576}}));
  // ct (named and typed) and us (typed): one element each, the /32 folded into the /24.
  EXPECT_EQ(p.pass_through,
            (std::vector<PassThroughElement>{{ip("10.1.1.20"), 17, prefix("10.2.2.0/24"), 123},
                                             {ip("10.1.1.21"), 17, prefix("10.2.2.0/24"), 123}}));
  EXPECT_EQ(p.echo, (std::vector<EchoElement>{{ip("10.1.1.30"), prefix("10.2.2.0/24")}}));
  EXPECT_EQ(p.echo_to_gateway, std::vector<std::uint32_t>{ip("10.1.1.30")});
  EXPECT_EQ(p.vlan_services, std::vector<std::uint16_t>{22});
  EXPECT_EQ(p.fwmark, 7u);
}

TEST(GatewayPlan, WithoutNatPublishedServicesAreAtTheDevicesOwnAddresses) {
  const GatewayPlan p = make_gateway_plan(options(), devices(), interception());
  ASSERT_EQ(p.published.size(), 2u);
  EXPECT_EQ(p.published[0].address, ip("10.1.1.20"));
  EXPECT_FALSE(p.nat.has_value());
}

TEST(GatewayRules, RendersOneAtomicReplacementOfTheInetTable) {
  const std::string s =
      render_gateway_script(make_gateway_plan(options(), devices(), interception()));
  EXPECT_EQ(
      s.rfind("add table inet wardgate\ndelete table inet wardgate\ntable inet wardgate {\n", 0),
      0u)
      << s;
  // Exactly one table definition: everything is in this one transaction.
  EXPECT_EQ(s.find("table inet wardgate {"), s.rfind("table inet wardgate {"));
  EXPECT_TRUE(has(s, "type filter hook forward priority filter; policy drop;"));
  EXPECT_TRUE(
      has(s, "meta l4proto tcp socket transparent 1 socket wildcard 0 meta mark set 7 accept"));
  EXPECT_TRUE(has(s,
                  "iifname @vlan_ifaces ip saddr @known_devices ip daddr != 10.1.1.0/24 tcp "
                  "dport { 104, 2575 } counter tproxy ip to :15001 meta mark set 7 accept"));
  EXPECT_TRUE(has(s, "iifname != @vlan_ifaces ip daddr . tcp dport @published counter tproxy"));
  EXPECT_TRUE(has(s, "10.1.1.20 . udp . 10.2.2.0/24 . 123"));
  EXPECT_TRUE(has(s, "10.1.1.20 . 11113"));
  EXPECT_TRUE(has(s, "ip daddr 10.1.1.1 tcp dport { 22 } counter accept"));
  for (const char* prefix : {"wg:deny-vlan", "wg:deny-core", "wg:unknown", "wg:spoof", "wg:ipv6",
                             "wg:no-listener", "wg:vlan-input"}) {
    EXPECT_TRUE(has(s, std::string("log prefix \"") + prefix + "\" group 7900")) << prefix;
  }
  EXPECT_TRUE(has(s, "reject with tcp reset"));
  // IPv6 to the appliance: router advertisements ignored, everything else recorded as IPv6.
  const std::string input = s.substr(s.find("chain vlan_input {"));
  EXPECT_LT(input.find("icmpv6 type nd-router-advert counter drop"),
            input.find("meta nfproto ipv6 goto deny_ipv6"));
  EXPECT_TRUE(has(s, "iifname @vlan_ifaces ip saddr 10.1.1.1 goto deny_spoof"));
  EXPECT_TRUE(
      has(s, "iifname @vlan_ifaces meta nfproto ipv4 ip saddr != 10.1.1.0/24 goto deny_spoof"));
  // The bypass: a timed set; its flows are marked and cut off when it ends.
  EXPECT_TRUE(has(s, "set bypass {\n    type ifname\n    flags timeout\n  }"));
  EXPECT_TRUE(has(s, "iifname @bypass ct mark set ct mark or 2147483648 counter accept"));
  EXPECT_TRUE(has(s, "ct mark and 2147483648 == 2147483648 counter drop"));
  // Without nat: no NAT chains; unknown devices denied: no interception for them.
  EXPECT_FALSE(has(s, "snat"));
  EXPECT_FALSE(has(s, "ip saddr 10.1.1.0/24 ip saddr != 10.1.1.1"));
}

TEST(GatewayRules, NatAndUnknownDevicesChangeTheRuleset) {
  GatewayOptions g = options();
  g.nat = PrefixMap{prefix("10.1.1.0/24"), prefix("10.250.3.0/24")};
  g.unknown_devices = UnknownDevices::audit;
  g.vlan_services.clear();
  const std::string s = render_gateway_script(make_gateway_plan(g, devices(), interception()));
  EXPECT_TRUE(has(s, "snat ip prefix to ip saddr map { 10.1.1.0/24 : 10.250.3.0/24 }"));
  EXPECT_TRUE(has(s, "dnat ip prefix to ip daddr map { 10.250.3.0/24 : 10.1.1.0/24 }"));
  EXPECT_TRUE(has(s, "10.250.3.20 . 11113"));
  EXPECT_TRUE(has(s,
                  "iifname @vlan_ifaces ip saddr 10.1.1.0/24 ip saddr != 10.1.1.1 ip daddr != "
                  "10.1.1.0/24 tcp dport { 104, 2575 } counter tproxy"));
  // Their new flows are logged (not dropped) so that the first-seen event has their MAC.
  EXPECT_TRUE(has(s, "ip saddr != @known_devices ct state new jump unknown_seen"));
  EXPECT_TRUE(has(s, "log prefix \"wg:unknown-seen\""));
  EXPECT_FALSE(has(s, "tcp dport { 22 }"));
}

TEST(GatewayRules, RemovalSucceedsWhetherOrNotTheTableExists) {
  EXPECT_EQ(render_gateway_remove_script("wg2"), "add table inet wg2\ndelete table inet wg2\n");
}

// The kernel is the judge of the syntax: apply in a throw-away network namespace.
std::string apply_twice(const std::string& script) {
  for (int i = 0; i < 2; ++i) {
    const NftResult r = run_nft_script(script);
    if (!r.ok) return r.error;
  }
  const NftResult listed = run_nft_script("list table inet wardgate\n");
  if (!listed.ok) return listed.error;
  const auto& out = listed.output;
  if (out.find("chain forward") != out.rfind("chain forward")) return "table stacked:\n" + out;
  if (out.find("policy drop") == std::string::npos) return "no drop policy:\n" + out;
  return {};
}

TEST(GatewayRules, TheKernelAcceptsTheRulesetAndReplacesIt) {
  GatewayOptions with_nat = options();
  with_nat.nat = PrefixMap{prefix("10.1.1.0/24"), prefix("10.250.3.0/24")};
  with_nat.unknown_devices = UnknownDevices::allow;
  for (const auto& g : {options(), with_nat}) {
    const std::string script =
        render_gateway_script(make_gateway_plan(g, devices(), interception()));
    std::string skip;
    const auto error = testing::in_new_netns([&] { return apply_twice(script); }, skip);
    if (!error) GTEST_SKIP() << skip;
    EXPECT_EQ(*error, "") << script;
  }
}

TEST(GatewayRules, AThousandDevicesStayOneSmallTransaction) {
  std::vector<DeviceName> many;
  GatewayOptions g = options();
  g.vlan_prefix = prefix("10.1.0.0/20");
  g.gateway_address = ip("10.1.0.1");
  for (int i = 0; i < 1000; ++i) {
    const std::string name = "d" + std::to_string(i);
    many.push_back({name,
                    i % 2 == 0 ? "modality" : "monitor",
                    g.vlan_prefix.address + 10 + static_cast<std::uint32_t>(i),
                    {{static_cast<std::uint16_t>(20000 + i)}}});
  }
  const GatewayPlan p = make_gateway_plan(g, many, interception());
  EXPECT_EQ(p.devices.size(), 1000u);
  EXPECT_EQ(p.published.size(), 1000u);
  const std::string script = render_gateway_script(p);
  // Rules do not grow with devices: count rule lines outside set elements.
  std::size_t rules = 0;
  for (std::size_t pos = 0; (pos = script.find(" accept\n", pos)) != std::string::npos; ++pos) {
    ++rules;
  }
  EXPECT_LT(rules, 30u);
  std::string skip;
  const auto error = testing::in_new_netns([&] { return apply_twice(script); }, skip);
  if (!error) GTEST_SKIP() << skip;
  EXPECT_EQ(*error, "");
}

}  // namespace
}  // namespace wardgate::nat
