#pragma once
// Matches HL7 acknowledgments (MSA-2) to the messages they acknowledge (MSH-10) and measures the
// latency. Pure: the caller passes the times (the inspector owns the clock). Bounded: at most
// max_pending messages wait; when full, the oldest is dropped and returned by the next expire().
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hl7/model.h"

namespace wardgate::hl7 {

class AckCorrelator {
 public:
  using Time = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  explicit AckCorrelator(std::size_t max_pending = 4096) : max_pending_(max_pending) {}

  // A message that expects an acknowledgment was sent. A repeated control ID (a resend) restarts
  // its wait.
  void on_message(std::string_view control_id, Time sent);
  // An acknowledgment arrived: the latency since its message, nullopt if none was waiting
  // (unknown, duplicate or already expired). `code` is accepted for symmetry with MSA-1; every
  // code ends the wait, as the sender's own wait ends.
  std::optional<Duration> on_ack(std::string_view control_id, AckCode code, Time received);
  // Control IDs that waited longer than `timeout` (oldest first), plus any dropped for room;
  // they are forgotten.
  std::vector<std::string> expire(Time now, Duration timeout);

  std::size_t pending() const { return by_id_.size(); }

 private:
  std::size_t max_pending_;
  std::uint64_t next_sequence_ = 0;
  struct Entry {
    Time sent;
    std::uint64_t sequence;
  };
  std::map<std::string, Entry, std::less<>> by_id_;
  std::map<std::uint64_t, std::string> by_sequence_;  // arrival order, for expiry
  std::vector<std::string> dropped_;
};

}  // namespace wardgate::hl7
