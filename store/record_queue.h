#pragma once
// The bounded queue between the threads that record events and the store's single writer, with
// the tickets flush() waits on: every event handed to the store is either committed or counted
// lost, and flush() returns once all handed in before it are one or the other.
//
// A push into the full queue starts an overflow: the queue counts what it drops and when, and
// overflowing() stays true until the writer has drained it (end_overflow()), so the store can be
// degraded (and fail closed) for the whole episode and record it afterwards.
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/event.h"

namespace wardgate::store {

// What the writer needs of an event, made by the recording thread in one allocation so the
// writer neither encodes nor frees the event's many strings.
struct PendingRecord {
  std::int64_t time_us = 0;
  audit::Outcome outcome = audit::Outcome::kSuccess;
  audit::Severity severity = audit::Severity::kInfo;
  std::array<std::uint32_t, 4> lengths{};  // appliance, device, category, action; canonical follows
  std::string text;
  // The event as the store keeps it: made to fit (audit::fit_for_store) when it does not.
  static PendingRecord of(const audit::Event& event);
  std::string_view part(int i) const;
  std::string_view canonical() const;
};

// One episode of a full queue: records dropped, and the times (event time, Unix µs) of the first
// and last of them.
struct QueueOverflow {
  std::uint64_t dropped = 0;
  std::int64_t first_us = 0;
  std::int64_t last_us = 0;
};

class RecordQueue {
 public:
  explicit RecordQueue(std::size_t capacity) : capacity_(capacity) {}

  enum class Push : std::uint8_t { kQueued, kDropped, kOverflowStarted };
  // Anything but kQueued: the record counts as settled (lost). A push into the full queue
  // extends the overflow, or starts one (kOverflowStarted).
  Push push(PendingRecord record);
  // True from a push into the full queue until end_overflow() ends the episode.
  bool overflowing() const { return overflowing_.load(std::memory_order_acquire); }
  // Ends the overflow once no more than `queued_at_most` records wait (the writer has caught up)
  // and nothing was dropped for `quiet` (a flood that keeps the queue at its edge is one episode,
  // not many); returns what it dropped. Empty while not overflowing or not yet over.
  std::optional<QueueOverflow> end_overflow(std::size_t queued_at_most,
                                            std::chrono::steady_clock::duration quiet);
  std::size_t capacity() const { return capacity_; }
  // A record refused before it reached the queue: settled at once.
  void refuse();
  // Waits up to `wait` for records (only when `want` is set) or stop(); then moves up to `max`
  // records into `out` when `want` is set. Returns true once stop() was called.
  bool wait_and_take(std::vector<PendingRecord>& out, std::size_t max,
                     std::chrono::milliseconds wait, bool want);
  // Moves up to `max` records into `out` without waiting; false if there were none.
  bool take(std::vector<PendingRecord>& out, std::size_t max);
  bool empty() const;
  // `n` taken records were committed (or given up): wakes flush().
  void settle(std::size_t n);
  // Waits until every record pushed or refused before the call is settled, or `timeout`.
  bool flush(std::chrono::milliseconds timeout);
  void stop();
  // After the writer ended: drops what is still queued and settles everything; returns how many
  // records were dropped.
  std::size_t drop_all();

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;    // records queued, stop, or a flush asking the writer
  std::condition_variable settled_;  // tickets settled
  std::deque<PendingRecord> queue_;
  std::uint64_t handed_ = 0;     // tickets handed out
  std::uint64_t settled_n_ = 0;  // tickets committed or lost
  bool stopping_ = false;
  QueueOverflow overflow_;  // the current episode
  std::chrono::steady_clock::time_point last_drop_;
  std::atomic<bool> overflowing_{false};
};

}  // namespace wardgate::store
