#pragma once
// The time retention measures age by. The wall clock may jump (an operator setting the date, a
// bad NTP source, a reset RTC): retention must never follow such a jump, or a clock set 185 days
// ahead empties the store. A jump is found by comparing the wall clock with the monotonic clock
// while running, and with the newest wall time the store holds at start. From then on the
// wall clock's offset from trusted time is carried (and kept in the store's meta table across
// restarts): trusted time is the wall clock minus a forward offset, so it is never ahead of
// what the monotonic clock says has passed. The offset is dropped once trusted time is one
// retention period past the jump: every record from before the jump is then truly that old, and
// the records after it carry the current clock's scale. Not thread-safe (the store serialises).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/clock.h"
#include "store/store_schema.h"

namespace wardgate::store {

struct ClockEvent {
  enum class Kind : std::uint8_t { kJump, kOffsetCleared };
  Kind kind = Kind::kJump;
  std::string_view reason;       // what found the jump (or why the offset was dropped)
  std::int64_t wall_us = 0;      // the wall clock
  std::int64_t expected_us = 0;  // what the wall clock would say had it kept step
  std::int64_t offset_us = 0;    // the wall clock minus trusted time, from now on
  std::int64_t trusted_us = 0;   // trusted time now
  std::int64_t jump_us() const { return wall_us - expected_us; }
};

class RetentionClock {
 public:
  struct Options {
    // A difference between wall and monotonic time larger than this is a jump.
    std::chrono::microseconds threshold = std::chrono::minutes(5);
    // At start the time since the newest wall time the store holds is downtime, unknown to the
    // monotonic clock: up to this much is believed, more is taken for a clock set ahead.
    std::chrono::microseconds max_downtime = std::chrono::hours(24 * 7);
    std::chrono::microseconds retention = std::chrono::hours(184 * 24);
  };
  // Reads the offset carried from earlier runs and the newest wall time in `db`, and compares
  // the wall clock with it; start_event() says what was found.
  RetentionClock(const common::Clock& clock, Database& db, Options options);

  // A jump found at start, if any (returned once).
  std::optional<ClockEvent> start_event();
  // Compares the wall clock with the monotonic clock since the last call: a jump, or the
  // offset being dropped, is returned once.
  std::optional<ClockEvent> check();
  // Trusted now, in microseconds since the Unix epoch.
  std::int64_t trusted_now_us() const;
  std::int64_t wall_now_us() const;
  std::int64_t offset_us() const { return offset_us_; }
  // Keeps the offset and the wall clock's reading in `db` (inside the caller's transaction).
  void save(Database& db) const;

 private:
  std::int64_t expected_wall_us() const;
  ClockEvent jumped(std::string_view reason, std::int64_t wall, std::int64_t expected);

  const common::Clock& clock_;
  Options options_;
  std::int64_t offset_us_ = 0;
  std::optional<std::int64_t> jump_trusted_us_;  // trusted time at the last jump
  // The last agreeing reading of both clocks: the reference the next check measures from.
  std::int64_t ref_wall_us_ = 0;
  std::chrono::steady_clock::time_point ref_steady_;
  std::optional<ClockEvent> start_event_;
};

}  // namespace wardgate::store
