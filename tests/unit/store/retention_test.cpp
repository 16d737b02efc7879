// Retention and time (issue 13, item 7): pruning records what it removed and why, in the same
// transaction; a wall-clock jump is recorded and never drives pruning; verify accepts a missing
// prefix only when an intact, signed prune record covers exactly that prefix.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

#include "audit/event_decode.h"
#include "common/clock.h"
#include "store/audit_store.h"
#include "store/hash_chain.h"
#include "store/retention.h"
#include "store/store_verify.h"
#include "store_test_support.h"

namespace wardgate::store {
namespace {

using std::chrono::hours;
using testing::sample_event;
using testing::ScratchDir;
using testing::store_options;

constexpr auto kDay = hours(24);

std::vector<StoredRecord> all_records(AuditStore& store) {
  std::error_code ec;
  auto out = store.read_after(0, 100000, ec);
  EXPECT_FALSE(ec) << ec.message();
  return out;
}

std::vector<StoredRecord> with_action(AuditStore& store, const std::string& action) {
  std::vector<StoredRecord> out;
  for (auto& r : all_records(store)) {
    if (r.event.category == "audit" && r.event.action == action) out.push_back(std::move(r));
  }
  return out;
}

std::string text_field(const audit::Event& e, const std::string& key) {
  const auto* v = e.fields.find(key);
  if (v == nullptr) return "<absent>";
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  if (const auto* u = std::get_if<std::uint64_t>(v)) return std::to_string(*u);
  if (const auto* i = std::get_if<std::int64_t>(v)) return std::to_string(*i);
  return "<other>";
}

std::set<std::string> findings_of(const VerifyReport& r) {
  std::set<std::string> out;
  for (const auto& f : r.findings) {
    out.insert(std::string(to_string(f.kind)) + " " + std::to_string(f.seq) +
               (f.seq_end != f.seq ? "-" + std::to_string(f.seq_end) : ""));
  }
  return out;
}

std::string describe(const VerifyReport& r) {
  std::string s;
  for (const auto& f : r.findings) {
    s += std::string(to_string(f.kind)) + " " + std::to_string(f.seq) + ".." +
         std::to_string(f.seq_end) + ": " + f.detail + "\n";
  }
  return s;
}

class Retention : public ::testing::Test {
 protected:
  Retention() {
    options_.clock = &clock_;
    options_.checkpoint_every_records = 10;
    options_.retention = kDay;
    options_.retention_interval = hours(100000);  // only prune_now()
    // No clock check of the writer's own: simulated time then never moves between the two
    // clocks' readings of a check; prune_now() checks the clock first.
    options_.health_interval = hours(100000);
  }
  // `count` records stamped now on the simulated wall clock, one transaction each.
  void record(AuditStore& store, std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) {
      store.record(sample_event(++n_, clock_.system_now()));
      ASSERT_TRUE(store.flush());
    }
  }

