#include "nat/nat_error.h"

#include "common/error_category.h"

namespace wardgate::nat {

const std::error_category& nat_category() noexcept {
  static const common::ErrorCategory<Errc> category("wardgate.nat", [](Errc e) {
    switch (e) {
      case Errc::kNetlinkSocket:
        return "cannot open a NETLINK_NETFILTER socket";
      case Errc::kNflogRefused:
        return "the kernel refused the NFLOG subscription";
      case Errc::kNflogNoAnswer:
        return "no answer from nfnetlink_log";
      case Errc::kMalformedMessage:
        return "malformed netlink message";
      case Errc::kTruncatedPacket:
        return "packet truncated before its headers end";
      case Errc::kNotIp:
        return "not an IPv4 or IPv6 packet";
      case Errc::kBadIpHeader:
        return "invalid IP header";
      case Errc::kTooManyExtensionHeaders:
        return "too many IPv6 extension headers";
    }
    return "";
  });
  return category;
}

}  // namespace wardgate::nat
