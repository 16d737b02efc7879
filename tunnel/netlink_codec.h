#pragma once
// The kernel's generic netlink family "wireguard" (linux/wireguard.h) as bytes, with no I/O:
// DeviceConfig -> WG_CMD_SET_DEVICE requests, WG_CMD_GET_DEVICE dump replies -> DeviceState, and
// the netlink envelope around them (acks, errors, end of dump). The kernel backend only moves
// these bytes over a socket, so everything here is testable against golden bytes.
//
// Requests are split the way wireguard-tools (ipc-linux.h) splits them: a message holds at most
// max_message bytes; a peer whose allowed IPs do not fit goes on in the next message with only its
// public key (and REMOVE_ME/UPDATE_ONLY), never REPLACE_ALLOWEDIPS again; device attributes and
// REPLACE_PEERS go only in the first message. Replies are decoded against caps; a malformed
// attribute gives an error naming it, never a read past the buffer.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tunnel/wg_types.h"

namespace wardgate::tunnel::wgnl {

using Bytes = std::vector<std::uint8_t>;

// wg(8) sizes its messages by MNL_SOCKET_BUFFER_SIZE: the page size, capped at 8192.
constexpr std::size_t kDefaultMessageSize = 4096;
// Caps on what one dump may decode into (a device with more is refused, not truncated).
constexpr std::size_t kMaxPeers = 65536;
constexpr std::size_t kMaxAllowedIps = 1 << 20;  // over all peers

struct RequestHeader {
  std::uint16_t family_id = 0;  // resolved "wireguard" family (genl_ctrl_resolve)
  std::uint32_t seq = 0;        // of the first message; each further message takes the next
};

// WG_CMD_SET_DEVICE, NLM_F_REQUEST | NLM_F_ACK, in as many messages as needed (at least one).
// Each message is acknowledged separately by the kernel. Throws std::invalid_argument for an
// interface name longer than IFNAMSIZ - 1 or a max_message too small for one peer.
std::vector<Bytes> encode_set_device(const std::string& ifname, const DeviceConfig& config,
                                     RequestHeader header,
                                     std::size_t max_message = kDefaultMessageSize);

// WG_CMD_GET_DEVICE, NLM_F_REQUEST | NLM_F_DUMP, for the interface named ifname.
Bytes encode_get_device(const std::string& ifname, RequestHeader header);

// One netlink message inside a datagram read from the socket.
struct Message {
  std::uint16_t type = 0;
  std::uint16_t flags = 0;
  std::uint32_t seq = 0;
  std::span<const std::uint8_t> payload;  // after struct nlmsghdr, within the datagram
};

// Splits a datagram into its messages; an error when a header's length is short or runs past the
// end of the datagram.
std::string split_messages(std::span<const std::uint8_t> datagram, std::vector<Message>& out);

// For an NLMSG_ERROR message: 0 for an ack, else the positive errno; text gets the kernel's
// extended ack message when it sent one. An error string when the message itself is malformed.
std::string parse_error(const Message& message, int& error, std::string& text);

// Merges the messages of one WG_CMD_GET_DEVICE dump into a DeviceState. Messages of the family
// go to add(); NLMSG_DONE ends the dump (its payload may carry an error); the kernel continues a
// peer whose allowed IPs did not fit in the next message, repeating its public key, and that peer
// is merged, not duplicated. The private key is read past, never stored.
class DumpDecoder {
 public:
  // One message whose type is the family id (payload starts with struct genlmsghdr).
  std::string add(const Message& message);
  // The NLMSG_DONE message; an error when the dump ended with one.
  std::string finish(const Message& message);
  bool done() const { return done_; }
  const DeviceState& state() const { return state_; }

 private:
  std::string add_peers(std::span<const std::uint8_t> peers);
  std::string add_peer(std::span<const std::uint8_t> peer);

  DeviceState state_;
  std::size_t allowed_ips_ = 0;
  bool done_ = false;
};

}  // namespace wardgate::tunnel::wgnl
