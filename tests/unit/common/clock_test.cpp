#include "common/clock.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace wardgate::common {
namespace {

using namespace std::chrono_literals;

TEST(SystemClock, FollowsTheRealClocks) {
  Clock& clock = SystemClock::instance();
  EXPECT_EQ(&clock, &SystemClock::instance());
  const auto steady_before = std::chrono::steady_clock::now();
  const auto system_before = std::chrono::system_clock::now();
  const auto steady = clock.steady_now();
  const auto system = clock.system_now();
  EXPECT_GE(steady, steady_before);
  EXPECT_LE(steady, std::chrono::steady_clock::now());
  EXPECT_GE(system, system_before - 1s);  // the wall clock may be set meanwhile, rarely
  EXPECT_LE(system, std::chrono::system_clock::now() + 1s);
}

TEST(ManualClock, StandsStillUntilAdvanced) {
  ManualClock clock;
  EXPECT_EQ(clock.system_now(), ManualClock::kDefaultStart);
  EXPECT_EQ(clock.steady_now(), std::chrono::steady_clock::time_point{});
  EXPECT_EQ(clock.system_now(), ManualClock::kDefaultStart);
  clock.advance(1500ms);
  EXPECT_EQ(clock.system_now(), ManualClock::kDefaultStart + 1500ms);
  EXPECT_EQ(clock.steady_now().time_since_epoch(), 1500ms);
}

TEST(ManualClock, StartsWhereTold) {
  const auto wall = std::chrono::system_clock::time_point(1'000'000'000s);
  const auto steady = std::chrono::steady_clock::time_point(42s);
  ManualClock clock(wall, steady);
  EXPECT_EQ(clock.system_now(), wall);
  EXPECT_EQ(clock.steady_now(), steady);
}

TEST(ManualClock, SettingTheWallClockLeavesSteadyTimeAlone) {
  ManualClock clock;
  clock.advance(10s);
  clock.set_system(ManualClock::kDefaultStart - 1h);  // set back, as NTP might
  EXPECT_EQ(clock.system_now(), ManualClock::kDefaultStart - 1h);
  EXPECT_EQ(clock.steady_now().time_since_epoch(), 10s);
  clock.advance(5s);
  EXPECT_EQ(clock.system_now(), ManualClock::kDefaultStart - 1h + 5s);
  EXPECT_EQ(clock.steady_now().time_since_epoch(), 15s);
}

TEST(ManualClock, SteadyTimeNeverGoesBack) {
  ManualClock clock;
  clock.advance(3s);
  clock.advance(-2s);
  clock.advance(0s);
  EXPECT_EQ(clock.steady_now().time_since_epoch(), 3s);
  EXPECT_EQ(clock.system_now(), ManualClock::kDefaultStart + 3s);
}

TEST(ManualClock, AdvancesFromSeveralThreadsAddUp) {
  ManualClock clock;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < 10'000; ++i) {
        clock.advance(1ms);
        (void)clock.steady_now();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(clock.steady_now().time_since_epoch(), 40s);
  EXPECT_EQ(clock.system_now(), ManualClock::kDefaultStart + 40s);
}

}  // namespace
}  // namespace wardgate::common
