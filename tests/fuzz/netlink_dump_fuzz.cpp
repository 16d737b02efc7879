// Fuzz target: the decoder of the kernel's WG_CMD_GET_DEVICE dump (tunnel/netlink_codec.h), which
// reads what the kernel (or whatever answers on a netlink socket) sends back.
//
// Input: one datagram as read from the socket; its messages are split, NLMSG_ERROR parsed, the
// family's messages (type kFamily) merged by the DumpDecoder and NLMSG_DONE ends the dump. The
// bytes are copied into a buffer of exactly their size, so ASan reports any read past the end.
// Oracle: a crash, a sanitizer report, or a broken invariant: the caps on peers and allowed IPs
// hold; decoded prefixes and endpoints print back to text that parses to the same value (what
// `wardgate tunnel status` shows is what the kernel said); nothing is decoded after the dump ended.
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "fuzz_check.h"
#include "fuzz_device_state.h"
#include "tunnel/netlink_codec.h"

namespace {

using namespace wardgate::tunnel;

constexpr std::uint16_t kFamily = 0x1c;  // any id >= NLMSG_MIN_TYPE; the seeds use this one

using wardgate::fuzz::check;

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry point
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> datagram(data, data + size);
  std::vector<wgnl::Message> messages;
  if (!wgnl::split_messages(datagram, messages).empty()) return 0;
  wgnl::DumpDecoder decoder;
  for (const auto& m : messages) {
    if (decoder.done()) break;  // the backend stops reading at the end of the dump
    if (m.type == NLMSG_ERROR) {
      int error = 0;
      std::string text;
      (void)wgnl::parse_error(m, error, text);
      check(error >= 0, "a negative errno from parse_error");
    } else if (m.type == NLMSG_DONE) {
      (void)decoder.finish(m);
    } else if (m.type == kFamily) {
      if (!decoder.add(m).empty()) break;  // the backend gives up at the first malformed one
    }
  }
  const DeviceState& state = decoder.state();
  wardgate::fuzz::check_device_state(state, wgnl::kMaxPeers, wgnl::kMaxAllowedIps);
  return 0;
}
