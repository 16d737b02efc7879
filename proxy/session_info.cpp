#include <arpa/inet.h>

#include <array>

#include "proxy/inspector.h"

namespace wardgate::proxy {
std::string ip_text(in_addr address) {
  std::array<char, INET_ADDRSTRLEN> buf{};
  ::inet_ntop(AF_INET, &address, buf.data(), buf.size());
  return buf.data();
}

std::string endpoint_text(in_addr address, std::uint16_t port) {
  return ip_text(address) + ":" + std::to_string(port);
}

const char* to_string(Direction d) {
  return d == Direction::kFromDevice ? "from-device" : "to-device";
}

const char* to_string(CloseCause c) {
  switch (c) {
    case CloseCause::kEof:
      return "eof";
    case CloseCause::kReset:
      return "reset";
    case CloseCause::kWriteFailed:
      return "write-failed";
    case CloseCause::kIdleTimeout:
      return "idle-timeout";
    case CloseCause::kInspector:
      return "inspector";
    case CloseCause::kShutdown:
      return "shutdown";
    case CloseCause::kFirstMessageTimeout:
      return "first-message-timeout";
    case CloseCause::kMessageTimeout:
      return "message-timeout";
    case CloseCause::kHeldBytesBudget:
      return "held-bytes-budget";
  }
  return "unknown";
}

const char* to_string(DeviceSide s) { return s == DeviceSide::kClient ? "client" : "server"; }

std::string describe(const SessionInfo& info) {
  return endpoint_text(info.client_addr, info.client_port) + " -> " +
         endpoint_text(info.server_addr, info.server_port) + " (" + info.service +
         (info.device_side == DeviceSide::kServer ? ", opened by the core)" : ")");
}

}  // namespace wardgate::proxy
