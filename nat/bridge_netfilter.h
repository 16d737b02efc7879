#pragma once
// Bridge netfilter (br_netfilter, loaded by Docker and others) passes bridged frames through the
// IP hooks. With it on, a TPROXYed SYN arriving on a bridged VLAN loses its socket and the kernel
// resets it: interception fails silently. wardgate turns it off in its network namespace at start.
#include <string>

namespace wardgate::nat {

// Sets net.bridge.bridge-nf-call-{iptables,ip6tables,arptables} to 0 where they exist and are
// not 0. Returns what it changed ("" when nothing was on or br_netfilter is not loaded); `error`
// says what could not be changed.
std::string disable_bridge_netfilter(std::string& error);

}  // namespace wardgate::nat
