#include "nat/tproxy_rules.h"

#include <gtest/gtest.h>

namespace wardgate::nat {
namespace {

TEST(TproxyRules, RendersAnAtomicReplacementOfWardgatesTable) {
  TproxyRules r;
  r.table = "wardgate";
  r.ingress_interfaces = {"vlan0", "vlan1"};
  r.ports = {104, 2575};
  r.listener_port = 15001;
  r.fwmark = 7;
  EXPECT_EQ(render_install_script(r),
            "add table ip wardgate\n"
            "delete table ip wardgate\n"
            "table ip wardgate {\n"
            "  chain prerouting {\n"
            "    type filter hook prerouting priority mangle; policy accept;\n"
            "    meta l4proto tcp socket transparent 1 socket wildcard 0 meta mark set 7 accept\n"
            "    iifname { \"vlan0\", \"vlan1\" } tcp dport { 104, 2575 } tproxy to :15001 meta "
            "mark set 7 accept\n"
            "  }\n"
            "}\n");
}

TEST(TproxyRules, WithoutInterfacesInterceptsOnEveryInterface) {
  TproxyRules r;
  r.ports = {104};
  const std::string s = render_install_script(r);
  EXPECT_EQ(s.find("iifname"), std::string::npos);
  EXPECT_NE(s.find("tcp dport { 104 } tproxy to :15001"), std::string::npos);
}

TEST(TproxyRules, RemovalSucceedsWhetherOrNotTheTableExists) {
  EXPECT_EQ(render_remove_script("wg2"), "add table ip wg2\ndelete table ip wg2\n");
}

}  // namespace
}  // namespace wardgate::nat
