#include "nat/flow_log_reader.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "nat/packet_summary.h"

namespace wardgate::nat {
namespace {

constexpr std::size_t kNlmsgHeader = 16;  // struct nlmsghdr
constexpr std::size_t kNfgenHeader = 4;   // struct nfgenmsg
constexpr std::size_t kAttrHeader = 4;    // struct nlattr
constexpr std::uint16_t kPacketType = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
constexpr std::uint16_t kConfigType = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
constexpr int kAckTimeoutMs = 1000;
constexpr int kReceiveBuffer = 4 << 20;  // a scan's burst, at ~200 bytes per logged packet

constexpr std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

std::uint16_t host16(const std::uint8_t* p) {
  std::uint16_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}
std::uint32_t host32(const std::uint8_t* p) {
  std::uint32_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}
std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

void put16(std::vector<std::uint8_t>& b, std::uint16_t v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  b.insert(b.end(), p, p + sizeof v);
}
void put32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  b.insert(b.end(), p, p + sizeof v);
}

// NFULNL_MSG_CONFIG carrying one attribute; nlmsg_len and seq are filled in by the caller.
std::vector<std::uint8_t> config_message(std::uint8_t family, std::uint16_t group,
                                         std::uint16_t attr_type,
                                         std::span<const std::uint8_t> attr) {
  std::vector<std::uint8_t> m;
  put32(m, 0);  // nlmsg_len
  put16(m, kConfigType);
  put16(m, NLM_F_REQUEST | NLM_F_ACK);
  put32(m, 0);  // nlmsg_seq
  put32(m, 0);  // nlmsg_pid: the kernel
  m.push_back(family);
  m.push_back(NFNETLINK_V0);
  m.push_back(static_cast<std::uint8_t>(group >> 8));  // res_id, big endian
  m.push_back(static_cast<std::uint8_t>(group & 0xffU));
  put16(m, static_cast<std::uint16_t>(kAttrHeader + attr.size()));
  put16(m, attr_type);
  m.insert(m.end(), attr.begin(), attr.end());
  m.resize(align4(m.size()), 0);
  const auto length = static_cast<std::uint32_t>(m.size());
  std::memcpy(m.data(), &length, sizeof length);
  return m;
}

std::vector<std::uint8_t> command(std::uint8_t family, std::uint16_t group, std::uint8_t cmd) {
  const std::array<std::uint8_t, 1> attr{cmd};  // struct nfulnl_msg_config_cmd
  return config_message(family, group, NFULA_CFG_CMD, attr);
}

std::vector<std::uint8_t> copy_mode(std::uint16_t group) {
  // struct nfulnl_msg_config_mode (packed): __be32 copy_range, __u8 copy_mode, __u8 pad.
  const std::array<std::uint8_t, 6> attr{0,
                                         0,
                                         static_cast<std::uint8_t>(kCopyRange >> 8),
                                         static_cast<std::uint8_t>(kCopyRange & 0xffU),
                                         NFULNL_COPY_PACKET,
                                         0};
  return config_message(AF_UNSPEC, group, NFULA_CFG_MODE, attr);
}

// The kernel holds logged packets until 100 are queued or its timer fires (1 s by default); the
// policy engine acts within a second of what it observes, so the timer is made 50 ms.
std::vector<std::uint8_t> flush_timeout(std::uint16_t group) {
  constexpr std::uint32_t kHundredths = 5;
  const std::array<std::uint8_t, 4> attr{0, 0, 0, kHundredths};  // __be32
  return config_message(AF_UNSPEC, group, NFULA_CFG_TIMEOUT, attr);
}

std::error_code parse_packet(std::span<const std::uint8_t> payload, NflogPacket& out) {
  if (payload.size() < kNfgenHeader) return Errc::kMalformedMessage;
  out.family = payload[0];
  out.group = be16(payload.data() + 2);
  std::size_t offset = kNfgenHeader;
  while (offset + kAttrHeader <= payload.size()) {
    const std::uint16_t length = host16(payload.data() + offset);
    const std::uint16_t type = host16(payload.data() + offset + 2) & NLA_TYPE_MASK;
    if (length < kAttrHeader || length > payload.size() - offset) return Errc::kMalformedMessage;
    const std::span<const std::uint8_t> value =
        payload.subspan(offset + kAttrHeader, length - kAttrHeader);
    switch (type) {
      case NFULA_PACKET_HDR:  // struct nfulnl_msg_packet_hdr: __be16 hw_protocol, hook, pad
        if (value.size() < 4) return Errc::kMalformedMessage;
        out.hw_protocol = be16(value.data());
        break;
      case NFULA_PREFIX: {  // NUL-terminated
        const auto end = std::find(value.begin(), value.end(), std::uint8_t{0});
        const auto size = std::min<std::size_t>(end - value.begin(), kMaxPrefix);
        out.prefix = std::string_view(reinterpret_cast<const char*>(value.data()), size);
        break;
      }
      case NFULA_HWADDR: {  // struct nfulnl_msg_packet_hw: __be16 len, pad, __u8 addr[8]
        if (value.size() < 12) return Errc::kMalformedMessage;
        const std::size_t size = std::min<std::size_t>(be16(value.data()), 8);
        out.hwaddr = value.subspan(4, size);
        break;
      }
      case NFULA_IFINDEX_INDEV:
        if (value.size() < 4) return Errc::kMalformedMessage;
        out.indev = be32(value.data());
        break;
      case NFULA_PAYLOAD:
        out.payload = value;
        break;
      default:
        break;
    }
    offset += align4(length);
  }
  return {};
}

// The error of an NLMSG_ERROR message's payload (0: an ack), or nullopt if it is malformed.
std::optional<int> error_of(std::span<const std::uint8_t> payload) {
  if (payload.size() < 4) return std::nullopt;
  return -static_cast<std::int32_t>(host32(payload.data()));
}

}  // namespace

