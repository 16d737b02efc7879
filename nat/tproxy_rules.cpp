#include "nat/tproxy_rules.h"

#include <sstream>

namespace wardgate::nat {
namespace {

template <typename T, typename F>
std::string set_of(const std::vector<T>& items, F&& format) {
  std::string out = "{ ";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ", ";
    out += format(items[i]);
  }
  return out + " }";
}

}  // namespace

std::string render_install_script(const TproxyRules& r) {
  std::ostringstream s;
  // "add" then "delete" makes the delete succeed whether or not the table exists; the three
  // commands run as one transaction.
  s << "add table ip " << r.table << "\n"
    << "delete table ip " << r.table << "\n"
    << "table ip " << r.table << " {\n"
    << "  chain prerouting {\n"
    << "    type filter hook prerouting priority mangle; policy accept;\n"
    // Packets of connections wardgate already owns (both legs) go to the local socket
    // (DESIGN.md pitfalls: TPROXY return traffic).
    // Not the listener itself (a wildcard socket): a SYN to listener_port of any address
    // would otherwise reach it.
    << "    meta l4proto tcp socket transparent 1 socket wildcard 0 meta mark set " << r.fwmark
    << " accept\n"
    << "    ";
  if (!r.ingress_interfaces.empty()) {
    s << "iifname "
      << set_of(r.ingress_interfaces, [](const std::string& n) { return "\"" + n + "\""; }) << " ";
  }
  s << "tcp dport " << set_of(r.ports, [](std::uint16_t p) { return std::to_string(p); })
    << " tproxy to :" << r.listener_port << " meta mark set " << r.fwmark << " accept\n"
    << "  }\n"
    << "}\n";
  return s.str();
}

std::string render_remove_script(const std::string& table) {
  return "add table ip " + table + "\ndelete table ip " + table + "\n";
}

}  // namespace wardgate::nat
