#include "nat/flow_log_reader.h"

#include <gtest/gtest.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <thread>

#include "nat/nft_runner.h"
#include "packet_builder.h"

namespace wardgate::nat {
namespace {

using testing::Bytes;
using testing::ports_header;

// --- NFLOG messages as the kernel sends them (nfnetlink_log.c, __build_packet_message) ---

void put_host16(Bytes& b, std::uint16_t v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  b.insert(b.end(), p, p + 2);
}
void put_host32(Bytes& b, std::uint32_t v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  b.insert(b.end(), p, p + 4);
}
void put_attr(Bytes& b, std::uint16_t type, const Bytes& value) {
  put_host16(b, static_cast<std::uint16_t>(4 + value.size()));
  put_host16(b, type);
  b.insert(b.end(), value.begin(), value.end());
  b.resize((b.size() + 3) & ~std::size_t{3}, 0);
}

struct Logged {
  std::string prefix;
  Bytes mac;  // empty: no NFULA_HWADDR
  std::uint32_t indev = 0;
  Bytes packet;
};

Bytes packet_message(const Logged& l, std::uint16_t group = 7900) {
  Bytes b;
  put_host32(b, 0);  // length, below
  put_host16(b, (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET);
  put_host16(b, 0);
  put_host32(b, 0);
  put_host32(b, 0);
  b.insert(b.end(), {AF_INET, NFNETLINK_V0, static_cast<std::uint8_t>(group >> 8),
                     static_cast<std::uint8_t>(group & 0xffU)});
  put_attr(b, NFULA_PACKET_HDR, Bytes{0x08, 0x00, 1, 0});  // ETH_P_IP, NF_INET_LOCAL_IN
  if (!l.prefix.empty()) {
    Bytes prefix(l.prefix.begin(), l.prefix.end());
    prefix.push_back(0);
    put_attr(b, NFULA_PREFIX, prefix);
  }
  if (l.indev != 0) {
    put_attr(
        b, NFULA_IFINDEX_INDEV,
        Bytes{static_cast<std::uint8_t>(l.indev >> 24), static_cast<std::uint8_t>(l.indev >> 16),
              static_cast<std::uint8_t>(l.indev >> 8), static_cast<std::uint8_t>(l.indev)});
  }
  if (!l.mac.empty()) {
    Bytes hw{0, static_cast<std::uint8_t>(l.mac.size()), 0, 0};
    hw.insert(hw.end(), l.mac.begin(), l.mac.end());
    hw.resize(12, 0);
    put_attr(b, NFULA_HWADDR, hw);
  }
  put_attr(b, NFULA_PAYLOAD, l.packet);
  const auto length = static_cast<std::uint32_t>(b.size());
  std::memcpy(b.data(), &length, 4);
  return b;
}

std::vector<common::FlowObservation> decode(const Bytes& datagram, std::error_code* error) {
  std::vector<common::FlowObservation> out;
  *error = parse_nflog_datagram(datagram, [&](const NflogPacket& p) {
    common::FlowObservation f;
    (void)to_observation(p, {}, f);
    out.push_back(f);
  });
  return out;
}

TEST(FlowLogDecode, TwoPacketsInOneDatagram) {
  const Bytes first =
      packet_message({"wg:deny-vlan",
                      {0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc},
                      3,
                      testing::ipv4("10.1.1.20", "10.2.2.9", 6, ports_header(1025, 445, true))});
  const Bytes second =
      packet_message({"wg:unknown",
                      {},
                      3,
                      testing::ipv4("10.1.1.99", "10.2.2.5", 17, ports_header(5000, 53, false))});
  std::error_code ec;
  const auto flows = decode(testing::concat(first, second), &ec);
  EXPECT_FALSE(ec) << ec.message();
  ASSERT_EQ(flows.size(), 2U);
  EXPECT_EQ(flows[0].reason, "deny-vlan");
  EXPECT_TRUE(flows[0].has_mac);
  EXPECT_EQ(flows[0].source_mac, (std::array<std::uint8_t, 6>{0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc}));
  EXPECT_EQ(flows[0].in_ifindex, 3U);
  EXPECT_EQ(flows[0].source, "10.1.1.20");
  EXPECT_EQ(flows[0].destination_port, 445);
  EXPECT_EQ(flows[1].reason, "unknown");
  EXPECT_FALSE(flows[1].has_mac);
  EXPECT_EQ(flows[1].protocol_name, "udp");
  EXPECT_EQ(flows[1].destination_port, 53);
}

TEST(FlowLogDecode, ForeignPrefixIsKeptWhole) {
  std::error_code ec;
  const auto flows = decode(
      packet_message(
          {"other", {}, 0, testing::ipv4("1.2.3.4", "5.6.7.8", 17, ports_header(1, 2, false))}),
      &ec);
  ASSERT_EQ(flows.size(), 1U);
  EXPECT_EQ(flows[0].reason, "other");
}

// Every truncation of the datagram and every corrupted attribute length: the decoder reports
// kMalformedMessage (or decodes what is whole) and never reads outside it (ASan in CI).
TEST(FlowLogDecode, MalformedAndTruncated) {
  const Bytes message =
      packet_message({"wg:deny-core",
                      {1, 2, 3, 4, 5, 6},
                      7,
                      testing::ipv4("10.2.2.7", "10.1.1.20", 6, ports_header(40000, 3389, true))});
  for (std::size_t n = 0; n < message.size(); ++n) {
    const Bytes cut(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(n));
    std::error_code ec;
    const auto flows = decode(cut, &ec);
    EXPECT_TRUE(flows.empty()) << n;
    EXPECT_EQ(ec, n == 0 ? std::error_code() : make_error_code(Errc::kMalformedMessage)) << n;
  }
  // The first attribute (after nlmsghdr 16 + nfgenmsg 4) claims more than the message holds.
  Bytes bad = message;
  bad[20] = 0xff;
  bad[21] = 0x0f;
  std::error_code ec;
  EXPECT_TRUE(decode(bad, &ec).empty());
  EXPECT_EQ(ec, Errc::kMalformedMessage);
  // An attribute shorter than its own header.
  bad = message;
  bad[20] = 2;
  bad[21] = 0;
  EXPECT_TRUE(decode(bad, &ec).empty());
  EXPECT_EQ(ec, Errc::kMalformedMessage);
}

TEST(FlowLogDecode, LongPrefixIsCapped) {
  std::error_code ec;
  const auto flows =
      decode(packet_message({"wg:" + std::string(200, 'x'),
                             {},
                             0,
                             testing::ipv4("1.2.3.4", "5.6.7.8", 17, ports_header(1, 2, false))}),
             &ec);
  ASSERT_EQ(flows.size(), 1U);
  EXPECT_EQ(flows[0].reason.size(), kMaxPrefix - 3);
}

// --- The real kernel: a throw-away network namespace with an nft log rule ---

bool bring_up_loopback() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = ::ioctl(fd, SIOCGIFFLAGS, &request) == 0;
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);  // NOLINT: the ioctl's type
  ok = ok && ::ioctl(fd, SIOCSIFFLAGS, &request) == 0;
  ::close(fd);
  return ok;
}

void send_udp(int family, const char* address, std::uint16_t source_port,
              std::uint16_t destination_port) {
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_storage local{};
  sockaddr_storage remote{};
  socklen_t length = 0;
  if (family == AF_INET) {
    auto* l = reinterpret_cast<sockaddr_in*>(&local);
    auto* r = reinterpret_cast<sockaddr_in*>(&remote);
    l->sin_family = r->sin_family = AF_INET;
    l->sin_port = htons(source_port);
    r->sin_port = htons(destination_port);
    ::inet_pton(AF_INET, address, &l->sin_addr);
    ::inet_pton(AF_INET, address, &r->sin_addr);
    length = sizeof(sockaddr_in);
  } else {
    auto* l = reinterpret_cast<sockaddr_in6*>(&local);
    auto* r = reinterpret_cast<sockaddr_in6*>(&remote);
    l->sin6_family = r->sin6_family = AF_INET6;
    l->sin6_port = htons(source_port);
    r->sin6_port = htons(destination_port);
    ::inet_pton(AF_INET6, address, &l->sin6_addr);
    ::inet_pton(AF_INET6, address, &r->sin6_addr);
    length = sizeof(sockaddr_in6);
  }
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&local), length), 0) << std::strerror(errno);
  const std::string payload = "denied";
  EXPECT_GT(
      ::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&remote), length),
      0)
      << std::strerror(errno);
  ::close(fd);
}

