#include "tunnel/kernel_backend.h"

#include <linux/netlink.h>
#include <linux/wireguard.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <system_error>

#include "tunnel/netlink_codec.h"
#include "tunnel/netlink_receive.h"

namespace wardgate::tunnel {
namespace {

constexpr const char* kKind = "wireguard";
// The kernel answers at once; a reply that takes longer means something is wrong, not slow.
constexpr int kReplyTimeoutS = 5;

struct SocketDeleter {
  void operator()(nl_sock* sock) const { nl_socket_free(sock); }
};
using Socket = std::unique_ptr<nl_sock, SocketDeleter>;
struct LinkDeleter {
  void operator()(rtnl_link* link) const { rtnl_link_put(link); }
};
using Link = std::unique_ptr<rtnl_link, LinkDeleter>;

std::string nl_error(int error) { return nl_geterror(error); }

// libnl's own conversations (family resolution, link lookups) take only the kernel's messages
// too; GenlChannel reads its replies through receive_from_kernel().
int skip_unless_from_kernel(nl_msg* msg, void* /*arg*/) {
  const sockaddr_nl* sender = nlmsg_get_src(msg);
  return sender != nullptr && sender->nl_pid == 0 ? NL_OK : NL_SKIP;
}

// A connected netlink socket of the protocol, or an error.
std::string open_socket(int protocol, Socket& sock) {
  sock.reset(nl_socket_alloc());
  if (!sock) return "netlink: cannot allocate a socket";
  const int error =
      protocol == NETLINK_GENERIC ? genl_connect(sock.get()) : nl_connect(sock.get(), protocol);
  if (error < 0) return "netlink: cannot connect: " + nl_error(error);
  const int fd = nl_socket_get_fd(sock.get());
  const timeval timeout{kReplyTimeoutS, 0};
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  // Extended acks carry the kernel's own words for a refused request.
  ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
  nl_socket_enable_msg_peek(sock.get());  // dump messages larger than libnl's default buffer
  nl_socket_modify_cb(sock.get(), NL_CB_MSG_IN, NL_CB_CUSTOM, skip_unless_from_kernel, nullptr);
  return {};
}

std::string resolve_family(nl_sock* sock, std::uint16_t& family_id) {
  const int id = genl_ctrl_resolve(sock, WG_GENL_NAME);
  if (id < 0)
    return std::string("generic netlink family \"") + WG_GENL_NAME +
           "\" not found (no wireguard module in this kernel?): " + nl_error(id);
  family_id = static_cast<std::uint16_t>(id);
  return {};
}

// The generic netlink conversation: the family's id and the messages of one request.
class GenlChannel {
 public:
  GenlChannel() = default;
  GenlChannel(const GenlChannel&) = delete;
  GenlChannel& operator=(const GenlChannel&) = delete;
  // A dump of the device carries its private key: no copy of it outlives the channel.
  ~GenlChannel() { sodium_memzero(buffer_.data(), buffer_.size()); }

  std::string open() {
    if (auto error = open_socket(NETLINK_GENERIC, sock_); !error.empty()) return error;
    return resolve_family(sock_.get(), family_id_);
  }
  // The header of the next request; its messages take consecutive sequence numbers.
  wgnl::RequestHeader header() const { return {family_id_, seq_}; }
  void consume(std::size_t messages) { seq_ += static_cast<std::uint32_t>(messages); }
  std::string send(const wgnl::Bytes& message) {
    const int sent =
        nl_sendto(sock_.get(), const_cast<std::uint8_t*>(message.data()), message.size());
    return sent < 0 ? "netlink send: " + nl_error(sent) : std::string();
  }
  // Reads the kernel's next datagram and splits it into messages.
  std::string receive(std::vector<wgnl::Message>& messages) {
    if (auto error = receive_from_kernel(nl_socket_get_fd(sock_.get()), buffer_); !error.empty())
      return error;
    messages.clear();
    return wgnl::split_messages(buffer_, messages);
  }

