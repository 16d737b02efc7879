#pragma once
// Plain loopback sockets for the proxy's tests over real TCP: a listener on an ephemeral port,
// connecting, sending and bounded receiving (every wait ends within 5 s).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

namespace wardgate::proxy::testing {

// A loopback listener on an ephemeral port; closed with the object.
struct Listener {
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd, 16), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The next connection, or -1 if none arrives within `ms`.
  int accept_within(int ms) const {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, ms) <= 0) return -1;
    return ::accept(fd, nullptr, nullptr);
  }

  int fd = -1;
  std::uint16_t port = 0;
};

// A port nothing listens on now (the proxy binds it right after).
inline std::uint16_t free_port() {
  const Listener probe;
  return probe.port;
}

inline int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

inline void send_text(int fd, const std::string& text) {
  ASSERT_EQ(::send(fd, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
}

// Reads `n` bytes, or what came before EOF, an error or a 5 s silence.
inline std::string receive(int fd, std::size_t n) {
  std::string out;
  std::array<char, 256> buf{};
  while (out.size() < n) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 5000) <= 0) break;
    const ssize_t got = ::recv(fd, buf.data(), std::min(buf.size(), n - out.size()), 0);
    if (got <= 0) break;
    out.append(buf.data(), static_cast<std::size_t>(got));
  }
  return out;
}

}  // namespace wardgate::proxy::testing
