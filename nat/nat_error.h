#pragma once
// The errors of nat/ that cross the module boundary as std::error_code (category "wardgate.nat"):
// opening the NFLOG subscription and decoding the packets it delivers. The kernel's errno, where
// there is one, is returned beside the code as text.
#include <system_error>

namespace wardgate::nat {

enum class Errc {
  // Opening the NFLOG subscription (nat/flow_log_reader.h).
  kNetlinkSocket = 1,  // socket(AF_NETLINK, NETLINK_NETFILTER) or bind failed
  kNflogRefused,       // the kernel refused a configuration message (group taken, no nfnetlink_log)
  kNflogNoAnswer,      // no acknowledgement for a configuration message
  // Decoding what the kernel delivers (nat/flow_log_reader.h, nat/packet_summary.h).
  kMalformedMessage,         // a netlink message or attribute whose length does not fit
  kTruncatedPacket,          // fewer bytes than the headers present need (copy range, fragment)
  kNotIp,                    // neither IPv4 nor IPv6
  kBadIpHeader,              // IPv4 header length below 20, IPv6 payload length inconsistent, ...
  kTooManyExtensionHeaders,  // IPv6 extension header chain longer than the cap
};

const std::error_category& nat_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), nat_category()};
}

}  // namespace wardgate::nat

template <>
struct std::is_error_code_enum<wardgate::nat::Errc> : std::true_type {};
