#pragma once
// Relays one proxied connection in both directions, never changing a byte. One coroutine per
// direction (a pump) on the session's thread; a pump reads, shows the bytes to the inspector,
// writes them whole to the other leg and only then reads again, so a slow receiver stalls its
// sender through TCP flow control instead of making wardgate buffer (backpressure). FIN is
// propagated as a half-close, RST as RST. Bytes the inspector does not need move socket to socket
// with splice (zero copy); the others through a chunk buffer held only while data is in flight.
//
// Each receiving socket has one writer: the pump of the direction that ends there. What else is
// to be written there (a message the inspector injects while handling the other direction, the
// response when it closes the session) waits in that direction's outbox, and the pump writes it
// between two chunks, waking from its read wait for it. So wardgate's own bytes never interleave
// with relayed ones, and they land right after the bytes the inspector had seen when it asked.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "proxy/asio.h"
#include "proxy/buffer_pool.h"
#include "proxy/held_bytes_budget.h"
#include "proxy/inspector.h"
#include "proxy/pipe_pool.h"

namespace wardgate::proxy {

// Message deadlines apply where the inspector follows the stream's messages (Inspector::progress);
// a session that misses one is closed (FIN both ways) with the deadline as its cause. 0: none.
struct RelayOptions {
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};
  // The connection's opener (`opener`: its direction) completes its first message within this
  // time of the relay's start; a port scan or an idle connection does not hold a slot longer.
  std::chrono::milliseconds first_message_timeout{0};
  Direction opener = Direction::kFromDevice;
  // A message the device began is completed within this time (against a slowloris).
  std::chrono::milliseconds message_timeout{0};
  // The session's share of the global held-bytes budget; null: unlimited.
  HeldBytes* held = nullptr;
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
  // `device`: the device's leg, whichever end opened the connection; `upstream`: its peer's.
  // Without an inspector every byte is opaque.
  Relay(tcp::socket& device, tcp::socket& upstream, BufferPool& buffers, PipePool& pipes,
        Inspector* inspector, RelayOptions options);

  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

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

  // What waits to be written to one direction's receiver besides the relayed bytes.
  struct Outbox {
    std::deque<std::vector<std::byte>> messages;  // injected by the inspector, in order
    bool closing = false;  // the session is closing: write `response`, then end the direction
    std::optional<std::vector<std::byte>> response;  // no value: reset the receiver instead
    asio::steady_timer* wake = nullptr;  // cancelled to end the pump's read wait, while it waits
  };

  awaitable<void> pump(Leg leg);
  // A burst reads until the source is drained; true when the direction has ended.
  awaitable<bool> copy_burst(Leg& leg);
  awaitable<bool> splice_burst(Leg& leg, PipePool::Lease& pipe);
  awaitable<void> watchdog();
  // Writes what waits in the leg's outbox; false when the direction has ended (the write failed,
  // or the session closed and the response was written).
  awaitable<bool> deliver(Leg& leg);
  // Carries out an inspector's close of the session, asked on `leg`'s chunk; ends the direction.
  awaitable<void> close_session(Leg& leg, Response response);
  // The closing response on `leg.to`, then FIN (or a reset when there is none).
  awaitable<void> say_goodbye(Leg& leg);
  void post(Direction direction, std::vector<std::byte> message);

  Outbox& outbox(Direction direction) {
    return outboxes_[direction == Direction::kFromDevice ? 0 : 1];
  }
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
  // Takes what the inspector may come to hold for an `n`-byte chunk from the budget; false when
  // the budget cannot cover it.
  bool hold_for(std::size_t n);
  // After the inspector was shown or skipped bytes: its holdings and where its messages stand.
  void after_inspection(Direction direction);
  // When the watchdog must look next.
  std::chrono::steady_clock::time_point next_deadline() const;
  // The message deadline missed at `now`, if any.
  std::optional<CloseCause> missed_deadline(std::chrono::steady_clock::time_point now);

  tcp::socket& device_;
  tcp::socket& upstream_;
  BufferPool& buffers_;
  PipePool& pipes_;
  Inspector* inspector_;
  RelayOptions options_;
  RelayCounters counters_;
  std::chrono::steady_clock::time_point last_activity_;
  std::chrono::steady_clock::time_point started_;
  bool first_message_done_ = false;
  // The device's message under way: when it began, and the completed count it followed.
  std::optional<std::chrono::steady_clock::time_point> message_began_;
  std::uint64_t device_completed_ = 0;
  std::array<Outbox, 2> outboxes_;  // by direction: [0] to upstream, [1] to the device
  // Set while the inspector's close is answered; past it, both sides are reset.
  std::optional<std::chrono::steady_clock::time_point> closing_deadline_;
  asio::steady_timer* watchdog_timer_ = nullptr;  // while the watchdog waits
  bool aborted_ = false;                          // nothing more is forwarded
  CloseCause abort_cause_ = CloseCause::kShutdown;
};

}  // namespace wardgate::proxy
