#include "tunnel/path_tuning.h"

#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace wardgate::tunnel {
namespace {

// Two rows as Linux 6.x prints them: wireguard-go's IPv4 socket on 51820 (0xCA6C) with drops,
// and a resolver socket on 53.
constexpr const char* kUdp =
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode ref pointer drops\n"
    "  151: 00000000:CA6C 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 "
    "2921785 2 0000000000000000 39072\n"
    "  733: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 "
    "18231 2 0000000000000000 0\n";
constexpr const char* kUdp6 =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
    "  151: 00000000000000000000000000000000:CA6C 00000000000000000000000000000000:0000 07 "
    "00000000:00000000 00:00000000 00000000     0        0 2921786 2 0000000000000000 0\n";

TEST(PathTuning, ParsesIpv4AndIpv6RowsOfProcNetUdp) {
  auto v4 = parse_proc_net_udp(kUdp);
  ASSERT_EQ(v4.size(), 2u);
  EXPECT_EQ(v4[0].local_port, 51820);
  EXPECT_EQ(v4[0].inode, 2921785u);
  EXPECT_EQ(v4[0].drops, 39072u);
  EXPECT_EQ(v4[1].local_port, 53);
  EXPECT_EQ(v4[1].inode, 18231u);
  auto v6 = parse_proc_net_udp(kUdp6);
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(v6[0].local_port, 51820);
  EXPECT_EQ(v6[0].inode, 2921786u);
}

TEST(PathTuning, LeavesOutMalformedRowsAndTheHeader) {
  const std::string text = std::string(kUdp) +
                           "  9: 00000000:ZZZZ 00000000:0000 07 00000000:00000000 00:00000000 "
                           "00000000 0 0 77 2 0000000000000000 0\n"
                           "  10: 00000000:0035 truncated\n"
                           "  11: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 "
                           "00000000 0 0 notanumber 2 0000000000000000 0";
  auto rows = parse_proc_net_udp(text);
  EXPECT_EQ(rows.size(), 2u);
  EXPECT_TRUE(parse_proc_net_udp("").empty());
  EXPECT_TRUE(
      parse_proc_net_udp(std::string(kUdp).substr(0, std::string(kUdp).find('\n'))).empty());
}

TEST(PathTuning, ReadsTheInodeOfSocketLinksOnly) {
  EXPECT_EQ(socket_inode_of_link("socket:[2921785]"), 2921785u);
  EXPECT_EQ(socket_inode_of_link("socket:[]"), std::nullopt);
  EXPECT_EQ(socket_inode_of_link("socket:[12a]"), std::nullopt);
  EXPECT_EQ(socket_inode_of_link("socket:[12"), std::nullopt);
  EXPECT_EQ(socket_inode_of_link("pipe:[2921785]"), std::nullopt);
  EXPECT_EQ(socket_inode_of_link("/dev/net/tun"), std::nullopt);
}

TEST(PathTuning, PicksTheDaemonsSocketsBoundToTheListenPort) {
  auto rows = parse_proc_net_udp(kUdp);
  auto v6 = parse_proc_net_udp(kUdp6);
  rows.insert(rows.end(), v6.begin(), v6.end());
  const std::vector<std::pair<int, std::string>> links = {
      {18, "socket:[2921786]"}, {3, "socket:[18231]"},  {5, "/dev/net/tun"},
      {17, "socket:[2921785]"}, {9, "socket:[999999]"},  // a netlink socket: not in the table
      {17, "socket:[2921785]"}};
  EXPECT_EQ(pick_udp_sockets(rows, 51820, links), (std::vector<int>{17, 18}));
  EXPECT_EQ(pick_udp_sockets(rows, 53, links), (std::vector<int>{3}));
  EXPECT_TRUE(pick_udp_sockets(rows, 51821, links).empty());
  EXPECT_TRUE(pick_udp_sockets({}, 51820, links).empty());
}

TEST(PathTuning, TunnelMtuLeavesRoomForTheOuterHeaders) {
  EXPECT_EQ(tunnel_mtu_for_underlay(1500, true), 1420u);  // wg-quick's default
  EXPECT_EQ(tunnel_mtu_for_underlay(1500, false), 1440u);
  EXPECT_EQ(tunnel_mtu_for_underlay(9000, true), 8920u);
  EXPECT_EQ(tunnel_mtu_for_underlay(1360, true), 1280u);
  EXPECT_EQ(tunnel_mtu_for_underlay(1359, true), 0u);
  EXPECT_EQ(tunnel_mtu_for_underlay(0, false), 0u);
}

TEST(PathTuning, DisabledOrKernelBackendSaysWhatItSkipped) {
  TuningConfig off;
  off.enabled = false;
  auto report = tune_path(off, {"wg0", 1, 51820});
  EXPECT_TRUE(report.applied.empty());
  ASSERT_EQ(report.skipped.size(), 1u);
  EXPECT_NE(report.skipped[0].find("disabled"), std::string::npos);

  TuningConfig on;
  on.txqueuelen = 0;
  on.offloads = false;
  report = tune_path(on, {"wg0", 0, 51820});
  EXPECT_TRUE(report.applied.empty());
  ASSERT_EQ(report.skipped.size(), 3u);
  EXPECT_NE(report.skipped[0].find("kernel backend"), std::string::npos);
  EXPECT_NE(report.skipped[1].find("keeps the device's"), std::string::npos);
  EXPECT_NE(report.skipped[2].find("offloads: disabled"), std::string::npos);
}

// -- tune_path on real sockets, in a child process inside a network namespace of its own --------
int socket_option(int fd, int option) {
  int value = 0;
  socklen_t length = sizeof value;
  return ::getsockopt(fd, SOL_SOCKET, option, &value, &length) == 0 ? value : -1;
}

int bound_udp_socket(int family, std::uint16_t port) {
  int fd = ::socket(family, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  if (family == AF_INET6) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);  // as wireguard-go does
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    return ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? fd : -1;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  return ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? fd : -1;
}

// Brings lo up with the given MTU (in the child's own namespace).
bool lo_up_with_mtu(int mtu) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  ifr.ifr_mtu = mtu;
  bool ok = ::ioctl(fd, SIOCSIFMTU, &ifr) == 0 && ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags |= IFF_UP;
  ok = ok && ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  ::close(fd);
  return ok;
}