std::error_code parse_nflog_datagram(std::span<const std::uint8_t> datagram,
                                     const std::function<void(const NflogPacket&)>& on_packet) {
  std::size_t offset = 0;
  while (offset < datagram.size()) {
    if (datagram.size() - offset < kNlmsgHeader) return Errc::kMalformedMessage;
    const std::uint32_t length = host32(datagram.data() + offset);
    const std::uint16_t type = host16(datagram.data() + offset + 4);
    if (length < kNlmsgHeader || length > datagram.size() - offset) {
      return Errc::kMalformedMessage;
    }
    if (type == kPacketType) {
      NflogPacket packet;
      const auto payload = datagram.subspan(offset + kNlmsgHeader, length - kNlmsgHeader);
      if (const std::error_code ec = parse_packet(payload, packet)) return ec;
      on_packet(packet);
    }
    offset += align4(length);
  }
  return {};
}

std::error_code to_observation(const NflogPacket& packet,
                               std::chrono::system_clock::time_point time,
                               common::FlowObservation& out) {
  out.time = time;
  constexpr std::string_view kOurs = "wg:";
  out.reason =
      packet.prefix.starts_with(kOurs) ? packet.prefix.substr(kOurs.size()) : packet.prefix;
  if (packet.hwaddr.size() == out.source_mac.size()) {
    std::copy(packet.hwaddr.begin(), packet.hwaddr.end(), out.source_mac.begin());
    out.has_mac = true;
  }
  out.in_ifindex = packet.indev;
  return summarize_packet(packet.payload, out);
}

FlowLogReader::FlowLogReader(const common::Clock& clock) : clock_(clock) {}

std::error_code FlowLogReader::open(std::uint16_t group, std::string& detail) {
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
  if (fd < 0) {
    detail = std::string("socket: ") + std::strerror(errno);
    return Errc::kNetlinkSocket;
  }
  fd_.emplace(fd);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    detail = std::string("bind: ") + std::strerror(errno);
    fd_.reset();
    return Errc::kNetlinkSocket;
  }
  // A larger buffer rides out a scan's burst; without CAP_NET_ADMIN the plain limit applies.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBuffer, sizeof kReceiveBuffer) != 0) {
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBuffer, sizeof kReceiveBuffer);
  }
  // nfnetlink_log's own set-up sequence: the loggers of both families to nfnetlink_log (a no-op
  // on kernels since 3.17, needed before), then the group, its copy mode and flush timer.
  const std::vector<std::vector<std::uint8_t>> messages{
      command(AF_INET, 0, NFULNL_CFG_CMD_PF_UNBIND),
      command(AF_INET, 0, NFULNL_CFG_CMD_PF_BIND),
      command(AF_INET6, 0, NFULNL_CFG_CMD_PF_UNBIND),
      command(AF_INET6, 0, NFULNL_CFG_CMD_PF_BIND),
      command(AF_UNSPEC, group, NFULNL_CFG_CMD_BIND),
      copy_mode(group),
      flush_timeout(group)};
  for (const auto& m : messages) {
    if (const std::error_code ec = configure(m, detail)) {
      fd_.reset();
      return ec;
    }
  }
  buffer_.resize(kMaxDatagram);
  return {};
}