// Waits (at most 3 s) until `want` observations arrived.
std::vector<common::FlowObservation> collect(FlowLogReader& reader, std::size_t want) {
  std::vector<common::FlowObservation> got;
  for (int i = 0; i < 30 && got.size() < want; ++i) {
    pollfd p{reader.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      reader.read_available([&](const common::FlowObservation& f) { got.push_back(f); });
    }
  }
  return got;
}

// Runs `body` on a thread of its own inside a fresh network namespace (unshare(CLONE_NEWNET)
// moves only the calling thread; the namespace goes away with the thread and its sockets), with
// lo up, a rule logging UDP to port 40009 on input into NFLOG group 7901 with prefix "wg:test",
// and a reader subscribed to that group. An empty string, or what failed.
std::string in_lab(const std::function<void(FlowLogReader&)>& body) {
  std::string failure;
  std::thread lab([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      failure = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
      return;
    }
    if (!bring_up_loopback()) {
      failure = "cannot bring lo up";
      return;
    }
    const NftResult nft = run_nft_script(
        "table inet wgtest {\n"
        "  chain input {\n"
        "    type filter hook input priority 0; policy accept;\n"
        "    udp dport 40009 log group 7901 prefix \"wg:test\" drop\n"
        "  }\n"
        "}\n");
    if (!nft.ok) {
      failure = "nft: " + nft.error;
      return;
    }
    FlowLogReader reader(common::SystemClock::instance());
    std::string detail;
    if (const std::error_code ec = reader.open(7901, detail)) {
      failure = "open: " + ec.message() + ": " + detail;
      return;
    }
    body(reader);
  });
  lab.join();
  return failure;
}

