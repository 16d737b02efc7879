#pragma once
// Relays one proxied connection in both directions, never changing a byte. One coroutine per
// direction on the session's thread; a direction reads, shows the bytes to the inspector, writes
// them whole to the other leg and only then reads again, so a slow receiver stalls its sender
// through TCP flow control instead of making wardgate buffer (backpressure). FIN is propagated as
// a half-close, RST as RST. Bytes the inspector does not need move socket to socket with splice
// (zero copy); the others through a chunk buffer held only while data is in flight.
#include <chrono>
#include <cstdint>

#include "proxy/asio.h"
#include "proxy/buffer_pool.h"
#include "proxy/inspector.h"
#include "proxy/pipe_pool.h"

namespace wardgate::proxy {

struct RelayOptions {
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};
  bool quickack = true;   // re-arm TCP_QUICKACK after every read (split TCP)
  bool zero_copy = true;  // splice opaque bytes instead of copying them through user space
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
  // Without an inspector every byte is opaque.
  Relay(tcp::socket& device, tcp::socket& upstream, BufferPool& buffers, PipePool& pipes,
        Inspector* inspector, RelayOptions options);

  // Completes when both directions have ended.
  awaitable<void> run();

  // Ends the relay from outside (drain deadline); call on the session's executor.
  void shutdown() { abort(CloseCause::kShutdown, false); }

  const RelayCounters& counters() const { return counters_; }

 private:
  struct Leg {
    tcp::socket& from;
    tcp::socket& to;
    Direction direction;
    std::uint64_t& bytes;
    std::uint64_t& chunks;
    std::uint64_t opaque = 0;  // bytes still to relay without showing them
  };

  awaitable<void> pump(Leg leg);
  // A burst reads until the source is drained; true when the direction has ended.
  awaitable<bool> copy_burst(Leg& leg);
  awaitable<bool> splice_burst(Leg& leg, PipePool::Lease& pipe);
  awaitable<void> watchdog();
  // Waits until no write to `to` is in progress; false if the relay was aborted meanwhile.
  awaitable<bool> wait_turn(const tcp::socket& to);
  // Writes the inspector's own message for `direction`, if one is ready, to that direction's
  // receiver `to`; the caller holds the turn on `to`.
  awaitable<boost::system::error_code> inject(Direction direction, tcp::socket& to);
  // Sends the inspector's response to both sides, then closes both (FIN); bounded by
  // kRespondTimeout.
  awaitable<void> respond_and_close(Response response);

  std::uint64_t ask_opaque(Direction direction) const;
  void relayed_opaque(Leg& leg, std::size_t n);
  // Ends the direction after a read returned EOF or an error; always returns true.
  bool end_after_read(Leg& leg, const boost::system::error_code& ec);
  // Ends the direction after a write to leg.to failed; always returns true.
  bool end_after_write_failure(Leg& leg);
  // Closes both legs; with `reset`, the peers see RST instead of FIN.
  void abort(CloseCause cause, bool reset);
  void end_direction(Direction direction, CloseCause cause);
  void touch() { last_activity_ = std::chrono::steady_clock::now(); }
  // A write to `to` is in progress, or a pump holds its turn on it (see copy_burst).
  bool& writing(const tcp::socket& to) {
    return &to == &device_ ? writing_to_device_ : writing_to_upstream_;
  }

  tcp::socket& device_;
  tcp::socket& upstream_;
  BufferPool& buffers_;
  PipePool& pipes_;
  Inspector* inspector_;
  RelayOptions options_;
  RelayCounters counters_;
  std::chrono::steady_clock::time_point last_activity_;
  // A write to this socket is in progress: wardgate's own response must wait for it, or the two
  // would interleave on the wire.
  bool writing_to_device_ = false;
  bool writing_to_upstream_ = false;
  bool aborted_ = false;
  CloseCause abort_cause_ = CloseCause::kShutdown;
};

}  // namespace wardgate::proxy
