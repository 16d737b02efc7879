#include "nat/mss_clamp.h"

#include <gtest/gtest.h>

namespace wardgate::nat {
namespace {

// The nft script is the whole contract with the kernel; installing it needs CAP_NET_ADMIN and
// is covered by the integration lab. Here: the exact text for the default tunnel MTU. (This
// text was loaded twice with `nft -f` in a throwaway network namespace, nftables 1.0.6: both
// accepted, the second replacing the first.)
TEST(MssClamp, ScriptForMtu1420) {
  MssClamp c;
  c.interface = "wg0";
  c.mtu = 1420;
  // 1420 - 20 (IPv4) - 20 (TCP) = 1380; 1420 - 40 (IPv6) - 20 (TCP) = 1360.
  EXPECT_EQ(mss_clamp_script(c),
            "add table inet wardgate_tunnel\n"
            "delete table inet wardgate_tunnel\n"
            "table inet wardgate_tunnel {\n"
            "  chain forward {\n"
            "    type filter hook forward priority mangle; policy accept;\n"
            "    oifname \"wg0\" meta nfproto ipv4 tcp flags & (syn | rst) == syn tcp option "
            "maxseg size > 1380 tcp option maxseg size set 1380\n"
            "    oifname \"wg0\" meta nfproto ipv6 tcp flags & (syn | rst) == syn tcp option "
            "maxseg size > 1360 tcp option maxseg size set 1360\n"
            "    iifname \"wg0\" meta nfproto ipv4 tcp flags & (syn | rst) == syn tcp option "
            "maxseg size > 1380 tcp option maxseg size set 1380\n"
            "    iifname \"wg0\" meta nfproto ipv6 tcp flags & (syn | rst) == syn tcp option "
            "maxseg size > 1360 tcp option maxseg size set 1360\n"
            "  }\n"
            "  chain output {\n"
            "    type route hook output priority mangle; policy accept;\n"
            "    oifname \"wg0\" meta nfproto ipv4 tcp flags & (syn | rst) == syn tcp option "
            "maxseg size > 1380 tcp option maxseg size set 1380\n"
            "    oifname \"wg0\" meta nfproto ipv6 tcp flags & (syn | rst) == syn tcp option "
            "maxseg size > 1360 tcp option maxseg size set 1360\n"
            "  }\n"
            "}\n");
}

TEST(MssClamp, ValuesFollowTheMtuAndTheTableAndInterfaceAreUsed) {
  MssClamp c;
  c.table = "wg_test";
  c.interface = "tun7";
  c.mtu = 1280;  // the IPv6 minimum, the smallest MTU the configuration allows
  const std::string s = mss_clamp_script(c).value_or("");
  EXPECT_NE(s.find("size > 1240 tcp option maxseg size set 1240\n"), std::string::npos) << s;
  EXPECT_NE(s.find("size > 1220 tcp option maxseg size set 1220\n"), std::string::npos) << s;
  EXPECT_EQ(s.find("1380"), std::string::npos) << s;
  EXPECT_EQ(s.rfind("add table inet wg_test\ndelete table inet wg_test\n", 0), 0u) << s;
  EXPECT_NE(s.find("oifname \"tun7\""), std::string::npos);
  EXPECT_NE(s.find("iifname \"tun7\""), std::string::npos);
  EXPECT_EQ(s.find("wg0"), std::string::npos);
}

// An interface name reaches the script inside quotes: one that could end them is refused, so no
// name can add rules of its own (or delete other tables) to the script.
TEST(MssClamp, NamesThatCouldEscapeTheScriptAreRefused) {
  for (const char* name :
       {"wg0\" oifname \"eth0", "wg0\"", "wg0;", "wg0}", "wg0\ndelete table inet x", "wg 0", "wg{0",
        "wg\\0", "", "wg0123456789abcd"}) {
    MssClamp c;
    c.interface = name;
    EXPECT_FALSE(mss_clamp_script(c).has_value()) << name;
    EXPECT_NE(install_mss_clamp(c), "") << name;
  }
  MssClamp table;
  table.interface = "wg0";
  table.table = "x { }\ndelete table inet wardgate";
  EXPECT_FALSE(mss_clamp_script(table).has_value());
  for (const char* name : {"wg0", "wg-core_1.a", "wg012345678abcd"}) {
    MssClamp c;
    c.interface = name;
    EXPECT_TRUE(mss_clamp_script(c).has_value()) << name;
  }
}

}  // namespace
}  // namespace wardgate::nat
