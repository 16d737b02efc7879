#pragma once
// Split TCP only beats the routed path if each leg's window can cover the path: 10 Gbit/s over a
// 1 ms round trip is 1.25 MB in flight, and Linux gives about half of a socket buffer to payload.
// With kernel autotuning (the default) the ceiling is net.ipv4.tcp_{r,w}mem's maximum; this
// raises it where it is lower. Per network namespace.
#include <cstddef>
#include <string>

namespace wardgate::proxy {

constexpr std::size_t kPathBufferBytes = 4u << 20;  // 2 x 1.25 MB, rounded up

// Returns a description of what was changed, or empty if nothing needed to be; errors are
// reported in the returned text, never thrown (the proxy works, only slower).
std::string ensure_tcp_buffer_ceiling(std::size_t bytes = kPathBufferBytes);

}  // namespace wardgate::proxy
