#include "common/clock.h"

namespace wardgate::common {

using std::chrono::steady_clock;
using std::chrono::system_clock;

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

ManualClock::ManualClock(system_clock::time_point system_start,
                         steady_clock::time_point steady_start)
    : steady_(steady_start.time_since_epoch().count()),
      system_(system_start.time_since_epoch().count()) {}

steady_clock::time_point ManualClock::steady_now() const {
  return steady_clock::time_point(steady_clock::duration(steady_.load()));
}

system_clock::time_point ManualClock::system_now() const {
  return system_clock::time_point(system_clock::duration(system_.load()));
}

void ManualClock::advance(std::chrono::nanoseconds d) {
  if (d.count() <= 0) return;
  steady_.fetch_add(std::chrono::duration_cast<steady_clock::duration>(d).count());
  system_.fetch_add(std::chrono::duration_cast<system_clock::duration>(d).count());
}

void ManualClock::set_system(system_clock::time_point t) {
  system_.store(t.time_since_epoch().count());
}

}  // namespace wardgate::common
