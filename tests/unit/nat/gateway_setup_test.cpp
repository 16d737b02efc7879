#include "nat/gateway_setup.h"

#include <gtest/gtest.h>

#include "nat/nft_runner.h"
#include "nat/tproxy_rules.h"
#include "tests/unit/nat/netns_child.h"

namespace wardgate::nat {
namespace {

GatewayPlan plan() {
  GatewayPlan p;
  p.table = "wgtest";
  p.vlan_interfaces = {"vlan0"};
  p.vlan_prefix = Ipv4Prefix::parse("10.1.1.0/24").value();
  p.gateway_address = parse_ipv4("10.1.1.1").value();
  p.devices = {parse_ipv4("10.1.1.20").value()};
  p.intercepted_ports = {104};
  p.route = PolicyRoute{7, 107, 1007};
  p.fwmark = 7;
  return p;
}

bool table_present(const std::string& family, const std::string& table) {
  return run_nft_script("list table " + family + " " + table + "\n").ok;
}

TEST(BypassReason, IsMadeSafeForAKernelComment) {
  EXPECT_EQ(sanitize_bypass_reason("PACS migration, ticket #4711"), "PACS migration, ticket #4711");
  EXPECT_EQ(sanitize_bypass_reason("say \"hi\" \\ bye"), "say 'hi' / bye");
  EXPECT_EQ(sanitize_bypass_reason("a\nb\tc\x7f"), "a?b?c?");
  EXPECT_EQ(sanitize_bypass_reason("Ger\xc3\xa4t"), "Ger??t");
  EXPECT_EQ(sanitize_bypass_reason(std::string(500, 'x')).size(), kMaxBypassReason);
}

TEST(BypassListing, ReadsNftJson) {
  const auto list = parse_bypass_listing(
      R"({"nftables": [{"metainfo": {"version": "1.0.6"}}, {"set": {"family": "inet", "name":
      "bypass", "table": "wardgate", "type": "ifname", "flags": ["timeout"], "elem": [{"elem":
      {"val": "vlan0", "timeout": 1800, "expires": 1799, "comment": "maintenance"}}]}}]})");
  EXPECT_EQ(list.error, "");
  EXPECT_EQ(list.entries, (std::vector<BypassEntry>{{"vlan0", 1799, "maintenance"}}));
  const auto empty = parse_bypass_listing(
      R"({"nftables": [{"set": {"name": "bypass", "type": "ifname", "flags": ["timeout"]}}]})");
  EXPECT_EQ(empty.error, "");
  EXPECT_TRUE(empty.entries.empty());
  EXPECT_NE(parse_bypass_listing("not json").error, "");
  EXPECT_NE(parse_bypass_listing(R"({"nftables": [{"set": {"elem": [7]}}]})").error, "");
}

TEST(BypassArguments, AreCheckedBeforeTheKernelIsAsked) {
  EXPECT_NE(add_bypass("wgtest", "vlan0;x", 10, "r"), "");
  EXPECT_NE(add_bypass("wgtest", "vlan0", 0, "r"), "");
  EXPECT_NE(add_bypass("wgtest", "vlan0", kMaxBypassMinutes + 1, "r"), "");
  EXPECT_NE(add_bypass("wgtest", "vlan0", 10, "  "), "");
}

// Everything a maintenance session does, in a throw-away namespace.
std::string install_bypass_remove() {
  // An interception-only table from an earlier mode, which install must replace.
  if (!run_nft_script(render_install_script(TproxyRules{"wgtest", {"vlan0"}, {104}, 15001, 7}))
           .ok) {
    return "cannot create the legacy table";
  }
  if (auto e = install_gateway(plan()); !e.empty()) return "install: " + e;
  if (!table_present("inet", "wgtest")) return "no inet table after install";
  if (table_present("ip", "wgtest")) return "the legacy ip table survived install";
  if (!policy_route_present(plan().route)) return "no policy route after install";
  if (auto e = install_gateway(plan()); !e.empty()) return "second install: " + e;

  auto list = list_bypass("wgtest");
  if (!list.error.empty() || !list.entries.empty()) return "bypass not empty at start";
  if (auto e = add_bypass("wgtest", "vlan0", 30, "PACS \"migration\""); !e.empty()) return e;
  list = list_bypass("wgtest");
  if (list.entries.size() != 1) return "expected one bypass: " + list.error;
  const auto& b = list.entries[0];
  if (b.interface != "vlan0" || b.reason != "PACS 'migration'" || b.expires_in_seconds > 1800 ||
      b.expires_in_seconds < 1790) {
    return "unexpected bypass " + b.interface + " " + std::to_string(b.expires_in_seconds) + " " +
           b.reason;
  }
  // A second bypass on the interface replaces the first.
  if (auto e = add_bypass("wgtest", "vlan0", 5, "shorter"); !e.empty()) return e;
  list = list_bypass("wgtest");
  if (list.entries.size() != 1 || list.entries[0].expires_in_seconds > 300 ||
      list.entries[0].reason != "shorter") {
    return "the bypass was not replaced";
  }
  // A restart (install again) keeps the running bypass with its remaining time.
  if (auto e = install_gateway(plan()); !e.empty()) return "install during bypass: " + e;
  list = list_bypass("wgtest");
  if (list.entries.size() != 1 || list.entries[0].expires_in_seconds > 300 ||
      list.entries[0].expires_in_seconds < 290 || list.entries[0].reason != "shorter") {
    return "the bypass did not survive the restart";
  }
  if (auto e = end_bypass("wgtest"); !e.empty()) return e;
  if (!list_bypass("wgtest").entries.empty()) return "bypass still listed after end_bypass";

  if (auto e = remove_gateway("wgtest", plan().route); !e.empty()) return "remove: " + e;
  if (table_present("inet", "wgtest")) return "table left after remove";
  if (policy_route_present(plan().route)) return "policy route left after remove";
  if (auto e = remove_gateway("wgtest", plan().route); !e.empty()) return "second remove: " + e;
  if (list_bypass("wgtest").error.empty()) return "listing a missing table should fail";
  return {};
}

TEST(GatewaySetup, InstallsReplacesBypassesAndRemovesOnRequest) {
  std::string skip;
  const auto error = testing::in_new_netns(install_bypass_remove, skip);
  if (!error) GTEST_SKIP() << skip;
  EXPECT_EQ(*error, "");
}

}  // namespace
}  // namespace wardgate::nat