TEST(FlowLogReader, ReceivesWhatTheKernelLogs) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: a network namespace and an nftables table";
  std::vector<common::FlowObservation> got;
  FlowLogReader::Stats stats;
  const std::string failure = in_lab([&](FlowLogReader& reader) {
    send_udp(AF_INET, "127.0.0.1", 40001, 40009);
    send_udp(AF_INET6, "::1", 40002, 40009);
    got = collect(reader, 2);
    stats = reader.stats();
  });
  ASSERT_TRUE(failure.empty()) << failure;
  ASSERT_EQ(got.size(), 2U);
  const common::FlowObservation& v4 = got[0].family == 4 ? got[0] : got[1];
  const common::FlowObservation& v6 = got[0].family == 4 ? got[1] : got[0];
  EXPECT_EQ(v4.reason, "test");
  EXPECT_EQ(v4.family, 4);
  EXPECT_EQ(v4.source, "127.0.0.1");
  EXPECT_EQ(v4.destination, "127.0.0.1");
  EXPECT_EQ(v4.source_v4, 0x7f000001U);
  EXPECT_EQ(v4.protocol_name, "udp");
  EXPECT_EQ(v4.source_port, 40001);
  EXPECT_EQ(v4.destination_port, 40009);
  EXPECT_EQ(v4.in_ifname, "lo");
  EXPECT_NE(v4.in_ifindex, 0U);
  EXPECT_EQ(v6.reason, "test");
  EXPECT_EQ(v6.family, 6);
  EXPECT_EQ(v6.source, "::1");
  EXPECT_EQ(v6.destination, "::1");
  EXPECT_EQ(v6.protocol_name, "udp");
  EXPECT_EQ(v6.source_port, 40002);
  EXPECT_EQ(v6.destination_port, 40009);
  EXPECT_EQ(stats.observations, 2U);
  EXPECT_EQ(stats.malformed, 0U);
}

// A burst larger than the socket buffer: the kernel drops what does not fit and says so
// (ENOBUFS); the reader counts it and goes on receiving.
TEST(FlowLogReader, OverrunIsCountedAndReadingGoesOn) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: a network namespace and an nftables table";
  constexpr int kBurst = 200000;  // about 40 MB of NFLOG messages: ten times the buffer
  FlowLogReader::Stats stats;
  std::vector<common::FlowObservation> after;
  const std::string failure = in_lab([&](FlowLogReader& reader) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(40009);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < kBurst; ++i) {
      (void)::sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    ::close(fd);
    // Drain the burst (bounded: it cannot hold more than kBurst observations).
    for (int i = 0; i < 10000; ++i) {
      if (reader.read_available([](const common::FlowObservation&) {}) == 0 &&
          reader.stats().overruns > 0) {
        break;
      }
    }
    send_udp(AF_INET, "127.0.0.1", 40003, 40009);
    after = collect(reader, 1);
    stats = reader.stats();
  });
  ASSERT_TRUE(failure.empty()) << failure;
  EXPECT_GT(stats.overruns, 0U);
  EXPECT_LT(stats.observations, static_cast<std::uint64_t>(kBurst));
  EXPECT_EQ(stats.malformed, 0U);
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after.back().source_port, 40003);  // still receiving after the overrun
}

TEST(FlowLogReader, SecondSubscriberToAGroupIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: a network namespace";
  std::error_code first;
  std::error_code second;
  std::string detail;
  std::thread lab([&] {
    if (::unshare(CLONE_NEWNET) != 0) return;
    FlowLogReader a(common::SystemClock::instance());
    FlowLogReader b(common::SystemClock::instance());
    std::string unused;
    first = a.open(7902, unused);
    second = b.open(7902, detail);
  });
  lab.join();
  EXPECT_FALSE(first) << first.message();
  EXPECT_EQ(second, Errc::kNflogRefused);
  EXPECT_FALSE(detail.empty());
}

}  // namespace
}  // namespace wardgate::nat
