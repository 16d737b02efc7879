#include "proxy/socket_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <fstream>
#include <sstream>

namespace wardgate::proxy {
namespace {

std::error_code set_int(int fd, int level, int name, int value) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
    return {errno, std::generic_category()};
  }
  return {};
}

}  // namespace

std::error_code set_nodelay(int fd) { return set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1); }

std::error_code arm_quickack(int fd) { return set_int(fd, IPPROTO_TCP, TCP_QUICKACK, 1); }

std::error_code set_buffers(int fd, int bytes) {
  if (auto ec = set_int(fd, SOL_SOCKET, SO_SNDBUF, bytes)) return ec;
  return set_int(fd, SOL_SOCKET, SO_RCVBUF, bytes);
}

std::error_code set_congestion_control(int fd, const std::string& algorithm) {
  if (::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, algorithm.data(),
                   static_cast<socklen_t>(algorithm.size())) != 0) {
    return {errno, std::generic_category()};
  }
  return {};
}

std::error_code set_keepalive(int fd, const KeepAlive& keepalive) {
  if (keepalive.idle_s <= 0) return set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 0);
  if (auto ec = set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, keepalive.idle_s)) return ec;
  if (auto ec = set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, keepalive.interval_s)) return ec;
  if (auto ec = set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, keepalive.count)) return ec;
  return set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
}

std::error_code tune_leg(int fd, const LegTuning& tuning) {
  if (auto ec = set_nodelay(fd)) return ec;
  if (auto ec = set_keepalive(fd, tuning.keepalive)) return ec;
  if (tuning.buffer_bytes > 0) {
    if (auto ec = set_buffers(fd, tuning.buffer_bytes)) return ec;
  }
  if (!tuning.congestion_control.empty()) {
    if (auto ec = set_congestion_control(fd, tuning.congestion_control)) return ec;
  }
  return {};
}

std::error_code set_transparent(int fd) { return set_int(fd, SOL_IP, IP_TRANSPARENT, 1); }

std::error_code set_bind_address_no_port(int fd) {
  return set_int(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1);
}

std::error_code set_reset_on_close(int fd) {
  const linger l{1, 0};
  if (::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) != 0) {
    return {errno, std::generic_category()};
  }
  return {};
}

bool congestion_control_available(const std::string& algorithm) {
  std::ifstream in("/proc/sys/net/ipv4/tcp_available_congestion_control");
  std::string name;
  while (in >> name) {
    if (name == algorithm) return true;
  }
  return false;
}

}  // namespace wardgate::proxy