  ScratchDir dir_;
  common::ManualClock clock_{
      std::chrono::system_clock::time_point(std::chrono::seconds(1'795'000'000))};
  StoreOptions options_ = store_options(dir_);
  std::uint64_t n_ = 0;
};

TEST_F(Retention, PruneWritesASignedRecordOfWhatItRemovedAndWhy) {
  const auto t0 = clock_.system_now();
  {
    AuditStore store(options_);
    record(store, 25);
    clock_.advance(hours(25));
    EXPECT_EQ(store.prune_now(), 20u) << "records 1..20 end at checkpoint 20";
    const auto pruned = with_action(store, kPruneAction);
    ASSERT_EQ(pruned.size(), 1u);
    const auto& e = pruned[0].event;
    EXPECT_EQ(pruned[0].seq, 26u) << "appended after the last record";
    EXPECT_EQ(text_field(e, "pruned_from"), "1");
    EXPECT_EQ(text_field(e, "pruned_through"), "20");
    EXPECT_EQ(text_field(e, "anchor_checkpoint"), "20");
    EXPECT_EQ(text_field(e, "records_removed"), "20");
    EXPECT_EQ(text_field(e, "retention_hours"), "24");
    EXPECT_EQ(text_field(e, "oldest_removed"),
              audit::format_time(t0 + std::chrono::microseconds(1)));
    EXPECT_EQ(text_field(e, "newest_removed"),
              audit::format_time(t0 + std::chrono::microseconds(20)));
    EXPECT_EQ(text_field(e, "cutoff"), audit::format_time(t0 + hours(1)));
    EXPECT_EQ(all_records(store).front().seq, 21u);
  }
  const auto r = verify_store(options_.path, {});
  EXPECT_TRUE(r.intact()) << describe(r);
  ASSERT_TRUE(r.anchor);
  EXPECT_EQ(*r.anchor, 20u);
  ASSERT_TRUE(r.prune_record);
  EXPECT_EQ(*r.prune_record, 26u);
  EXPECT_GE(r.last_checkpoint, 26u) << "the prune record is signed at once";
}

// The record and the deletion are one transaction: a prune that fails leaves neither.
TEST_F(Retention, AFailedPruneLeavesNeitherRecordNorGap) {
  AuditStore store(options_);
  record(store, 25);
  clock_.advance(hours(25));
  testing::tamper(options_.path,
                  "CREATE TRIGGER no_delete BEFORE DELETE ON records "
                  "BEGIN SELECT RAISE(ABORT, 'injected'); END;");
  EXPECT_EQ(store.prune_now(), 0u);
  EXPECT_TRUE(with_action(store, kPruneAction).empty());
  EXPECT_EQ(all_records(store).front().seq, 1u);
  testing::tamper(options_.path, "DROP TRIGGER no_delete;");
  EXPECT_EQ(store.prune_now(), 20u);
  EXPECT_EQ(with_action(store, kPruneAction).size(), 1u);
  record(store, 1);
  ASSERT_TRUE(store.flush());
  const auto r = verify_store(options_.path, {});
  EXPECT_TRUE(r.intact()) << describe(r);
}

TEST_F(Retention, AClockSet185DaysAheadDoesNotEmptyTheStore) {
  const auto t0 = clock_.system_now();
  AuditStore store(options_);
  record(store, 25);
  clock_.advance(hours(20));
  clock_.set_system(clock_.system_now() + 185 * kDay);
  EXPECT_EQ(store.prune_now(), 0u);
  EXPECT_EQ(all_records(store).front().seq, 1u);
  const auto jumps = with_action(store, "clock-jump");
  ASSERT_EQ(jumps.size(), 1u);
  const auto& e = jumps[0].event;
  EXPECT_EQ(text_field(e, "reason"), "wall-clock-vs-monotonic");
  EXPECT_EQ(text_field(e, "wall_time"), audit::format_time(t0 + hours(20) + 185 * kDay));
  EXPECT_EQ(text_field(e, "expected_time"), audit::format_time(t0 + hours(20)));
  EXPECT_EQ(text_field(e, "jump_s"), std::to_string(185 * 86400));
  EXPECT_EQ(e.severity, audit::Severity::kAlert);
  record(store, 5);  // stamped 185 days ahead, as the wall clock says

  // Real time goes on: records become old by trusted time, not by the wall clock.
  clock_.advance(hours(3));
  EXPECT_EQ(store.prune_now(), 0u) << "nothing is a day old yet";
  clock_.advance(hours(2));
  EXPECT_EQ(store.prune_now(), 20u) << "records 1..20 (to checkpoint 20), 25 h old";
  const auto r = verify_store(options_.path, {});
  EXPECT_TRUE(r.intact()) << describe(r);
}

// The writer checks the clock by itself, between batches: the jump is recorded without waiting
// for retention to run.
TEST_F(Retention, TheWriterRecordsAJumpByItself) {
  options_.health_interval = std::chrono::milliseconds(10);
  AuditStore store(options_);
  record(store, 1);
  clock_.set_system(clock_.system_now() + 185 * kDay);  // the wall clock only: no torn reading
  std::vector<StoredRecord> jumps;
  for (int i = 0; i < 500 && jumps.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    jumps = with_action(store, "clock-jump");
  }
  ASSERT_EQ(jumps.size(), 1u);
  EXPECT_EQ(jumps[0].seq, 2u);
}

TEST_F(Retention, AJumpIsStillHonouredAfterARestart) {
  const auto t0 = clock_.system_now();
  {
    AuditStore store(options_);
    record(store, 25);
    clock_.set_system(t0 + 185 * kDay);
    EXPECT_EQ(store.prune_now(), 0u);
    record(store, 5);
  }
  clock_.advance(hours(1));
  AuditStore store(options_);
  EXPECT_EQ(store.prune_now(), 0u) << "the offset was kept with the record of the jump";
  EXPECT_EQ(all_records(store).front().seq, 1u);
  EXPECT_EQ(with_action(store, "clock-jump").size(), 1u) << "no new jump at start";
}

TEST_F(Retention, AClockSetAheadWhileStoppedIsFoundAtStart) {
  const auto t0 = clock_.system_now();
  {
    AuditStore store(options_);
    record(store, 25);
  }
  clock_.set_system(t0 + 185 * kDay);  // the monotonic clock knows nothing of a restart
  AuditStore store(options_);
  EXPECT_EQ(store.prune_now(), 0u);
  EXPECT_EQ(all_records(store).front().seq, 1u);
  const auto jumps = with_action(store, "clock-jump");
  ASSERT_EQ(jumps.size(), 1u);
  EXPECT_EQ(text_field(jumps[0].event, "reason"), "wall-clock-far-ahead-of-stored-time");
}

TEST_F(Retention, AClockSetBackIsRecordedAndPrunesNothingEarly) {
  const auto t0 = clock_.system_now();
  AuditStore store(options_);
  record(store, 25);
  clock_.set_system(t0 - 30 * kDay);
  EXPECT_EQ(store.prune_now(), 0u);
  // Set right again: recorded too, and the offset is gone.
  clock_.set_system(t0);
  EXPECT_EQ(store.prune_now(), 0u);
  const auto jumps = with_action(store, "clock-jump");
  ASSERT_EQ(jumps.size(), 2u);
  EXPECT_EQ(text_field(jumps[0].event, "jump_s"), std::to_string(-30 * 86400));
  EXPECT_EQ(text_field(jumps[1].event, "jump_s"), std::to_string(30 * 86400));
  EXPECT_EQ(text_field(jumps[1].event, "offset_s"), "0");
  // Retention follows the wall clock again: 1..27 (the records of both jumps included, each
  // signed by a checkpoint) are 25 h old.
  clock_.advance(hours(25));
  EXPECT_EQ(store.prune_now(), 27u);
}

// Once trusted time is a retention period past the jump, every record from before it is truly
// that old: the offset is dropped (and recorded) and retention follows the wall clock again.
TEST_F(Retention, TheOffsetIsDroppedAfterARetentionPeriod) {
  const auto t0 = clock_.system_now();
  AuditStore store(options_);
  record(store, 25);
  clock_.set_system(t0 + 185 * kDay);
  EXPECT_EQ(store.prune_now(), 0u);
  record(store, 25);  // 26 is the jump record; 27..51 stamped 185 days ahead
  clock_.advance(hours(25));
  store.prune_now();
  EXPECT_EQ(with_action(store, "clock-offset-cleared").size(), 1u);
  // All of 1..46 (through checkpoint 46) is 25 h old in real time, those stamped 185 days
  // ahead included; 47..51 are too, but no checkpoint ends them before the records of now.
  EXPECT_EQ(all_records(store).front().seq, 47u);
  const auto r = verify_store(options_.path, {});
  EXPECT_TRUE(r.intact()) << describe(r);
}

class VerifyPrefix : public Retention {
 protected:
  // Records 1..25 old, 26..35 recent, checkpoints every 10: retention removes 1..20 (through
  // checkpoint 20) and records it at seq 36; then 37..41.
  void SetUp() override {
    AuditStore store(options_);
    record(store, 25);
    clock_.advance(hours(12));
    record(store, 10);
    clock_.advance(hours(13));
    ASSERT_EQ(store.prune_now(), 20u);
    record(store, 5);
  }
};

TEST_F(VerifyPrefix, APrefixDeletedByHandUpToACheckpointIsTampering) {
  ScratchDir other;
  auto options = store_options(other);
  options.checkpoint_every_records = 10;
  {
    AuditStore store(options);
    for (std::uint64_t i = 1; i <= 40; ++i) store.record(sample_event(i));
    ASSERT_TRUE(store.flush());
  }
  testing::tamper(options.path,
                  "DELETE FROM records WHERE seq <= 20; DELETE FROM checkpoints WHERE seq < 20;");
  const auto r = verify_store(options.path, {});
  EXPECT_EQ(findings_of(r), (std::set<std::string>{"deleted 1-20"})) << describe(r);
  EXPECT_FALSE(r.anchor);
}

TEST_F(VerifyPrefix, APrefixCoveredByThePruneRecordVerifies) {
  const auto r = verify_store(options_.path, {});
  EXPECT_TRUE(r.intact()) << describe(r);
  ASSERT_TRUE(r.anchor);
  EXPECT_EQ(*r.anchor, 20u);
  ASSERT_TRUE(r.prune_record);
  EXPECT_EQ(*r.prune_record, 36u);
}

TEST_F(VerifyPrefix, DeletingBeyondWhatRetentionRemovedIsTampering) {
  testing::tamper(options_.path,
                  "DELETE FROM records WHERE seq <= 30; DELETE FROM checkpoints WHERE seq < 30;");
  const auto r = verify_store(options_.path, {});
  EXPECT_EQ(findings_of(r), (std::set<std::string>{"deleted 21-30"})) << describe(r);
  EXPECT_FALSE(r.anchor);
}

// An attacker able to recompute BLAKE2b can append a prune record that links into the chain,
// but cannot sign the checkpoint that must come with it.
TEST_F(VerifyPrefix, AnUnsignedPruneRecordCoversNothing) {
  ScratchDir other;
  auto options = store_options(other);
  options.checkpoint_every_records = 10;
  {
    AuditStore store(options);
    for (std::uint64_t i = 1; i <= 40; ++i) store.record(sample_event(i));
    ASSERT_TRUE(store.flush());
  }
  PrunePlan plan;
  plan.first_seq = 1;
  plan.through = 20;
  plan.records = 20;
  const auto forged = audit::to_json(prune_event(plan, PruneReason{"gw-1", kDay, 0, 0, 0}));
  {
    Database db(options.path, Database::Mode::kReadOnly);
    auto s = db.prepare("SELECT hash FROM records WHERE seq = 40");
    ASSERT_TRUE(s.step());
    ChainHash last{};
    const auto blob = s.column_blob(0);
    std::copy(blob.begin(), blob.end(), last.begin());
    const ChainHash h = chain_next(last, forged);
    std::string sql =
        "DELETE FROM records WHERE seq <= 20; DELETE FROM checkpoints WHERE seq < 20; "
        "INSERT INTO records VALUES(41, 0, 'gw-1', 'gw-1', 'audit', 'retention-prune', "
        "'success', 'notice', '" +
        forged + "', x'" + to_hex(h) + "');";
    testing::tamper(options.path, sql);
  }
  const auto r = verify_store(options.path, {});
  EXPECT_TRUE(findings_of(r).count("deleted 1-20")) << describe(r);
  EXPECT_FALSE(r.prune_record);
}

}  // namespace
}  // namespace wardgate::store
