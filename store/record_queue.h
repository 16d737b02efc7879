#pragma once
// The bounded queue between the threads that record events and the store's single writer, with
// the tickets flush() waits on: every event handed to the store is either committed or counted
// lost, and flush() returns once all handed in before it are one or the other.
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
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

class RecordQueue {
 public:
  explicit RecordQueue(std::size_t capacity) : capacity_(capacity) {}

  // False (the record counts as settled: lost) when full or stopped.
  bool push(PendingRecord record);
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
};

}  // namespace wardgate::store