int lo_txqueuelen() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  int qlen = ::ioctl(fd, SIOCGIFTXQLEN, &ifr) == 0 ? ifr.ifr_qlen : -1;
  ::close(fd);
  return qlen;
}

bool contains(const std::vector<std::string>& lines, const std::string& text) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

constexpr int kSkip = 77;
constexpr std::uint16_t kPort = 51820;

// The child's checks; returns what failed, or an empty string.
std::string tune_own_sockets() {
  const int v4 = bound_udp_socket(AF_INET, kPort);
  const int v6 = bound_udp_socket(AF_INET6, kPort);
  const int other = bound_udp_socket(AF_INET, kPort + 1);
  if (v4 < 0 || v6 < 0 || other < 0) return "cannot bind the test's UDP sockets";
  const int other_before = socket_option(other, SO_RCVBUF);
  TuningConfig config;
  config.udp_buffer_bytes = 4 * 1024 * 1024;
  config.txqueuelen = 2345;
  const TuningReport report = tune_path(config, {"lo", ::getpid(), kPort});
  std::string all;
  for (const auto& l : report.applied) all += "\n  applied: " + l;
  for (const auto& l : report.skipped) all += "\n  skipped: " + l;
  // The kernel doubles SO_*BUF requests.
  const int want = 2 * 4 * 1024 * 1024;
  if (socket_option(v4, SO_RCVBUF) != want || socket_option(v6, SO_RCVBUF) != want ||
      socket_option(v4, SO_SNDBUF) != want || socket_option(v6, SO_SNDBUF) != want) {
    return "the sockets on the listen port were not resized:" + all;
  }
  if (socket_option(other, SO_RCVBUF) != other_before) return "another port was resized:" + all;
  if (lo_txqueuelen() != 2345) return "txqueuelen of lo is not 2345:" + all;
  const auto buffers = std::count_if(report.applied.begin(), report.applied.end(), [](auto& l) {
    return l.starts_with("UDP socket buffers: ") &&
           l.find(" -> 8388608 bytes") != std::string::npos;
  });
  if (buffers != 2 || !contains(report.applied, "txqueuelen of lo: ") ||
      !contains(report.skipped, "no tun_flags")) {
    return "the report does not say what was done:" + all;
  }
  const TuningReport again = tune_path(config, {"lo", ::getpid(), kPort});
  if (!contains(again.applied, "txqueuelen of lo: already 2345")) {
    return "a second run is not idempotent";
  }
  const TuningReport wrong_port = tune_path(config, {"lo", ::getpid(), kPort + 2});
  if (!contains(wrong_port.skipped, "has no UDP socket bound to port 51822")) {
    return "a port without sockets is not reported";
  }
  const TuningReport no_device = tune_path(config, {"wgnonexistent0", ::getpid(), kPort});
  if (!contains(no_device.skipped, "txqueuelen of wgnonexistent0: SIOCGIFTXQLEN")) {
    return "a missing interface is not reported";
  }
  // lo is down in the new namespace: no route anywhere.
  if (underlay_path_mtu(*Endpoint::parse("192.0.2.1:51820")).has_value()) {
    return "a path MTU without a route";
  }
  if (!lo_up_with_mtu(9000)) return "cannot bring lo up";
  const auto mtu = underlay_path_mtu(*Endpoint::parse("127.0.0.1:51820"));
  if (mtu != 9000u) return "path MTU over lo is " + std::to_string(mtu.value_or(0)) + ", not 9000";
  return "";
}

TEST(PathTuning, ResizesTheDaemonsSocketsAndTheQueueInItsNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (unshare, SO_RCVBUFFORCE, pidfd_getfd)";
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    if (::unshare(CLONE_NEWNET) != 0) ::_exit(kSkip);
    const std::string failure = tune_own_sockets();
    if (!failure.empty()) (void)!::write(pipe_fds[1], failure.data(), failure.size());
    ::_exit(failure.empty() ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  std::string message;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) message.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == kSkip) GTEST_SKIP() << "unshare(CLONE_NEWNET) refused";
  EXPECT_EQ(WEXITSTATUS(status), 0) << message;
}

}  // namespace
}  // namespace wardgate::tunnel
