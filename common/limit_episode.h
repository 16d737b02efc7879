#pragma once
// A limit that is hit many times in a row (a port scan, a SYN flood) must produce one log line when
// it starts and one summary when it ends, never one line per refused attempt. LimitEpisode is that
// state machine; the caller decides what to log from the transitions it reports.
#include <cstdint>

namespace wardgate::common {

class LimitEpisode {
 public:
  // Records one refusal. Returns true when it opens a new episode (the caller logs the limit hit).
  bool on_refused() {
    ++refused_;
    if (active_) return false;
    active_ = true;
    return true;
  }

  // Records that the limited quantity is below its limit again. Returns the number of refusals
  // of the episode that just ended, or 0 if none was active (nothing to log).
  std::uint64_t on_recovered() {
    if (!active_) return 0;
    active_ = false;
    const std::uint64_t n = refused_;
    refused_ = 0;
    return n;
  }

  bool active() const { return active_; }
  std::uint64_t refused_in_episode() const { return refused_; }

 private:
  bool active_ = false;
  std::uint64_t refused_ = 0;
};

}  // namespace wardgate::common
