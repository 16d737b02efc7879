#pragma once
// Where time comes from. Everything whose decisions depend on time (monitors, retention, timeouts,
// the policy engine) takes a Clock&, so tests can run it on simulated time (ManualClock) instead
// of sleeping. Steady time measures intervals and deadlines; system (wall) time is what records
// carry and what may jump (NTP, an operator setting the date).
#include <atomic>
#include <chrono>

namespace wardgate::common {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
  virtual std::chrono::system_clock::time_point system_now() const = 0;
};

// The real clocks.
class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point system_now() const override {
    return std::chrono::system_clock::now();
  }
  // The shared default instance (stateless, lives for the whole program).
  static SystemClock& instance();
};

// Simulated time that moves only when told to. Safe to read and move from several threads.
class ManualClock final : public Clock {
 public:
  // Starts at the given instants; by default the steady epoch and 2027-01-15T08:00:00Z (a fixed
  // date rather than the epoch, so code that formats or compares wall time sees a plausible one).
  explicit ManualClock(std::chrono::system_clock::time_point system_start = kDefaultStart,
                       std::chrono::steady_clock::time_point steady_start = {});

  std::chrono::steady_clock::time_point steady_now() const override;
  std::chrono::system_clock::time_point system_now() const override;

  // Time passes: both clocks move forward by `d` (negative durations are ignored: steady time
  // never goes back).
  void advance(std::chrono::nanoseconds d);
  // The wall clock is set (as NTP or an operator would): only system time changes, backwards too.
  void set_system(std::chrono::system_clock::time_point t);

  static constexpr std::chrono::system_clock::time_point kDefaultStart{
      std::chrono::seconds(1'800'000'000)};

 private:
  std::atomic<std::chrono::steady_clock::rep> steady_;
  std::atomic<std::chrono::system_clock::rep> system_;
};

}  // namespace wardgate::common
