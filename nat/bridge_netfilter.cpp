#include "nat/bridge_netfilter.h"

#include <array>
#include <fstream>

namespace wardgate::nat {

std::string disable_bridge_netfilter(std::string& error) {
  static constexpr std::array<const char*, 3> kKeys{
      "bridge-nf-call-iptables", "bridge-nf-call-ip6tables", "bridge-nf-call-arptables"};
  std::string changed;
  for (const char* key : kKeys) {
    const std::string path = std::string("/proc/sys/net/bridge/") + key;
    std::ifstream in(path);
    std::string value;
    if (!(in >> value) || value == "0") continue;  // absent (no br_netfilter) or already off
    std::ofstream out(path);
    out << "0\n";
    out.flush();
    if (!out) {
      error += (error.empty() ? "" : "; ") + std::string("cannot set net.bridge.") + key + " to 0";
      continue;
    }
    changed += (changed.empty() ? "" : ", ") + std::string("net.bridge.") + key + "=0";
  }
  return changed;
}

}  // namespace wardgate::nat
