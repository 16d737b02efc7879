#pragma once
// Relays one proxied connection in both directions, never changing a byte. One coroutine per
// direction on the session's thread; a direction reads a chunk, shows it to the inspector, writes
// it whole to the other leg and only then reads again, so a slow receiver stalls its sender through
// TCP flow control instead of making wardgate buffer (backpressure). FIN is propagated as a
// half-close, RST as RST. A chunk buffer is held only while data is in flight.
#include <chrono>
#include <cstdint>

#include "proxy/asio.h"
#include "proxy/buffer_pool.h"
#include "proxy/inspector.h"

namespace wardgate::proxy {

struct RelayOptions {
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};
  bool quickack = true;  // re-arm TCP_QUICKACK after every read (split TCP)
};

struct RelayCounters {
  std::uint64_t bytes_from_device = 0;
  std::uint64_t bytes_to_device = 0;
  std::uint64_t chunks_from_device = 0;
  std::uint64_t chunks_to_device = 0;
  CloseCause from_device_end = CloseCause::kEof;
  CloseCause to_device_end = CloseCause::kEof;
};

class Relay {
 public:
  // Both sockets must be connected; the relay sets them non-blocking and closes them when done.
  Relay(tcp::socket& device, tcp::socket& upstream, BufferPool& pool, Inspector* inspector,
        RelayOptions options);

  // Completes when both directions have ended.
  awaitable<void> run();

  // Ends the relay from outside (drain deadline); call on the session's executor.
  void shutdown() { abort(CloseCause::kShutdown, false); }

  const RelayCounters& counters() const { return counters_; }

 private:
  awaitable<void> pump(tcp::socket& from, tcp::socket& to, Direction direction);
  awaitable<void> watchdog();
  // Closes both legs; with `reset`, the peers see RST instead of FIN.
  void abort(CloseCause cause, bool reset);
  void end_direction(Direction direction, CloseCause cause);

  tcp::socket& device_;
  tcp::socket& upstream_;
  BufferPool& pool_;
  Inspector* inspector_;
  RelayOptions options_;
  RelayCounters counters_;
  std::chrono::steady_clock::time_point last_activity_;
  bool aborted_ = false;
  CloseCause abort_cause_ = CloseCause::kShutdown;
};

}  // namespace wardgate::proxy
