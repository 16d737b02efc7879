#pragma once
// How far the peer's TCP has acknowledged what was written on a socket: the exporter's evidence
// that records reached the collector's host (RFC 5425/6587 have no application acknowledgement).
// Kept apart because <linux/tcp.h> (tcp_info with tcpi_bytes_acked) clashes with <netinet/tcp.h>.
#include <cstdint>
#include <optional>

namespace wardgate::exporter {

struct TcpProgress {
  std::uint64_t acked = 0;    // bytes the peer acknowledged (tcpi_bytes_acked, RFC 4898)
  std::uint64_t written = 0;  // bytes written to the socket: acked + still queued (SIOCOUTQ)
};

// nullopt if `fd` is not a connected TCP socket or the kernel lacks tcpi_bytes_acked (< 4.1).
std::optional<TcpProgress> tcp_progress(int fd);

}  // namespace wardgate::exporter
