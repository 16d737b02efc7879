#include "tunnel/netlink_receive.h"

#include <linux/netlink.h>
#include <sodium.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace wardgate::tunnel {
namespace {

constexpr int kMaxForeignDatagrams = 64;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

std::string receive_from_kernel(int fd, wgnl::Bytes& out) {
  int foreign = 0;
  while (foreign <= kMaxForeignDatagrams) {
    // The size first (peek, truncated), so a dump's large datagram is read whole.
    sockaddr_nl sender{};
    iovec iov{nullptr, 0};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    const ssize_t size = ::recvmsg(fd, &msg, MSG_PEEK | MSG_TRUNC);
    if (size < 0 && errno == EINTR) continue;
    if (size < 0) return errno_text("netlink receive");
    if (size == 0) return "netlink: the kernel closed the conversation";
    if (static_cast<std::size_t>(size) > kMaxNetlinkDatagram) {
      ::recv(fd, nullptr, 0, 0);  // drops it: a datagram is consumed whole
      return "netlink: a datagram larger than the cap";
    }
    sodium_memzero(out.data(), out.size());
    out.assign(static_cast<std::size_t>(size), 0);
    iov = {out.data(), out.size()};
    msg.msg_name = &sender;
    msg.msg_namelen = sizeof sender;
    const ssize_t got = ::recvmsg(fd, &msg, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno_text("netlink receive");
    out.resize(static_cast<std::size_t>(got));
    if (msg.msg_namelen == sizeof sender && sender.nl_family == AF_NETLINK && sender.nl_pid == 0) {
      return {};
    }
    sodium_memzero(out.data(), out.size());
    out.clear();
    ++foreign;
  }
  return "netlink: too many datagrams from senders other than the kernel";
}

}  // namespace wardgate::tunnel
