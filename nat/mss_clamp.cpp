#include "nat/mss_clamp.h"

#include "nat/nft_runner.h"

namespace wardgate::nat {

bool nft_safe_name(std::string_view name) {
  if (name.empty() || name.size() > 15) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string> mss_clamp_script(const MssClamp& c) {
  if (!nft_safe_name(c.table) || !nft_safe_name(c.interface)) return std::nullopt;
  // IPv4 header 20 + TCP 20; IPv6 header 40 + TCP 20. Only lowered, never raised.
  const std::string v4 = std::to_string(c.mtu - 40);
  const std::string v6 = std::to_string(c.mtu - 60);
  const std::string syn = "tcp flags & (syn | rst) == syn";
  const auto rules_for = [&](const char* direction) {
    const std::string match = std::string(direction) + " \"" + c.interface + "\" ";
    return "    " + match + "meta nfproto ipv4 " + syn + " tcp option maxseg size > " + v4 +
           " tcp option maxseg size set " + v4 + "\n" + "    " + match + "meta nfproto ipv6 " +
           syn + " tcp option maxseg size > " + v6 + " tcp option maxseg size set " + v6 + "\n";
  };
  // Forwarded connections are clamped both ways: a core server's SYN-ACK advertising 1460
  // would otherwise let the device send segments too big for the tunnel. wardgate's own
  // (proxied) connections get their MSS from the route's MTU already; the output chain covers
  // other locally originated connections into the tunnel.
  const std::string forward = rules_for("oifname") + rules_for("iifname");
  const std::string output = rules_for("oifname");
  // "add table" then "delete table" makes the script idempotent: a table left by a crashed run
  // is replaced in the same transaction.
  return "add table inet " + c.table + "\n" + "delete table inet " + c.table + "\n" +
         "table inet " + c.table + " {\n" +
         "  chain forward {\n    type filter hook forward priority mangle; policy accept;\n" +
         forward + "  }\n" +
         "  chain output {\n    type route hook output priority mangle; policy accept;\n" + output +
         "  }\n" + "}\n";
}

std::string install_mss_clamp(const MssClamp& c) {
  const std::optional<std::string> script = mss_clamp_script(c);
  if (!script) return "cannot install MSS clamping: table or interface name not allowed in nft";
  const auto result = run_nft_script(*script);
  return result.ok ? std::string() : "cannot install MSS clamping: " + result.error;
}

std::string remove_mss_clamp(const MssClamp& c) {
  if (!nft_safe_name(c.table)) return "cannot remove MSS clamping: table name not allowed in nft";
  const auto result =
      run_nft_script("add table inet " + c.table + "\ndelete table inet " + c.table + "\n");
  return result.ok ? std::string() : "cannot remove MSS clamping: " + result.error;
}

}  // namespace wardgate::nat
