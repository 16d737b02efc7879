#pragma once
// Path tuning of a WireGuard interface once its backend is up: the backend daemon's UDP socket
// buffers, the interface's transmit queue length and its segmentation/receive offloads. Each step
// reports what it did or why it was skipped, for the log and `wardgate tunnel status`.
//
// Why per socket and not sysctls: net.core.{r,w}mem_{max,default} are global on Linux 6.x (read
// only inside a network namespace, each namespace sees the initial namespace's values), so raising
// them would resize every socket of the host. wardgate instead takes a duplicate of the daemon's
// own UDP sockets (pidfd_getfd) and sets SO_RCVBUFFORCE/SO_SNDBUFFORCE on them, which ignores
// rmem_max/wmem_max. Debian's wireguard-go (0.0.20220316) never sizes its sockets: at the 208 KiB
// default its receive queue overflows (UdpRcvbufErrors) under a single TCP stream.
//
// The daemon opens new sockets whenever its port or fwmark changes or the interface goes down and
// up again, so tune_path() must run again after such a change; it is idempotent.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tunnel/tunnel_config.h"

namespace wardgate::tunnel {

struct TuningTarget {
  std::string interface;
  int daemon_pid = 0;  // UAPI daemon whose UDP sockets to size; 0 for the kernel backend
  std::uint16_t listen_port = 0;
};

struct TuningReport {
  std::vector<std::string> applied;  // "txqueuelen of wg0: 500 -> 1000"
  std::vector<std::string> skipped;  // "offloads: ... (why)"
};

// Runs every step of the configuration against the target; never throws. Needs CAP_NET_ADMIN
// (SO_*BUFFORCE, SIOCSIFTXQLEN, ethtool) and the right to pidfd_getfd the daemon (CAP_SYS_PTRACE,
// or the daemon is our child); what the caller lacks is reported as skipped, with the error.
TuningReport tune_path(const TuningConfig& config, const TuningTarget& target);

// -- pure helpers (unit-tested) ---------------------------------------------------------------

// One row of /proc/<pid>/net/udp or udp6.
struct UdpSocketRow {
  std::uint16_t local_port = 0;
  std::uint64_t inode = 0;
  std::uint64_t drops = 0;  // datagrams this socket dropped (its queue was full)
};

// Parses the text of /proc/net/udp or /proc/net/udp6 (header line first); malformed rows are
// left out.
std::vector<UdpSocketRow> parse_proc_net_udp(std::string_view text);

// The inode of a /proc/<pid>/fd link "socket:[12345]"; nullopt for anything else.
std::optional<std::uint64_t> socket_inode_of_link(std::string_view link);

// The descriptors among fd_links (fd, readlink text) that are UDP sockets bound to port, in fd
// order. wireguard-go binds one IPv4 and one IPv6 socket to its listen port.
std::vector<int> pick_udp_sockets(const std::vector<UdpSocketRow>& rows, std::uint16_t port,
                                  const std::vector<std::pair<int, std::string>>& fd_links);

// The largest tunnel MTU an underlay path MTU carries without fragmenting the outer packets:
// WireGuard adds 32 bytes (type, index, counter, tag) plus 8 UDP and 20 IPv4 or 40 IPv6 bytes.
// wg-quick's 1420 is 1500 minus the IPv6 overhead. 0 when the underlay is too small (< 1280 + it).
std::uint32_t tunnel_mtu_for_underlay(std::uint32_t underlay_mtu, bool ipv6_underlay);

// The kernel's path MTU towards endpoint (its route's MTU, or a learnt PMTU), from a connected
// UDP socket's IP_MTU/IPV6_MTU in the caller's network namespace; sends nothing. nullopt when
// there is no route.
std::optional<std::uint32_t> underlay_path_mtu(const Endpoint& endpoint);

}  // namespace wardgate::tunnel
