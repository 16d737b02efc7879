#include "store/retention_clock.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string>

#include "audit/event_decode.h"

namespace wardgate::store {
namespace {

// meta keys: the offset (wall clock minus trusted time), the trusted time of the jump that
// made it, and the wall clock's last reading (for the comparison at the next start).
constexpr const char* kMetaOffset = "clock_offset_us";
constexpr const char* kMetaJumpTrusted = "clock_jump_trusted_us";
constexpr const char* kMetaWall = "clock_wall_us";

std::optional<std::int64_t> meta_int(Database& db, const char* key) {
  const auto text = read_meta(db, key);
  if (!text || text->empty()) return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return v;
}

std::optional<std::int64_t> newest_time_us(Database& db) {
  auto s = db.prepare("SELECT max_time_us FROM time_zones ORDER BY first_seq DESC LIMIT 1");
  std::optional<std::int64_t> newest;
  if (s.step()) newest = s.column_int(0);
  if (const auto wall = meta_int(db, kMetaWall)) newest = std::max(newest.value_or(*wall), *wall);
  return newest;
}

}  // namespace

RetentionClock::RetentionClock(const common::Clock& clock, Database& db, Options options)
    : clock_(clock), options_(options) {
  offset_us_ = meta_int(db, kMetaOffset).value_or(0);
  jump_trusted_us_ = meta_int(db, kMetaJumpTrusted);
  ref_wall_us_ = wall_now_us();
  ref_steady_ = clock_.steady_now();
  const auto newest = newest_time_us(db);
  if (!newest) return;
  const std::int64_t threshold = options_.threshold.count();
  if (ref_wall_us_ < *newest - threshold) {
    start_event_ = jumped("wall-clock-behind-stored-time", ref_wall_us_, *newest);
  } else if (ref_wall_us_ - *newest > options_.max_downtime.count()) {
    // No downtime is credited: trusted time goes on from the newest time the store holds.
    start_event_ = jumped("wall-clock-far-ahead-of-stored-time", ref_wall_us_, *newest);
  }
}

std::optional<ClockEvent> RetentionClock::start_event() {
  auto e = start_event_;
  start_event_.reset();
  return e;
}

std::int64_t RetentionClock::wall_now_us() const { return audit::to_unix_us(clock_.system_now()); }

std::int64_t RetentionClock::expected_wall_us() const {
  return ref_wall_us_ +
         std::chrono::duration_cast<std::chrono::microseconds>(clock_.steady_now() - ref_steady_)
             .count();
}

std::int64_t RetentionClock::trusted_now_us() const {
  // The monotonic bound holds even before check() has seen a jump.
  return std::min(wall_now_us(), expected_wall_us()) - std::max<std::int64_t>(offset_us_, 0);
}

ClockEvent RetentionClock::jumped(std::string_view reason, std::int64_t wall,
                                  std::int64_t expected) {
  offset_us_ += wall - expected;
  if (std::abs(offset_us_) <= options_.threshold.count()) {
    // Set back to where it should be: the wall clock is trusted again.
    offset_us_ = 0;
    jump_trusted_us_.reset();
  } else {
    jump_trusted_us_ = wall - std::max<std::int64_t>(offset_us_, 0);
  }
  ref_wall_us_ = wall;
  ref_steady_ = clock_.steady_now();
  return ClockEvent{ClockEvent::Kind::kJump,
                    reason,
                    wall,
                    expected,
                    offset_us_,
                    wall - std::max<std::int64_t>(offset_us_, 0)};
}

std::optional<ClockEvent> RetentionClock::check() {
  const std::int64_t wall = wall_now_us();
  const std::int64_t expected = expected_wall_us();
  if (std::abs(wall - expected) > options_.threshold.count()) {
    return jumped("wall-clock-vs-monotonic", wall, expected);
  }
  // Re-anchored at every agreeing reading, so NTP's slewing never adds up to a jump.
  ref_wall_us_ = wall;
  ref_steady_ = clock_.steady_now();
  const std::int64_t trusted = trusted_now_us();
  if (offset_us_ != 0 && jump_trusted_us_ && options_.retention.count() > 0 &&
      trusted - *jump_trusted_us_ >= options_.retention.count()) {
    offset_us_ = 0;
    jump_trusted_us_.reset();
    return ClockEvent{
        ClockEvent::Kind::kOffsetCleared, "retention-period-since-jump", wall, expected, 0, wall};
  }
  return std::nullopt;
}

void RetentionClock::save(Database& db) const {
  write_meta(db, kMetaOffset, std::to_string(offset_us_));
  write_meta(db, kMetaJumpTrusted, jump_trusted_us_ ? std::to_string(*jump_trusted_us_) : "");
  write_meta(db, kMetaWall, std::to_string(wall_now_us()));
}

}  // namespace wardgate::store
