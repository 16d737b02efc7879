// Fuzz target: the decoder of the WireGuard UAPI "get=1" reply (tunnel/uapi_codec.h), which reads
// what a userspace daemon (wireguard-go, or whatever answers on the socket) writes back.
//
// Input: the reply bytes, as read from the socket. The bytes are copied into a buffer of exactly
// their size, so ASan reports any read past the end.
// Oracle: a crash, a sanitizer report, or a broken invariant: the caps on peers and allowed IPs
// hold; a reply accepted without error was complete and carried an errno; a value that was
// decoded prints back to text that decodes to the same value (what `wardgate tunnel status`
// shows is what the daemon said); decode_uapi_errno agrees with decode_uapi_get.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "fuzz_check.h"
#include "fuzz_device_state.h"
#include "tunnel/uapi_codec.h"

namespace {

using namespace wardgate::tunnel;

using wardgate::fuzz::check;

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry point
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto copy = std::make_unique<char[]>(size == 0 ? 1 : size);
  for (std::size_t i = 0; i < size; ++i) copy[i] = static_cast<char>(data[i]);
  const std::string_view reply(copy.get(), size);

  DeviceState state;
  const UapiReply r = decode_uapi_get(reply, state);

  wardgate::fuzz::check_device_state(state, kUapiMaxPeers, kUapiMaxAllowedIps);

  if (r.error.empty()) {
    check(r.complete, "accepted without the terminating empty line");
    check(reply.find("errno=") != std::string_view::npos, "accepted without an errno line");
    // The reply was accepted up to its empty line, so the socket reader, which stops at the
    // first buffer uapi_reply_complete() accepts, would have stopped there too.
    const auto end = reply == "\n" ? std::string_view::npos : reply.find("\n\n");
    check(reply.size() == 1 || end != std::string_view::npos, "accepted without \\n\\n");
    if (end != std::string_view::npos)
      check(uapi_reply_complete(reply.substr(0, end + 2)), "uapi_reply_complete disagrees");
  }

  // The set=1 reply goes through the same decoder: same verdict on the same bytes.
  const UapiReply e = decode_uapi_errno(reply);
  check(e.error == r.error && e.errno_value == r.errno_value && e.complete == r.complete,
        "decode_uapi_errno and decode_uapi_get disagree");
  return 0;
}
