#include "tunnel/path_tuning.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "common/unique_fd.h"

namespace wardgate::tunnel {
namespace {

// WireGuard's data message overhead (whitepaper, 5.4.6): type and reserved (4), receiver index
// (4), counter (8), Poly1305 tag (16).
constexpr std::uint32_t kWireGuardOverhead = 32;
constexpr std::uint32_t kUdpHeader = 8;
constexpr std::uint32_t kIpv4Header = 20;
constexpr std::uint32_t kIpv6Header = 40;
constexpr std::uint32_t kMinimumTunnelMtu = 1280;  // IPv6's minimum link MTU (RFC 8200, 5)
constexpr unsigned kIffVnetHdr = 0x4000;           // IFF_VNET_HDR of <linux/if_tun.h>

// Through syscall(2): glibc 2.36's <sys/pidfd.h> declares these without extern "C" (fixed in
// 2.37), so C++ callers cannot link against them.
int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int pidfd_getfd(int pidfd, int fd) {
  return static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0));
}

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

using Fd = common::UniqueFd;

std::vector<std::string_view> split_whitespace(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <typename T>
std::optional<T> parse_number(std::string_view text, int base) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// (fd, link) of every descriptor of pid; empty with error set when the directory is unreadable.
std::vector<std::pair<int, std::string>> fd_links_of(int pid, std::string& error) {
  std::vector<std::pair<int, std::string>> out;
  const std::string dir_path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(dir_path.c_str());
  if (dir == nullptr) {
    error = dir_path + ": " + errno_text(errno);
    return out;
  }
  while (const dirent* entry = ::readdir(dir)) {
    auto fd = parse_number<int>(entry->d_name, 10);
    if (!fd) continue;  // "." and ".."
    std::array<char, 128> link{};
    const std::string path = dir_path + "/" + entry->d_name;
    ssize_t n = ::readlink(path.c_str(), link.data(), link.size());
    if (n > 0 && static_cast<std::size_t>(n) < link.size())
      out.emplace_back(*fd, std::string(link.data(), n));
  }
  ::closedir(dir);
  return out;
}

int socket_option(int fd, int option) {
  int value = 0;
  socklen_t length = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, option, &value, &length) != 0) return -1;
  return value;
}

