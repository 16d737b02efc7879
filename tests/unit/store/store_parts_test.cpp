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
  RecordQueue queue(2);
  audit::Event e;
  e.action = "a";
  EXPECT_TRUE(queue.push(PendingRecord::of(e)));
  EXPECT_TRUE(queue.push(PendingRecord::of(e)));
  EXPECT_FALSE(queue.push(PendingRecord::of(e)));  // full: settled as lost
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
  EXPECT_FALSE(queue.push(PendingRecord::of(e)));
  EXPECT_TRUE(queue.wait_and_take(taken, 10, std::chrono::milliseconds(0), true));
}

TEST(StoreError, OwnCategory) {
  const std::error_code ec = Errc::kWriteFailed;
  EXPECT_STREQ(ec.category().name(), "wardgate.store");
  EXPECT_FALSE(ec.message().empty());
}

}  // namespace
}  // namespace wardgate::store
