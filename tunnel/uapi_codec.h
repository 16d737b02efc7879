#pragma once
// The cross-platform WireGuard UAPI (wireguard.com/xplatform) as text: the "set=1" request that
// configures a device and the reply to "get=1" that describes it. Pure functions, no I/O; the
// UAPI backend carries the text over the interface's unix socket.
#include <cstddef>
#include <string>
#include <string_view>

#include "tunnel/wg_types.h"

namespace wardgate::tunnel {

// Caps on what a daemon may answer: a reply larger than this, a longer line or more peers or
// allowed IPs are refused as malformed rather than buffered without bound.
constexpr std::size_t kUapiMaxReplyBytes = std::size_t{16} * 1024 * 1024;
constexpr std::size_t kUapiMaxLineBytes = 512;
constexpr std::size_t kUapiMaxPeers = 65536;
constexpr std::size_t kUapiMaxAllowedIps = 1 << 20;

// "set=1\n...\n\n": the whole request, ending with the empty line.
std::string encode_uapi_set(const DeviceConfig& config);
inline constexpr std::string_view kUapiGetRequest = "get=1\n\n";

struct UapiReply {
  bool complete = false;  // the terminating empty line was seen
  int errno_value = -1;   // the daemon's "errno=N"; 0 success (wireguard-go: -EINVAL etc.)
  std::string error;      // why the reply is malformed; empty when it is not
};

// Decodes the reply to get=1 (key=value lines, ending "errno=N" and an empty line). `state` is
// filled as far as the text is well formed.
UapiReply decode_uapi_get(std::string_view reply, DeviceState& state);
// Decodes the reply to set=1 ("errno=N" and an empty line).
UapiReply decode_uapi_errno(std::string_view reply);

// Whether `buffer` already holds a whole reply (ends with an empty line).
bool uapi_reply_complete(std::string_view buffer);

}  // namespace wardgate::tunnel
