#pragma once
// TCP MSS clamping on the tunnel: SYNs leaving into or arriving from the WireGuard interface get
// their MSS option lowered to what fits the tunnel's MTU, so devices behind wardgate (MTU 1500)
// never send segments the tunnel would have to fragment or drop (PMTU discovery is often broken
// in hospital networks). Its own nftables table, so wardgate's interception table stays separate.
#include <cstdint>
#include <string>

namespace wardgate::nat {

struct MssClamp {
  std::string table = "wardgate_tunnel";
  std::string interface;
  std::uint32_t mtu = 1420;
};

// The nft script that (re)creates the table; exposed for the unit test.
std::string mss_clamp_script(const MssClamp& clamp);
// Empty on success, else libnftables' message.
std::string install_mss_clamp(const MssClamp& clamp);
std::string remove_mss_clamp(const MssClamp& clamp);

}  // namespace wardgate::nat
