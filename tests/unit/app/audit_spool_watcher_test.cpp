// The daemon records what `wardgate bypass` spooled, once, and the end of a bypass the kernel
// ended by itself (fakes for the kernel and the store's commit; the real ones are exercised by
// tests/integration/test_gateway.py).
#include "app/audit_spool_watcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "app/bypass_record.h"
#include "audit/memory_sink.h"

namespace wardgate::app {
namespace {

namespace fs = std::filesystem;
using std::chrono::minutes;
using std::chrono::seconds;

class AuditSpoolWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wardgate-watch-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  AuditSpoolWatcher watcher() {
    return {dir_, "gw", sink_,
            AuditSpoolWatcher::Hooks{[this] { return in_kernel_; }, [this] { return commits_; }},
            clock_};
  }

  ActiveBypass bypass_from_now(minutes length) {
    return {clock_.system_now(), clock_.system_now() + length, "PACS migration", "alice"};
  }

  fs::path dir_;
  audit::MemorySink sink_;
  common::ManualClock clock_;
  bool in_kernel_ = true;
  bool commits_ = true;
};

TEST_F(AuditSpoolWatcherTest, RecordsASpooledStartOnceEvenWhileTheStoreCannotCommit) {
  const auto bypass = bypass_from_now(minutes(30));
  store::EventSpool(dir_).put(bypass_started_event("gw", bypass, {"vlan0"}));
  auto w = watcher();
  commits_ = false;
  w.tick();
  w.tick();
  ASSERT_EQ(sink_.events().size(), 1u);
  EXPECT_EQ(sink_.events()[0].action, "bypass-started");
  EXPECT_EQ(store::EventSpool(dir_).take().size(), 1u) << "kept until committed";
  commits_ = true;
  w.tick();
  EXPECT_EQ(sink_.events().size(), 1u);
  EXPECT_TRUE(store::EventSpool(dir_).take().empty());
}

TEST_F(AuditSpoolWatcherTest, RecordsTheEndOfABypassTheKernelLetExpireAtItsEndTime) {
  const auto bypass = bypass_from_now(minutes(30));
  write_active_bypass(dir_, bypass);
  auto w = watcher();
  w.tick();
  EXPECT_TRUE(sink_.events().empty()) << "still in the kernel";
  clock_.advance(minutes(45));  // expired while nobody looked (wardgate was down, say)
  in_kernel_ = false;
  w.tick();
  const auto events = sink_.events();
  ASSERT_EQ(events.size(), 1u);
  const auto& end = events[0];
  EXPECT_EQ(end.action, "bypass-ended");
  EXPECT_EQ(end.time, bypass.until);
  EXPECT_EQ(std::get<std::string>(*end.fields.find("how")), "expired");
  EXPECT_EQ(std::get<std::string>(*end.fields.find("reason")), "PACS migration");
  EXPECT_FALSE(read_active_bypass(dir_));
  w.tick();
  EXPECT_EQ(sink_.events().size(), 1u) << "the end is recorded once";
}

TEST_F(AuditSpoolWatcherTest, ABypassGoneEarlyIsRecordedAsRemovedAndOnlyOnceCommitted) {
  write_active_bypass(dir_, bypass_from_now(minutes(30)));
  auto w = watcher();
  clock_.advance(minutes(5));
  in_kernel_ = false;
  commits_ = false;
  w.tick();
  w.tick();
  ASSERT_EQ(sink_.events().size(), 1u);
  EXPECT_EQ(std::get<std::string>(*sink_.events()[0].fields.find("how")), "removed");
  EXPECT_TRUE(read_active_bypass(dir_)) << "the marker stays until the end is committed";
  commits_ = true;
  w.tick();
  EXPECT_EQ(sink_.events().size(), 1u);
  EXPECT_FALSE(read_active_bypass(dir_));
}

TEST(BypassRequest, RefusesWhatCannotBeAuditedClearly) {
  EXPECT_EQ(check_bypass_request({30, "PACS migration", "alice"}), "");
  EXPECT_NE(check_bypass_request({0, "x", "a"}), "");
  EXPECT_NE(check_bypass_request({kMaxBypassMinutes + 1, "x", "a"}), "");
  EXPECT_NE(check_bypass_request({30, "", "a"}).find("--reason"), std::string::npos);
  EXPECT_NE(check_bypass_request({30, "line\nbreak", "a"}), "");
  EXPECT_NE(check_bypass_request({30, "a \"quoted\" reason", "a"}), "");
  EXPECT_NE(check_bypass_request({30, std::string(kMaxBypassReason + 1, 'x'), "a"}), "");
  EXPECT_EQ(check_bypass_request({30, "Störung am CT – Hersteller vor Ort", "a"}), "");
}

}  // namespace
}  // namespace wardgate::app
