// Replies on a generic netlink socket come from the kernel only: a datagram another local
// process sent to the socket's port id (here a second socket of the test) is dropped, and the
// kernel's reply that follows it is the one read.
#include "tunnel/netlink_receive.h"

#include <gtest/gtest.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace wardgate::tunnel {
namespace {

struct NetlinkSocket {
  NetlinkSocket() {
    fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = addr.nl_pid;
    const timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~NetlinkSocket() { ::close(fd); }
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  void send_to(std::uint32_t to, const std::vector<std::uint8_t>& message) const {
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_pid = to;
    ASSERT_EQ(::sendto(fd, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&addr),
                       sizeof addr),
              static_cast<ssize_t>(message.size()))
        << std::strerror(errno);
  }

  int fd = -1;
  std::uint32_t port = 0;
};

// A generic netlink message: header, genl header, and `payload` as its attributes' bytes.
std::vector<std::uint8_t> genl_message(std::uint16_t type, std::uint8_t cmd, std::uint32_t seq,
                                       const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> out(NLMSG_HDRLEN + GENL_HDRLEN + NLA_ALIGN(payload.size()), 0);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<std::uint32_t>(out.size());
  h.nlmsg_type = type;
  h.nlmsg_flags = NLM_F_REQUEST;
  h.nlmsg_seq = seq;
  std::memcpy(out.data(), &h, sizeof h);
  genlmsghdr g{};
  g.cmd = cmd;
  g.version = 1;
  std::memcpy(out.data() + NLMSG_HDRLEN, &g, sizeof g);
  std::memcpy(out.data() + NLMSG_HDRLEN + GENL_HDRLEN, payload.data(), payload.size());
  return out;
}

// CTRL_CMD_GETFAMILY for "nlctrl": a request every kernel answers.
std::vector<std::uint8_t> get_nlctrl(std::uint32_t seq) {
  const std::string name = "nlctrl";
  const std::size_t name_bytes = name.size() + 1;  // with its NUL, as the kernel expects
  std::vector<std::uint8_t> attr(NLA_HDRLEN + NLA_ALIGN(name_bytes), 0);
  nlattr a{};
  a.nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + name_bytes);
  a.nla_type = CTRL_ATTR_FAMILY_NAME;
  std::memcpy(attr.data(), &a, sizeof a);
  std::memcpy(attr.data() + NLA_HDRLEN, name.c_str(), name_bytes);
  return genl_message(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, seq, attr);
}

nlmsghdr header_of(const wgnl::Bytes& datagram) {
  nlmsghdr h{};
  if (datagram.size() >= sizeof h) std::memcpy(&h, datagram.data(), sizeof h);
  return h;
}

TEST(NetlinkReceive, TheKernelsReplyIsReadAndAForgedOneBeforeItDropped) {
  const NetlinkSocket ours;
  const NetlinkSocket intruder;
  // A forged "reply" that imitates the kernel's: same type and sequence number as the real one.
  intruder.send_to(ours.port, get_nlctrl(7));
  ours.send_to(0, get_nlctrl(7));

  wgnl::Bytes datagram;
  ASSERT_EQ(receive_from_kernel(ours.fd, datagram), "");
  const nlmsghdr h = header_of(datagram);
  EXPECT_EQ(h.nlmsg_type, GENL_ID_CTRL);
  EXPECT_EQ(h.nlmsg_seq, 7U);
  // The forged datagram carried our request's flags and length; the kernel's reply is larger
  // (the family's attributes) and is not a request.
  EXPECT_EQ(h.nlmsg_flags & NLM_F_REQUEST, 0) << "the intruder's datagram was taken as the reply";
  EXPECT_GT(datagram.size(), get_nlctrl(7).size());
}

TEST(NetlinkReceive, OnlyForgedDatagramsEndInATimeoutNotAReply) {
  const NetlinkSocket ours;
  const NetlinkSocket intruder;
  intruder.send_to(ours.port, get_nlctrl(1));
  wgnl::Bytes datagram;
  EXPECT_NE(receive_from_kernel(ours.fd, datagram), "");
  EXPECT_TRUE(datagram.empty());
}

}  // namespace
}  // namespace wardgate::tunnel
