#include <gtest/gtest.h>

#include "store/disk_health.h"
#include "store/record_queue.h"
#include "store/store_error.h"

namespace wardgate::store {
namespace {

TEST(DiskHealth, RefusesBelowMinimumAndRecoversTenPercentAbove) {
  std::uint64_t free_now = 1000;
  DiskHealth disk("/x/audit.db", 100, [&](const std::string&) { return free_now; });
  std::uint64_t seen = 0;
  EXPECT_EQ(disk.check(seen), DiskHealth::Change::kNone);
  EXPECT_EQ(seen, 1000U);
  free_now = 99;
  EXPECT_EQ(disk.check(seen), DiskHealth::Change::kBecameLow);
  EXPECT_TRUE(disk.refusing());
  free_now = 105;  // above the minimum, not yet 10 % above it
  EXPECT_EQ(disk.check(seen), DiskHealth::Change::kNone);
  EXPECT_TRUE(disk.refusing());
  free_now = 110;
  EXPECT_EQ(disk.check(seen), DiskHealth::Change::kRecovered);
  EXPECT_FALSE(disk.refusing());
}

TEST(RecordQueue, BoundedAndEveryTicketSettles) {
  using Push = RecordQueue::Push;
  RecordQueue queue(2);
  audit::Event e;
  e.action = "a";
  EXPECT_EQ(queue.push(PendingRecord::of(e)), Push::kQueued);
  EXPECT_EQ(queue.push(PendingRecord::of(e)), Push::kQueued);
  EXPECT_EQ(queue.push(PendingRecord::of(e)), Push::kOverflowStarted);  // full: settled as lost
  queue.refuse();
  EXPECT_FALSE(queue.flush(std::chrono::milliseconds(10)));  // two still queued
  std::vector<PendingRecord> taken;
  EXPECT_FALSE(queue.wait_and_take(taken, 10, std::chrono::milliseconds(0), true));
  ASSERT_EQ(taken.size(), 2U);
  EXPECT_EQ(taken[0].part(3), "a");
  EXPECT_EQ(taken[0].canonical(), audit::to_json(e));
  queue.settle(taken.size());
  EXPECT_TRUE(queue.flush(std::chrono::milliseconds(10)));
  queue.stop();
  EXPECT_EQ(queue.push(PendingRecord::of(e)), Push::kDropped);
  EXPECT_TRUE(queue.wait_and_take(taken, 10, std::chrono::milliseconds(0), true));
}

// An overflow is one episode from the first drop until the writer has caught up and no drop
// came for the quiet time: it says how many were dropped and the first and last event times.
TEST(RecordQueue, OverflowIsOneEpisodeUntilDrainedAndQuiet) {
  using Push = RecordQueue::Push;
  RecordQueue queue(4);
  const auto at = [](std::int64_t us) {
    audit::Event e;
    e.time = std::chrono::system_clock::time_point(std::chrono::microseconds(us));
    e.action = "operation";
    return PendingRecord::of(e);
  };
  for (int i = 0; i < 4; ++i) ASSERT_EQ(queue.push(at(i)), Push::kQueued);
  EXPECT_FALSE(queue.overflowing());
  EXPECT_EQ(queue.push(at(100)), Push::kOverflowStarted);
  EXPECT_TRUE(queue.overflowing());
  EXPECT_EQ(queue.push(at(200)), Push::kDropped);
  EXPECT_EQ(queue.push(at(300)), Push::kDropped);
  // Still full: not over, whatever the quiet time.
  EXPECT_FALSE(queue.end_overflow(2, std::chrono::seconds(0)));
  std::vector<PendingRecord> taken;
  queue.take(taken, 3);
  // Drained, but a drop came less than the quiet time ago.
  EXPECT_FALSE(queue.end_overflow(2, std::chrono::hours(1)));
  EXPECT_TRUE(queue.overflowing());
  const auto ended = queue.end_overflow(2, std::chrono::seconds(0));
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->dropped, 3u);
  EXPECT_EQ(ended->first_us, 100);
  EXPECT_EQ(ended->last_us, 300);
  EXPECT_FALSE(queue.overflowing());
  EXPECT_FALSE(queue.end_overflow(2, std::chrono::seconds(0))) << "ended once";
  // The next overflow is a new episode with its own count.
  ASSERT_EQ(queue.push(at(400)), Push::kQueued);
  ASSERT_EQ(queue.push(at(401)), Push::kQueued);
  ASSERT_EQ(queue.push(at(402)), Push::kQueued);
  EXPECT_EQ(queue.push(at(500)), Push::kOverflowStarted);
  queue.take(taken, 4);
  const auto second = queue.end_overflow(0, std::chrono::seconds(0));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->dropped, 1u);
  EXPECT_EQ(second->first_us, 500);
}

TEST(StoreError, OwnCategory) {
  const std::error_code ec = Errc::kWriteFailed;
  EXPECT_STREQ(ec.category().name(), "wardgate.store");
  EXPECT_FALSE(ec.message().empty());
}

}  // namespace
}  // namespace wardgate::store
