#pragma once
// The packets the gateway's ruleset denies and logs (`log group G prefix "wg:<reason>"`),
// read from the kernel over NFLOG: a raw NETLINK_NETFILTER socket subscribed to group G, copy
// mode NFULNL_COPY_PACKET with a copy range of kCopyRange bytes (enough for the IP and transport
// headers, never a payload worth keeping), flushed by the kernel at least every 50 ms. Each logged
// packet becomes one common::FlowObservation.
//
// The socket is non-blocking: wait for it to be readable (Asio's posix::stream_descriptor
// async_wait, or poll) and call read_available(). A burst the socket buffer cannot hold is lost
// by the kernel (ENOBUFS on the next read): counted as an overrun, never fatal. The decoding is
// split from the socket (parse_nflog_datagram) so it can be fuzzed and tested without root.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/flow_observation.h"
#include "common/unique_fd.h"
#include "nat/nat_error.h"

namespace wardgate::nat {

constexpr std::uint16_t kCopyRange = 128;
// The largest datagram read whole (the kernel batches logged packets up to its nlbufsiz, 4 KiB
// by default); a longer one is truncated by recv and counted as malformed.
constexpr std::size_t kMaxDatagram = 65536;
constexpr std::size_t kMaxPrefix = 64;  // nftables allows 127; ours are "wg:" + a short reason

// One NFULNL_MSG_PACKET as the kernel sent it; spans point into the datagram.
struct NflogPacket {
  std::uint8_t family = 0;                // nfgenmsg.nfgen_family: AF_INET, AF_INET6 (NFPROTO_*)
  std::uint16_t group = 0;                // nfgenmsg.res_id
  std::uint16_t hw_protocol = 0;          // NFULA_PACKET_HDR: the EtherType, host order (0: absent)
  std::string_view prefix;                // NFULA_PREFIX without its NUL; empty when absent
  std::span<const std::uint8_t> hwaddr;   // NFULA_HWADDR address bytes (hw_addrlen of them)
  std::uint32_t indev = 0;                // NFULA_IFINDEX_INDEV; 0 when absent
  std::span<const std::uint8_t> payload;  // NFULA_PAYLOAD: the first bytes of the IP packet
};

// Splits one datagram read from the socket into its netlink messages and decodes each
// NFULNL_MSG_PACKET, calling `on_packet` for it; other messages (acks) are skipped. Stops at the
// first malformed message or attribute and returns Errc::kMalformedMessage (the packets before it
// were delivered).
std::error_code parse_nflog_datagram(std::span<const std::uint8_t> datagram,
                                     const std::function<void(const NflogPacket&)>& on_packet);

// A decoded NFLOG packet -> an observation stamped `time` (reason from the prefix, MAC from a
// 6-byte hardware address, input interface index; the name is the reader's to add). The error
// of summarize_packet() when its payload is not a readable IP packet.
std::error_code to_observation(const NflogPacket& packet,
                               std::chrono::system_clock::time_point time,
                               common::FlowObservation& out);

class FlowLogReader {
 public:
  struct Stats {
    std::uint64_t datagrams = 0;
    std::uint64_t observations = 0;  // delivered to the callback
    std::uint64_t overruns = 0;      // ENOBUFS: the kernel dropped logged packets
    std::uint64_t malformed = 0;     // datagrams with a malformed message (or truncated by recv)
    std::uint64_t unreadable = 0;    // packets whose payload was no IP packet we could read
  };
  using Callback = std::function<void(const common::FlowObservation&)>;

  explicit FlowLogReader(const common::Clock& clock);

  // Subscribes to NFLOG group `group`: binds the socket, (re)binds the IPv4 and IPv6 logger to
  // nfnetlink_log, binds the group and sets copy mode and range, each acknowledged by the kernel
  // (waits at most one second per message). An error of category "wardgate.nat" with the
  // kernel's reason in `detail`; the reader is then closed. May be called once.
  std::error_code open(std::uint16_t group, std::string& detail);

  // The socket to wait on for readability; -1 before a successful open().
  int fd() const { return fd_ ? fd_->get() : -1; }

  // Reads what is waiting, at most kMaxDatagramsPerRead datagrams (the fd stays readable when
  // more is left), calling `callback` for each observation. Never blocks, never throws (unless
  // the callback does). Returns the number of observations delivered.
  std::size_t read_available(const Callback& callback);

  const Stats& stats() const { return stats_; }

  static constexpr std::size_t kMaxDatagramsPerRead = 256;

 private:
  std::error_code configure(const std::vector<std::uint8_t>& message, std::string& detail);
  std::string interface_name(std::uint32_t index);

  const common::Clock& clock_;
  std::optional<common::UniqueFd> fd_;
  std::uint32_t seq_ = 0;
  Stats stats_;
  std::vector<std::uint8_t> buffer_;
  // Interface names by index, looked up once each (the VLAN has few interfaces; the cache is
  // emptied when it holds kMaxNames, so a renamed interface is seen again soon).
  static constexpr std::size_t kMaxNames = 64;
  std::vector<std::pair<std::uint32_t, std::string>> names_;
};

}  // namespace wardgate::nat
