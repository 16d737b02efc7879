#pragma once
// TCP MSS clamping on the tunnel: SYNs leaving into or arriving from the WireGuard interface get
// their MSS option lowered to what fits the tunnel's MTU, so devices behind wardgate (MTU 1500)
// never send segments the tunnel would have to fragment or drop (PMTU discovery is often broken
// in hospital networks). Its own nftables table, so wardgate's interception table stays separate.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wardgate::nat {

struct MssClamp {
  std::string table = "wardgate_tunnel";
  std::string interface;
  std::uint32_t mtu = 1420;
};

// Whether `name` may go into an nft script as a table or interface name: 1 to 15 characters
// (IFNAMSIZ - 1), letters, digits, '-', '_', '.'. Anything else (a quote, a brace, a newline)
// could end the quoted name and add rules of its own.
bool nft_safe_name(std::string_view name);

// The nft script that (re)creates the table; nullopt (refused) if the table or interface name is
// not nft_safe_name(). Exposed for the unit test.
std::optional<std::string> mss_clamp_script(const MssClamp& clamp);
// Empty on success, else the refusal or libnftables' message.
std::string install_mss_clamp(const MssClamp& clamp);
std::string remove_mss_clamp(const MssClamp& clamp);

}  // namespace wardgate::nat
