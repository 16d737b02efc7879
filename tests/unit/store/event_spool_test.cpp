// The spool that carries events from short-lived commands to the daemon's store writer.
#include "store/event_spool.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "audit/event_decode.h"

namespace wardgate::store {
namespace {

namespace fs = std::filesystem;

class EventSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wardgate-spool-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static audit::Event event(const std::string& action, std::int64_t unix_us) {
    audit::Event e;
    e.time = audit::from_unix_us(unix_us);
    e.appliance_id = "gw";
    e.device = "appliance";
    e.category = "gateway";
    e.action = action;
    e.severity = audit::Severity::kWarning;
    e.fields.set("reason", "PACS migration");
    e.fields.set("minutes", std::uint64_t{30});
    return e;
  }

  fs::path dir_;
};

TEST_F(EventSpoolTest, GivesBackEveryEventInTheOrderWrittenAndForgetsThoseDone) {
  const EventSpool spool(dir_ / "audit.db.spool");
  const auto start = event("bypass-start", 1'700'000'000'000'000);
  const auto end = event("bypass-end", 1'700'000'060'000'000);
  spool.put(end);  // written first, but later in time: time orders the files
  spool.put(start);
  EXPECT_EQ(fs::status(spool.directory()).permissions() & fs::perms::all, fs::perms::owner_all);

  auto pending = spool.take();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(audit::to_json(pending[0].event), audit::to_json(start));
  EXPECT_EQ(audit::to_json(pending[1].event), audit::to_json(end));
  // Nothing is forgotten until done(): a daemon that dies before its commit sees them again.
  EXPECT_EQ(spool.take().size(), 2u);
  spool.done(pending[0]);
  pending = spool.take();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(audit::to_json(pending[0].event), audit::to_json(end));
}

TEST_F(EventSpoolTest, SetsAsideAFileThatIsNotAnEventAndIgnoresHalfWrittenOnes) {
  const EventSpool spool(dir_);
  spool.put(event("bypass-start", 1'700'000'000'000'000));
  std::ofstream(dir_ / "00000000000000000001-1-000000.event") << "{not json";
  std::ofstream(dir_ / "00000000000000000002-1-000000.event.tmp") << "half";

  std::vector<std::string> problems;
  const auto pending = spool.take(&problems);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].event.action, "bypass-start");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("not an audit event"), std::string::npos) << problems[0];
  EXPECT_TRUE(fs::exists(dir_ / "00000000000000000001-1-000000.event.bad"));
  // Set aside once, not reported again.
  problems.clear();
  EXPECT_EQ(spool.take(&problems).size(), 1u);
  EXPECT_TRUE(problems.empty());
}

TEST_F(EventSpoolTest, AnEmptyOrMissingSpoolHasNothingPending) {
  EXPECT_TRUE(EventSpool(dir_ / "absent").take().empty());
  EXPECT_EQ(spool_directory_for("/var/lib/wardgate/audit.db"),
            fs::path("/var/lib/wardgate/audit.db.spool"));
}

}  // namespace
}  // namespace wardgate::store
