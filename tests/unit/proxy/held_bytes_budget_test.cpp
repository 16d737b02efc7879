#include "proxy/held_bytes_budget.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <thread>

namespace wardgate::proxy {
namespace {

TEST(HeldBytesBudget, RefusesWhatWouldExceedItsLimitAndTakesNothingThen) {
  HeldBytesBudget budget(100);
  EXPECT_TRUE(budget.try_take(60));
  EXPECT_FALSE(budget.try_take(41));
  EXPECT_EQ(budget.held(), 60u);
  EXPECT_TRUE(budget.try_take(40));
  EXPECT_FALSE(budget.try_take(1));
  budget.give_back(100);
  EXPECT_EQ(budget.held(), 0u);
}

TEST(HeldBytesBudget, ASessionShareGrowsShrinksAndGoesBackWhenDestroyed) {
  HeldBytesBudget budget(1000);
  {
    HeldBytes a(&budget);
    HeldBytes b(&budget);
    EXPECT_TRUE(a.resize(600));
    EXPECT_FALSE(b.resize(500));  // only 400 left
    EXPECT_EQ(b.bytes(), 0u);
    EXPECT_TRUE(b.resize(400));
    EXPECT_TRUE(a.resize(100));  // giving back always works
    EXPECT_EQ(budget.held(), 500u);
    EXPECT_TRUE(b.resize(900));
    EXPECT_EQ(budget.held(), 1000u);
  }
  EXPECT_EQ(budget.held(), 0u);
}

TEST(HeldBytesBudget, WithoutABudgetNothingIsRefused) {
  HeldBytes unlimited(nullptr);
  EXPECT_TRUE(unlimited.resize(std::size_t{1} << 40));
}

TEST(HeldBytesBudget, ConcurrentSessionsNeverTakeMoreThanTheLimit) {
  HeldBytesBudget budget(10'000);
  std::array<std::thread, 4> threads;
  std::atomic<std::size_t> peak{0};
  for (auto& thread : threads) {
    thread = std::thread([&] {
      HeldBytes share(&budget);
      for (int i = 0; i < 20'000; ++i) {
        share.resize(static_cast<std::size_t>((i * 7919) % 4000));
        std::size_t seen = budget.held();
        std::size_t prev = peak.load();
        while (seen > prev && !peak.compare_exchange_weak(prev, seen)) {
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), budget.limit());
  EXPECT_EQ(budget.held(), 0u);
}

}  // namespace
}  // namespace wardgate::proxy
