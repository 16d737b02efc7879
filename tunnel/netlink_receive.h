#pragma once
// Reading the kernel's replies on a netlink socket. Any local process may send a datagram to a
// netlink socket's port id; only what the kernel sent (sender port id 0) is a reply. Datagrams
// from other senders are dropped (zeroed: a forged one may imitate a dump with key material).
#include <string>

#include "tunnel/netlink_codec.h"

namespace wardgate::tunnel {

// Largest datagram taken; a kernel dump's datagrams are a few pages.
constexpr std::size_t kMaxNetlinkDatagram = 1U << 20;

// Reads the next datagram the kernel sent on `fd` into `out`, dropping up to 64 from other
// senders before it. Empty on success, else why not (a receive timeout set on the socket ends
// the wait).
std::string receive_from_kernel(int fd, wgnl::Bytes& out);

}  // namespace wardgate::tunnel