void tune_udp_buffers(const TuningConfig& config, const TuningTarget& target,
                      TuningReport& report) {
  const std::string step = "UDP socket buffers: ";
  if (target.daemon_pid == 0) {
    report.skipped.push_back(step +
                             "kernel backend; the wireguard module decrypts in the UDP "
                             "encapsulation hook, so no socket queue fills up");
    return;
  }
  if (config.udp_buffer_bytes == 0) {
    report.skipped.push_back(step + "udp_buffer_bytes 0 keeps the daemon's own sizes");
    return;
  }
  if (target.listen_port == 0) {
    report.skipped.push_back(step + "the daemon's listen port is not known");
    return;
  }
  const std::string daemon = "PID " + std::to_string(target.daemon_pid);
  std::vector<UdpSocketRow> rows;
  for (const char* table : {"udp", "udp6"}) {
    // The daemon's own view: its network namespace's sockets.
    auto text = read_file("/proc/" + std::to_string(target.daemon_pid) + "/net/" + table);
    if (!text) continue;
    auto parsed = parse_proc_net_udp(*text);
    rows.insert(rows.end(), parsed.begin(), parsed.end());
  }
  std::string error;
  auto links = fd_links_of(target.daemon_pid, error);
  if (!error.empty()) {
    report.skipped.push_back(step + "cannot list the descriptors of " + daemon + " (" + error +
                             ")");
    return;
  }
  auto fds = pick_udp_sockets(rows, target.listen_port, links);
  if (fds.empty()) {
    report.skipped.push_back(step + daemon + " has no UDP socket bound to port " +
                             std::to_string(target.listen_port));
    return;
  }
  Fd pidfd(pidfd_open(target.daemon_pid));
  if (!pidfd.ok()) {
    report.skipped.push_back(step + "pidfd_open(" + daemon + "): " + errno_text(errno));
    return;
  }
  // setsockopt takes an int, and the kernel caps a request at INT_MAX / 2 (it doubles it).
  const int bytes = static_cast<int>(std::min<std::uint32_t>(config.udp_buffer_bytes, INT_MAX / 2));
  for (int fd : fds) {
    const std::string which =
        daemon + " fd " + std::to_string(fd) + " (port " + std::to_string(target.listen_port) + ")";
    Fd copy(pidfd_getfd(pidfd.get(), fd));
    if (!copy.ok()) {
      report.skipped.push_back(
          fmt::format("{}pidfd_getfd({}): {}", step, which, errno_text(errno)));
      continue;
    }
    const auto link =
        std::find_if(links.begin(), links.end(), [fd](const auto& l) { return l.first == fd; });
    struct stat st {};
    // The daemon may have closed and reused the descriptor since /proc was read.
    if (::fstat(copy.get(), &st) != 0 || link == links.end() ||
        socket_inode_of_link(link->second) != static_cast<std::uint64_t>(st.st_ino)) {
      report.skipped.push_back(step + which + " changed while being tuned; run again");
      continue;
    }
    const int rcv_before = socket_option(copy.get(), SO_RCVBUF);
    const int snd_before = socket_option(copy.get(), SO_SNDBUF);
    // FORCE ignores net.core.rmem_max/wmem_max (global sysctls); needs CAP_NET_ADMIN.
    if (::setsockopt(copy.get(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0 ||
        ::setsockopt(copy.get(), SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0) {
      report.skipped.push_back(
          fmt::format("{}SO_RCVBUFFORCE/SO_SNDBUFFORCE on {}: {}", step, which, errno_text(errno)));
      continue;
    }
    const auto row = std::find_if(rows.begin(), rows.end(), [&st](const UdpSocketRow& r) {
      return r.inode == static_cast<std::uint64_t>(st.st_ino);
    });
    const std::uint64_t drops = row == rows.end() ? 0 : row->drops;
    // The kernel reports twice what was asked: half of it is its bookkeeping allowance.
    report.applied.push_back(step + which + ": receive " + std::to_string(rcv_before) + " -> " +
                             std::to_string(socket_option(copy.get(), SO_RCVBUF)) +
                             " bytes, send " + std::to_string(snd_before) + " -> " +
                             std::to_string(socket_option(copy.get(), SO_SNDBUF)) + " bytes (" +
                             std::to_string(drops) + " datagrams dropped before)");
  }
}

// An ioctl on the interface through a throwaway socket of the caller's network namespace.
bool interface_ioctl(unsigned long request, ifreq& ifr, int& error) {
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.ok() || ::ioctl(sock.get(), request, &ifr) != 0) {
    error = errno;
    return false;
  }
  return true;
}

ifreq request_for(const std::string& interface) {
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, interface.data(), std::min(interface.size(), sizeof ifr.ifr_name - 1));
  return ifr;
}

void tune_txqueuelen(const TuningConfig& config, const TuningTarget& target, TuningReport& report) {
  const std::string step = "txqueuelen of " + target.interface + ": ";
  if (config.txqueuelen == 0) {
    report.skipped.push_back(step + "0 in configuration keeps the device's");
    return;
  }
  ifreq ifr = request_for(target.interface);
  int error = 0;
  if (!interface_ioctl(SIOCGIFTXQLEN, ifr, error)) {
    report.skipped.push_back(step + "SIOCGIFTXQLEN: " + errno_text(error));
    return;
  }
  const int before = ifr.ifr_qlen;
  const int wanted = static_cast<int>(std::min<std::uint32_t>(config.txqueuelen, INT_MAX));
  if (before == wanted) {
    report.applied.push_back(step + "already " + std::to_string(before));
    return;
  }
  ifr.ifr_qlen = wanted;
  if (!interface_ioctl(SIOCSIFTXQLEN, ifr, error)) {
    report.skipped.push_back(step + "SIOCSIFTXQLEN " + std::to_string(wanted) + ": " +
                             errno_text(error));
    return;
  }
  report.applied.push_back(step + std::to_string(before) + " -> " + std::to_string(wanted));
}

// Reads (and if off, turns on) one of the interface's legacy ethtool flags (GSO, GRO).
void ensure_ethtool_flag(const std::string& interface, const char* name, std::uint32_t get_cmd,
                         std::uint32_t set_cmd, TuningReport& report) {
  const std::string step = std::string(name) + " on " + interface + ": ";
  ethtool_value value{};
  value.cmd = get_cmd;
  ifreq ifr = request_for(interface);
  ifr.ifr_data = reinterpret_cast<char*>(&value);
  int error = 0;
  if (!interface_ioctl(SIOCETHTOOL, ifr, error)) {
    report.skipped.push_back(step + "cannot read (" + errno_text(error) + ")");
    return;
  }
  if (value.data != 0) {
    report.applied.push_back(step + "already on");
    return;
  }
  value = ethtool_value{set_cmd, 1};
  ifr = request_for(interface);
  ifr.ifr_data = reinterpret_cast<char*>(&value);
  if (!interface_ioctl(SIOCETHTOOL, ifr, error)) {
    report.skipped.push_back(step + "cannot turn on (" + errno_text(error) + ")");
    return;
  }
  report.applied.push_back(step + "off -> on");
}

void tune_offloads(const TuningConfig& config, const TuningTarget& target, TuningReport& report) {
  if (!config.offloads) {
    report.skipped.emplace_back("offloads: disabled in configuration");
    return;
  }
  // Software GSO/GRO cost nothing to keep on: TCP then builds 64 KiB segments that are split
  // only where the packet leaves the stack.
  ensure_ethtool_flag(target.interface, "generic segmentation offload", ETHTOOL_GGSO, ETHTOOL_SGSO,
                      report);
  ensure_ethtool_flag(target.interface, "generic receive offload", ETHTOOL_GGRO, ETHTOOL_SGRO,
                      report);
  if (target.daemon_pid == 0) return;
  // A userspace daemon can take TSO-sized packets from its TUN device (and use UDP GSO/GRO)
  // only if it opened the device with IFF_VNET_HDR and negotiated offloads itself (wireguard-go
  // 0.0.20230223 and later). /sys shows the namespace ip netns exec mounted for us.
  auto flags_text = read_file("/sys/class/net/" + target.interface + "/tun_flags");
  std::optional<unsigned> flags;
  if (flags_text) {
    std::string_view text = *flags_text;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    if (text.starts_with("0x")) text.remove_prefix(2);
    flags = parse_number<unsigned>(text, 16);
  }
  if (!flags) {
    report.skipped.push_back("TUN offloads (TSO, UDP GSO/GRO): " + target.interface +
                             " shows no tun_flags in /sys; cannot tell what the daemon negotiated");
  } else if ((*flags & kIffVnetHdr) == 0) {
    report.skipped.push_back(
        "TUN offloads (TSO, UDP GSO/GRO): the daemon opened " + target.interface +
        " without IFF_VNET_HDR, so it reads and encrypts every packet singly; only a daemon "
        "with offload support (wireguard-go 0.0.20230223 or later) can use them");
  } else {
    report.skipped.push_back("TUN offloads (TSO, UDP GSO/GRO): the daemon opened " +
                             target.interface + " with IFF_VNET_HDR and manages them itself");
  }
}

}  // namespace