std::error_code FlowLogReader::configure(const std::vector<std::uint8_t>& message,
                                         std::string& detail) {
  std::vector<std::uint8_t> m = message;
  const std::uint32_t seq = ++seq_;
  std::memcpy(m.data() + 8, &seq, sizeof seq);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_->get(), m.data(), m.size(), 0, reinterpret_cast<const sockaddr*>(&kernel),
               sizeof kernel) < 0) {
    detail = std::string("send: ") + std::strerror(errno);
    return Errc::kNflogRefused;
  }
  std::vector<std::uint8_t> reply(8192);
  const auto deadline = clock_.steady_now() + std::chrono::milliseconds(kAckTimeoutMs);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.steady_now());
    if (left.count() <= 0) break;
    pollfd p{fd_->get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::recv(fd_->get(), reply.data(), reply.size(), MSG_DONTWAIT);
    if (n < 0) continue;  // EAGAIN, or an overrun from packets logged meanwhile
    // Logged packets may arrive before the ack (the group is bound first): passed over.
    std::size_t offset = 0;
    const auto size = static_cast<std::size_t>(n);
    while (size - offset >= kNlmsgHeader) {
      const std::uint32_t length = host32(reply.data() + offset);
      if (length < kNlmsgHeader || length > size - offset) break;
      if (host16(reply.data() + offset + 4) == NLMSG_ERROR &&
          host32(reply.data() + offset + 8) == seq) {
        const auto error =
            error_of(std::span(reply).subspan(offset + kNlmsgHeader, length - kNlmsgHeader));
        if (!error) break;
        if (*error == 0) return {};
        detail = std::strerror(*error);
        return Errc::kNflogRefused;
      }
      offset += align4(length);
    }
  }
  detail = "no acknowledgement within 1 s";
  return Errc::kNflogNoAnswer;
}

std::string FlowLogReader::interface_name(std::uint32_t index) {
  if (index == 0) return {};
  for (const auto& [i, name] : names_) {
    if (i == index) return name;
  }
  std::array<char, IF_NAMESIZE> name{};
  if (::if_indextoname(index, name.data()) == nullptr) return {};
  if (names_.size() == kMaxNames) names_.clear();
  names_.emplace_back(index, name.data());
  return name.data();
}

std::size_t FlowLogReader::read_available(const Callback& callback) {
  if (!fd_) return 0;
  std::size_t delivered = 0;
  for (std::size_t i = 0; i < kMaxDatagramsPerRead; ++i) {
    const ssize_t n = ::recv(fd_->get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == ENOBUFS) {
        ++stats_.overruns;
        continue;
      }
      if (errno == EINTR) continue;
      break;  // EAGAIN: drained
    }
    ++stats_.datagrams;
    if (static_cast<std::size_t>(n) > buffer_.size()) {
      ++stats_.malformed;
      continue;
    }
    const auto time = clock_.system_now();
    const std::error_code ec = parse_nflog_datagram(
        std::span(buffer_).first(static_cast<std::size_t>(n)), [&](const NflogPacket& packet) {
          common::FlowObservation flow;
          (void)to_observation(packet, time, flow);
          // A payload cut short after the IP header still names who sent what where.
          if (flow.family == 0) {
            ++stats_.unreadable;
            return;
          }
          flow.in_ifname = interface_name(flow.in_ifindex);
          ++stats_.observations;
          ++delivered;
          callback(flow);
        });
    if (ec) ++stats_.malformed;
  }
  return delivered;
}

}  // namespace wardgate::nat