 private:
  Socket sock_;
  std::uint16_t family_id_ = 0;
  std::uint32_t seq_ = 1;
  wgnl::Bytes buffer_;  // the datagram the last receive() messages point into
};

std::string kernel_error(const wgnl::Message& message, const std::string& what) {
  int error = 0;
  std::string text;
  if (auto malformed = wgnl::parse_error(message, error, text); !malformed.empty())
    return malformed;
  if (error == 0) return {};
  return what + ": " + std::generic_category().message(error) +
         (text.empty() ? std::string() : " (" + text + ")");
}

std::string get_link(nl_sock* sock, const std::string& ifname, Link& link) {
  rtnl_link* raw = nullptr;
  const int error = rtnl_link_get_kernel(sock, 0, ifname.c_str(), &raw);
  link.reset(raw);
  return error < 0 ? "link " + ifname + ": " + nl_error(error) : std::string();
}

std::string prefixed(const std::string& what, const std::string& error) {
  return std::string(what).append(": ").append(error);
}

bool is_wireguard(rtnl_link* link) {
  const char* type = rtnl_link_get_type(link);
  return type != nullptr && std::strcmp(type, kKind) == 0;
}

}  // namespace

KernelBackend::KernelBackend(std::string ifname) : ifname_(std::move(ifname)) {}

std::string KernelBackend::create() {
  Socket sock;
  if (auto error = open_socket(NETLINK_ROUTE, sock); !error.empty()) return error;
  Link link(rtnl_link_alloc());
  if (!link) return "netlink: cannot allocate a link";
  rtnl_link_set_name(link.get(), ifname_.c_str());
  if (const int error = rtnl_link_set_type(link.get(), kKind); error < 0)
    return "link " + ifname_ + ": " + nl_error(error);
  const int error = rtnl_link_add(sock.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (error == 0) return {};
  if (error != -NLE_EXIST)
    return "creating link " + ifname_ + " of kind wireguard: " + nl_error(error) +
           (error == -NLE_OPNOTSUPP ? " (this kernel has no wireguard module)" : "");
  Link existing;
  if (auto failed = get_link(sock.get(), ifname_, existing); !failed.empty()) return failed;
  if (!is_wireguard(existing.get())) {
    const char* type = rtnl_link_get_type(existing.get());
    return "link " + ifname_ +
           " exists and is not a wireguard link (its kind: " + (type ? type : "none") + ")";
  }
  return {};
}

std::string KernelBackend::set(const DeviceConfig& config) {
  GenlChannel channel;
  if (auto error = channel.open(); !error.empty()) return error;
  const auto header = channel.header();
  // The first message holds the private key: wiped however set() returns.
  struct Wiped {
    std::vector<wgnl::Bytes> messages;
    ~Wiped() {
      for (auto& m : messages) sodium_memzero(m.data(), m.size());
    }
  } wiped;
  auto& messages = wiped.messages;
  try {
    messages = wgnl::encode_set_device(ifname_, config, header);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  channel.consume(messages.size());
  std::vector<wgnl::Message> replies;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (auto error = channel.send(messages[i]); !error.empty()) return error;
    const std::uint32_t seq = header.seq + static_cast<std::uint32_t>(i);
    // Each message is answered by exactly one ack or error; anything else is skipped.
    bool answered = false;
    for (int reads = 0; !answered && reads < 64; ++reads) {
      if (auto error = channel.receive(replies); !error.empty()) return error;
      for (const auto& reply : replies) {
        if (reply.type != NLMSG_ERROR || reply.seq != seq) continue;
        answered = true;
        const std::string what = "setting wireguard device " + ifname_ + " (message " +
                                 std::to_string(i + 1) + " of " + std::to_string(messages.size()) +
                                 ")";
        if (auto error = kernel_error(reply, what); !error.empty()) return error;
      }
    }
    if (!answered) return "setting wireguard device " + ifname_ + ": no ack from the kernel";
  }
  return {};
}

std::string KernelBackend::get(DeviceState& state) {
  GenlChannel channel;
  if (auto error = channel.open(); !error.empty()) return error;
  const auto header = channel.header();
  wgnl::Bytes request;
  try {
    request = wgnl::encode_get_device(ifname_, header);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  channel.consume(1);
  if (auto error = channel.send(request); !error.empty()) return error;
  const std::string what = "reading wireguard device " + ifname_;
  wgnl::DumpDecoder decoder;
  std::vector<wgnl::Message> replies;
  // Bounded: every datagram holds at least one peer, and the decoder caps the peers.
  for (std::size_t reads = 0; !decoder.done() && reads <= wgnl::kMaxPeers + 1; ++reads) {
    if (auto error = channel.receive(replies); !error.empty()) return prefixed(what, error);
    for (const auto& reply : replies) {
      if (reply.seq != header.seq || decoder.done()) continue;
      std::string error;
      if (reply.type == NLMSG_ERROR) {
        error = kernel_error(reply, what);
        if (error.empty()) error = what + ": the kernel acked a dump without data";
      } else if (reply.type == NLMSG_DONE) {
        error = decoder.finish(reply);
      } else if (reply.type == header.family_id) {
        error = decoder.add(reply);
      }
      if (!error.empty()) return error.starts_with(what) ? error : prefixed(what, error);
    }
  }
  if (!decoder.done()) return what + ": the dump did not end";
  state = decoder.state();
  return {};
}

bool KernelBackend::alive() {
  Socket sock;
  Link link;
  return open_socket(NETLINK_ROUTE, sock).empty() && get_link(sock.get(), ifname_, link).empty() &&
         is_wireguard(link.get());
}

void KernelBackend::destroy() {
  Socket sock;
  Link link;
  // Only a wireguard link is ours to delete; a missing one is already destroyed.
  if (!open_socket(NETLINK_ROUTE, sock).empty() || !get_link(sock.get(), ifname_, link).empty() ||
      !is_wireguard(link.get()))
    return;
  rtnl_link_delete(sock.get(), link.get());
}

std::unique_ptr<Backend> make_kernel_backend(const std::string& ifname) {
  return std::make_unique<KernelBackend>(ifname);
}

bool kernel_wireguard_available(std::string* why) {
  Socket sock;
  std::uint16_t family_id = 0;
  std::string error = open_socket(NETLINK_GENERIC, sock);
  if (error.empty()) error = resolve_family(sock.get(), family_id);
  if (why) *why = error;
  return error.empty();
}

}  // namespace wardgate::tunnel
