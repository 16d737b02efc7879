// Fuzz target: what the kernel's NFLOG delivers (nat/flow_log_reader.h) and the packet headers
// inside it (nat/packet_summary.h). Both read bytes shaped by whoever sends packets on the VLAN.
//
// Input: read twice, as one datagram from the NFLOG socket (its packets decoded into
// observations, as FlowLogReader does) and as the first bytes of an IP packet (the NFLOG payload).
// The bytes are copied into a buffer of exactly their size, so ASan reports any read past it.
// Oracle: a crash, a sanitizer report, or a broken invariant: every span the decoder hands out
// lies inside the datagram, prefixes and hardware addresses respect their caps; an observation's
// addresses print back to the bytes they came from (IPv4: the host-order value too); a later
// fragment carries no ports; a protocol always has a name once the addresses are read.
#include <arpa/inet.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_check.h"
#include "nat/flow_log_reader.h"
#include "nat/packet_summary.h"

namespace {

using wardgate::common::FlowObservation;
using wardgate::fuzz::check;

bool inside(std::span<const std::uint8_t> part, std::span<const std::uint8_t> whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_observation(const FlowObservation& f) {
  check(f.family == 0 || f.family == 4 || f.family == 6, "family other than 0, 4 or 6");
  if (f.family == 0) {
    check(f.source.empty() && f.destination.empty(), "addresses without a family");
    return;
  }
  check(!f.protocol_name.empty(), "a protocol without a name");
  if (f.later_fragment) {
    check(f.source_port == 0 && f.destination_port == 0, "ports in a later fragment");
  }
  if (f.family == 4) {
    std::array<std::uint8_t, 4> bytes{};
    check(::inet_pton(AF_INET, f.source.c_str(), bytes.data()) == 1, "source is no IPv4 text");
    const std::uint32_t value = (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
                                (std::uint32_t{bytes[2]} << 8) | bytes[3];
    check(value == f.source_v4, "source text and host-order value differ");
  } else {
    std::array<std::uint8_t, 16> bytes{};
    check(::inet_pton(AF_INET6, f.destination.c_str(), bytes.data()) == 1,
          "destination is no IPv6 text");
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry point
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  const std::span<const std::uint8_t> whole(bytes);

  (void)wardgate::nat::parse_nflog_datagram(whole, [&](const wardgate::nat::NflogPacket& p) {
    check(inside(p.payload, whole), "payload outside the datagram");
    check(inside(p.hwaddr, whole), "hardware address outside the datagram");
    check(p.hwaddr.size() <= 8, "hardware address longer than 8 bytes");
    check(p.prefix.size() <= wardgate::nat::kMaxPrefix, "prefix longer than its cap");
    FlowObservation f;
    (void)wardgate::nat::to_observation(p, {}, f);
    check(f.reason.size() <= p.prefix.size(), "reason longer than the prefix");
    check(!f.has_mac || p.hwaddr.size() == 6, "a MAC from a hardware address of another size");
    check_observation(f);
  });

  FlowObservation f;
  (void)wardgate::nat::summarize_packet(whole, f);
  check_observation(f);
  return 0;
}