std::vector<UdpSocketRow> parse_proc_net_udp(std::string_view text) {
  std::vector<UdpSocketRow> rows;
  bool header = true;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (header) {
      header = false;
      continue;
    }
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    // ref pointer drops
    const auto fields = split_whitespace(line);
    if (fields.size() < 13) continue;
    const auto colon = fields[1].rfind(':');
    if (colon == std::string_view::npos) continue;
    auto port = parse_number<std::uint16_t>(fields[1].substr(colon + 1), 16);
    auto inode = parse_number<std::uint64_t>(fields[9], 10);
    auto drops = parse_number<std::uint64_t>(fields[12], 10);
    if (!port || !inode || !drops) continue;
    rows.push_back({*port, *inode, *drops});
  }
  return rows;
}

std::optional<std::uint64_t> socket_inode_of_link(std::string_view link) {
  constexpr std::string_view kPrefix = "socket:[";
  if (!link.starts_with(kPrefix) || !link.ends_with(']')) return std::nullopt;
  return parse_number<std::uint64_t>(link.substr(kPrefix.size(), link.size() - kPrefix.size() - 1),
                                     10);
}

std::vector<int> pick_udp_sockets(const std::vector<UdpSocketRow>& rows, std::uint16_t port,
                                  const std::vector<std::pair<int, std::string>>& fd_links) {
  std::vector<int> fds;
  for (const auto& [fd, link] : fd_links) {
    const auto inode = socket_inode_of_link(link);
    if (!inode || *inode == 0) continue;
    const bool bound = std::any_of(rows.begin(), rows.end(), [&](const UdpSocketRow& row) {
      return row.inode == *inode && row.local_port == port;
    });
    if (bound) fds.push_back(fd);
  }
  std::sort(fds.begin(), fds.end());
  fds.erase(std::unique(fds.begin(), fds.end()), fds.end());
  return fds;
}

std::uint32_t tunnel_mtu_for_underlay(std::uint32_t underlay_mtu, bool ipv6_underlay) {
  const std::uint32_t overhead =
      kWireGuardOverhead + kUdpHeader + (ipv6_underlay ? kIpv6Header : kIpv4Header);
  if (underlay_mtu < overhead + kMinimumTunnelMtu) return 0;
  return underlay_mtu - overhead;
}

std::optional<std::uint32_t> underlay_path_mtu(const Endpoint& endpoint) {
  const bool v6 = endpoint.address.family == AF_INET6;
  Fd sock(::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.ok()) return std::nullopt;
  sockaddr_storage addr{};
  socklen_t length = 0;
  if (v6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&addr);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(endpoint.port);
    std::memcpy(&sin6->sin6_addr, endpoint.address.bytes.data(), 16);
    length = sizeof *sin6;
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&addr);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(endpoint.port);
    std::memcpy(&sin->sin_addr, endpoint.address.bytes.data(), 4);
    length = sizeof *sin;
  }
  // connect() on a UDP socket only looks up the route; nothing is sent.
  if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), length) != 0) {
    return std::nullopt;
  }
  int mtu = 0;
  socklen_t mtu_length = sizeof mtu;
  if (::getsockopt(sock.get(), v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu,
                   &mtu_length) != 0 ||
      mtu <= 0) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(mtu);
}

TuningReport tune_path(const TuningConfig& config, const TuningTarget& target) {
  TuningReport report;
  if (!config.enabled) {
    report.skipped.emplace_back("path tuning: disabled in configuration");
    return report;
  }
  tune_udp_buffers(config, target, report);
  tune_txqueuelen(config, target, report);
  tune_offloads(config, target, report);
  return report;
}

}  // namespace wardgate::tunnel
