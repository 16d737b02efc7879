#include "store/audit_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "audit/event_decode.h"
#include "common/clock.h"
#include "store/store_schema.h"
#include "store/store_verify.h"
#include "store_test_support.h"

namespace wardgate::store {
namespace {

using testing::sample_event;
using testing::ScratchDir;
using testing::store_options;

std::vector<StoredRecord> read(AuditStore& store, std::uint64_t after, std::size_t max) {
  std::error_code ec;
  auto out = store.read_after(after, max, ec);
  EXPECT_FALSE(ec) << ec.message();
  return out;
}

// A metric of the store's registry; -1 when it is missing.
double metric(const AuditStore& store, const std::string& name) {
  return store.metrics().value(name).value_or(-1);
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

TEST(AuditStore, RecordsFromManyThreadsInOneChainThatVerifies) {
  ScratchDir dir;
  auto options = store_options(dir);
  options.checkpoint_every_records = 100;
  {
    AuditStore store(options);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&store, t] {
        for (std::uint64_t i = 0; i < 250; ++i) store.record(sample_event(t * 1000 + i));
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_TRUE(store.flush());
    EXPECT_EQ(store.last_seq(), 1000u);
    EXPECT_EQ(metric(store, "wardgate_audit_store_records_recorded_total"), 1000);
    EXPECT_EQ(metric(store, "wardgate_audit_store_records_lost_total"), 0);
    EXPECT_GE(metric(store, "wardgate_audit_store_checkpoints_total"), 1);
    EXPECT_TRUE(store.accepting_clinical_traffic());

    const auto records = read(store, 0, 100000);
    ASSERT_EQ(records.size(), 1000u);
    std::set<std::uint64_t> seen;
    for (std::size_t i = 0; i < records.size(); ++i) {
      EXPECT_EQ(records[i].seq, i + 1);
      EXPECT_EQ(records[i].canonical, audit::to_json(records[i].event));
      seen.insert(std::get<std::uint64_t>(*records[i].event.fields.find("n")));
    }
    EXPECT_EQ(seen.size(), 1000u);
    EXPECT_EQ(read(store, 990, 5).front().seq, 991u);
    EXPECT_EQ(read(store, 990, 5).size(), 5u);
    EXPECT_TRUE(read(store, 1000, 5).empty());
  }
  struct stat st {};
  ASSERT_EQ(::stat(options.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u) << "the store must not be readable by others";
  const auto report = verify_store(options.path, {});
  EXPECT_TRUE(report.intact()) << describe(report);
  EXPECT_EQ(report.records, 1000u);
  EXPECT_EQ(report.first_seq, 1u);
  EXPECT_EQ(report.last_seq, 1000u);
  EXPECT_EQ(report.last_checkpoint, 1000u) << "a final checkpoint is written at shutdown";
  EXPECT_GE(report.checkpoints, 10u);
}

// Issue 13: a device's header field of 900 KiB of 0x01 encodes to 5.4 MB; stored as is, the
// reader refused it and verify reported wardgate's own record as modified.
TEST(AuditStore, HostileFieldsAreStoredSoThatVerifyAndTheReaderAcceptThem) {
  ScratchDir dir;
  auto options = store_options(dir);
  const std::string hostile(900 * 1024, '\x01');
  {
    AuditStore store(options);
    audit::Event big = sample_event(1);
    big.fields.set("sending_application", hostile);
    audit::Event keys = sample_event(2);
    keys.fields.set(std::string(2 * audit::kMaxCanonicalBytes, 'k'), "a key too long to cut");
    audit::Event bad_device = sample_event(3);
    bad_device.device = "ct\xff";
    store.record(big);
    store.record(keys);
    store.record(bad_device);
    store.record(sample_event(4));
    ASSERT_TRUE(store.flush());
    EXPECT_EQ(metric(store, "wardgate_audit_store_records_lost_total"), 0);

    const auto records = read(store, 0, 10);
    ASSERT_EQ(records.size(), 4u);
    for (const auto& r : records) {
      EXPECT_LE(r.canonical.size(), audit::kMaxCanonicalBytes);
      EXPECT_NE(r.event.action, "record-unreadable") << r.seq;
      EXPECT_EQ(r.canonical, audit::to_json(r.event));
    }
    const auto* app = std::get_if<std::string>(records[0].event.fields.find("sending_application"));
    ASSERT_NE(app, nullptr);
    EXPECT_EQ(hostile.compare(0, app->size(), *app), 0);
    EXPECT_EQ(std::get<std::vector<std::string>>(*records[0].event.fields.find("truncated_fields")),
              std::vector<std::string>{"sending_application:921600"});
    EXPECT_EQ(records[1].event.action, "record-oversized");
    EXPECT_EQ(records[2].event.device, "ct\xef\xbf\xbd");
    EXPECT_EQ(records[3].event, sample_event(4));
  }
  const auto report = verify_store(options.path, {});
  EXPECT_TRUE(report.intact()) << describe(report);
  EXPECT_EQ(report.records, 4u);
}

TEST(AuditStore, ContinuesTheChainAfterARestartAndKeepsCursors) {
  ScratchDir dir;
  const auto options = store_options(dir);
  PublicKey key{};
  {
    AuditStore store(options);
    for (std::uint64_t i = 0; i < 10; ++i) store.record(sample_event(i));
    ASSERT_TRUE(store.flush());
    EXPECT_FALSE(store.save_cursor("siem-1", 7));
    key = store.public_key();
  }
  {
    AuditStore store(options);
    EXPECT_EQ(store.last_seq(), 10u);
    EXPECT_EQ(store.load_cursor("siem-1"), 7u);
    EXPECT_EQ(store.load_cursor("never-seen"), 0u);
    for (std::uint64_t i = 10; i < 20; ++i) store.record(sample_event(i));
    ASSERT_TRUE(store.flush());
    EXPECT_EQ(store.last_seq(), 20u);
  }
  VerifyOptions vo;
  vo.public_key = key;
  const auto report = verify_store(options.path, vo);
  EXPECT_TRUE(report.intact()) << describe(report);
  EXPECT_EQ(report.records, 20u);
  EXPECT_FALSE(report.key_from_store);
}

TEST(AuditStore, RefusesAStoreSignedWithAnotherKey) {
  ScratchDir dir;
  auto options = store_options(dir);
  { AuditStore store(options); }
  options.signing_key_file = dir.file("other-key");
  EXPECT_THROW(AuditStore{options}, StoreError);
}

TEST(AuditStore, VerifyWithAnotherPublicKeyFailsOnCheckpoints) {
  ScratchDir dir;
  const auto options = store_options(dir);
  {
    AuditStore store(options);
    store.record(sample_event(1));
    ASSERT_TRUE(store.flush());
  }
  VerifyOptions vo;
  vo.public_key = PublicKey{};
  vo.public_key->fill(7);
  const auto report = verify_store(options.path, vo);
  EXPECT_FALSE(report.intact());
  EXPECT_EQ(findings_of(report), (std::set<std::string>{"checkpoint-invalid 1"}));
}

class Tampered : public ::testing::Test {
 protected:
  void SetUp() override {
    auto options = store_options(dir_);
    options.checkpoint_every_records = 10;
    path_ = options.path;
    AuditStore store(options);
    for (std::uint64_t i = 1; i <= 40; ++i) {
      store.record(sample_event(i));
      // One record per commit, so that checkpoints fall on every tenth record.
      ASSERT_TRUE(store.flush());
    }
  }
  VerifyReport verify() { return verify_store(path_, {}); }
  ScratchDir dir_;
  std::string path_;
};

TEST_F(Tampered, UntouchedStoreVerifies) {
  const auto r = verify();
  EXPECT_TRUE(r.intact()) << describe(r);
  EXPECT_EQ(r.records, 40u);
}

TEST_F(Tampered, ModifiedContentIsReportedAtItsSeq) {
  testing::tamper(path_,
                  "UPDATE records SET canonical = replace(canonical, '\"n\":17', '\"n\":99') "
                  "WHERE seq = 17");
  const auto r = verify();
  EXPECT_EQ(findings_of(r), (std::set<std::string>{"modified 17"})) << describe(r);
}

TEST_F(Tampered, ModifiedIndexedColumnIsReported) {
  testing::tamper(path_, "UPDATE records SET device = 'ct-9' WHERE seq = 8");
  const auto r = verify();
  EXPECT_EQ(findings_of(r), (std::set<std::string>{"modified 8"})) << describe(r);
}

TEST_F(Tampered, ModifiedHashIsReported) {
  testing::tamper(path_, "UPDATE records SET hash = zeroblob(32) WHERE seq = 23");
  const auto r = verify();
  EXPECT_EQ(findings_of(r), (std::set<std::string>{"modified 23"})) << describe(r);
}

TEST_F(Tampered, DeletedRecordIsReportedAtItsSeq) {
  testing::tamper(path_, "DELETE FROM records WHERE seq = 12");
  const auto r = verify();
  EXPECT_EQ(findings_of(r), (std::set<std::string>{"deleted 12"})) << describe(r);
}

TEST_F(Tampered, DeletedTailBeforeACheckpointIsReported) {
  testing::tamper(path_, "DELETE FROM records WHERE seq > 35");
  const auto r = verify();
  EXPECT_EQ(findings_of(r), (std::set<std::string>{"deleted 36-40"})) << describe(r);
}

TEST_F(Tampered, InsertedRecordIsReportedAtItsSeq) {
  // Make room at 20 by renumbering, then insert a copy of record 19 with other content.
  testing::tamper(path_,
                  "UPDATE records SET seq = -seq WHERE seq >= 20;"
                  "UPDATE records SET seq = 1 - seq WHERE seq < 0;"
                  "INSERT INTO records SELECT 20, time_us, appliance, device, category, action, "
                  "outcome, severity, replace(canonical, '\"n\":19', '\"n\":77'), hash "
                  "FROM records WHERE seq = 19;");
  const auto r = verify();
  std::set<std::string> tamper;
  for (const auto& f : r.findings) {
    if (f.kind != FindingKind::kCheckpointMismatch)
      tamper.insert(to_string(f.kind) + std::string(" ") + std::to_string(f.seq));
  }
  EXPECT_EQ(tamper, (std::set<std::string>{"inserted 20"})) << describe(r);
  // The renumbering moved the records the checkpoints at 20, 30 and 40 signed.
  EXPECT_EQ(findings_of(r).count("checkpoint-mismatch 30"), 1u) << describe(r);
}

TEST_F(Tampered, ReorderedRecordsAreReportedAtTheirSeqs) {
  testing::tamper(path_,
                  "UPDATE records SET seq = -1 WHERE seq = 5;"
                  "UPDATE records SET seq = 5 WHERE seq = 6;"
                  "UPDATE records SET seq = 6 WHERE seq = -1;");
  const auto r = verify();
  EXPECT_EQ(findings_of(r), (std::set<std::string>{"reordered 5", "reordered 6"})) << describe(r);
}

TEST_F(Tampered, RewrittenChainIsCaughtByTheCheckpoint) {
  // An attacker who recomputes the hashes after changing record 15 leaves a consistent chain;
  // the signed checkpoint at 20 still holds the old hash.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ChainHash prev{};
  {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT hash FROM records WHERE seq = 14", -1, &s, nullptr);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    std::memcpy(prev.data(), sqlite3_column_blob(s, 0), 32);
    sqlite3_finalize(s);
  }
  for (int seq = 15; seq <= 40; ++seq) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT canonical FROM records WHERE seq = ?", -1, &s, nullptr);
    sqlite3_bind_int(s, 1, seq);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    std::string canonical(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
    sqlite3_finalize(s);
    if (seq == 15) canonical.replace(canonical.find("\"n\":15"), 6, "\"n\":55");
    prev = chain_next(prev, canonical);
    sqlite3_prepare_v2(db, "UPDATE records SET canonical = ?, hash = ? WHERE seq = ?", -1, &s,
                       nullptr);
    sqlite3_bind_text(s, 1, canonical.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 2, prev.data(), 32, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, seq);
    ASSERT_EQ(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  const auto r = verify();
  EXPECT_FALSE(r.intact());
  EXPECT_EQ(findings_of(r).count("checkpoint-mismatch 20"), 1u) << describe(r);
}

TEST_F(Tampered, RangeVerificationReportsOnlyInsideTheRange) {
  testing::tamper(path_, "DELETE FROM records WHERE seq = 3");
  VerifyOptions vo;
  vo.from_seq = 11;
  vo.to_seq = 40;
  const auto in_range = verify_store(path_, vo);
  EXPECT_TRUE(in_range.intact()) << describe(in_range);
  vo.from_seq = 1;
  vo.to_seq = 10;
  EXPECT_EQ(findings_of(verify_store(path_, vo)), (std::set<std::string>{"deleted 3"}));
}

// Retention reads the injected clock: on simulated time, records become old without waiting.
TEST(AuditStore, RetentionRunsOnTheInjectedClock) {
  ScratchDir dir;
  auto options = store_options(dir);
  common::ManualClock clock(std::chrono::system_clock::now());
  options.clock = &clock;
  options.checkpoint_every_records = 10;
  options.retention = std::chrono::hours(24);
  options.retention_interval = std::chrono::hours(1000);  // only prune_now()
  // No clock check of the writer's own while the test moves simulated time (see retention_test).
  options.health_interval = std::chrono::hours(1000);
  AuditStore store(options);
  for (std::uint64_t i = 1; i <= 25; ++i) {
    store.record(sample_event(i, clock.system_now()));
    ASSERT_TRUE(store.flush());
  }
  EXPECT_EQ(store.prune_now(), 0u) << "nothing is a day old yet";
  clock.advance(std::chrono::hours(25));
  EXPECT_EQ(store.prune_now(), 20u) << "records 1..20 end at checkpoint 20; 21..25 stay";
  EXPECT_EQ(read(store, 0, 5).front().seq, 21u);
}

TEST(AuditStore, RetentionPrunesWholeRunsAndTheRestVerifiesFromTheAnchor) {
  ScratchDir dir;
  auto options = store_options(dir);
  options.checkpoint_every_records = 10;
  options.retention = std::chrono::hours(24);
  options.retention_interval = std::chrono::hours(1000);  // only prune_now()
  const auto now = std::chrono::system_clock::now();
  {
    AuditStore store(options);
    for (std::uint64_t i = 1; i <= 40; ++i) {
      // Records 1..25 are two days old, the rest recent.
      store.record(sample_event(i, i <= 25 ? now - std::chrono::hours(48) : now));
      ASSERT_TRUE(store.flush());
    }
    EXPECT_EQ(store.prune_now(), 20u) << "records 1..20 end at checkpoint 20; 21..25 stay";
    EXPECT_EQ(read(store, 0, 5).front().seq, 21u);
    store.record(sample_event(41, now));  // seq 42: 41 is the record of the prune
    ASSERT_TRUE(store.flush());
  }
  const auto r = verify_store(options.path, {});
  EXPECT_TRUE(r.intact()) << describe(r);
  ASSERT_TRUE(r.anchor);
  EXPECT_EQ(*r.anchor, 20u);
  EXPECT_EQ(r.first_seq, 21u);
  EXPECT_EQ(r.last_seq, 42u);
  // Deleting more at the start than retention did is still found.
  testing::tamper(options.path, "DELETE FROM records WHERE seq <= 22");
  EXPECT_EQ(findings_of(verify_store(options.path, {})), (std::set<std::string>{"deleted 21-22"}));
}

TEST(AuditStore, TimeRangesMapToSeqRangesAcrossZones) {
  ScratchDir dir;
  const auto options = store_options(dir);
  const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'795'000'000));
  constexpr std::uint64_t kCount = 2 * kTimeZoneRecords + 100;  // three zones
  {
    AuditStore store(options);
    for (std::uint64_t i = 1; i <= kCount; ++i) {
      // One second apart, except record 5000, which is stamped a little in the past.
      audit::Event e = sample_event(0, t0 + std::chrono::seconds(i == 5000 ? 4000 : i));
      e.fields.set("n", i);
      store.record(std::move(e));
    }
    ASSERT_TRUE(store.flush());
  }
  Database db(options.path, Database::Mode::kReadOnly);
  const auto at = [&](std::uint64_t s) { return audit::to_unix_us(t0 + std::chrono::seconds(s)); };
  EXPECT_EQ(first_seq_at_or_after(db, at(1)), 1u);
  EXPECT_EQ(first_seq_at_or_after(db, at(5000)), 5001u);
  EXPECT_EQ(first_seq_at_or_after(db, at(4000)), 4000u);
  EXPECT_EQ(first_seq_at_or_after(db, at(kCount) + 1), std::nullopt);
  EXPECT_EQ(last_seq_at_or_before(db, at(4096)), 5000u) << "record 5000 is stamped 4000 s";
  EXPECT_EQ(last_seq_at_or_before(db, at(kCount)), kCount);
  EXPECT_EQ(last_seq_at_or_before(db, at(0)), std::nullopt);
  VerifyOptions vo;
  vo.from_time_us = at(100);
  vo.to_time_us = at(200);
  const auto r = verify_store(options.path, vo);
  EXPECT_TRUE(r.intact()) << describe(r);
}

TEST(AuditStore, DiskLowCountsLostRecordsRaisesAlertsAndFailsClosed) {
  ScratchDir dir;
  auto options = store_options(dir);
  options.on_failure = FailureMode::kFailClosed;
  options.health_interval = std::chrono::milliseconds(10);
  options.min_free_bytes = 100ull << 20;
  auto free = std::make_shared<std::atomic<std::uint64_t>>(1ull << 40);
  options.free_bytes = [free](const std::string&) { return free->load(); };
  AuditStore store(options);
  store.record(sample_event(1));
  ASSERT_TRUE(store.flush());
  EXPECT_TRUE(store.accepting_clinical_traffic());

  free->store(10ull << 20);
  for (int i = 0; i < 200 && store.accepting_clinical_traffic(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(store.accepting_clinical_traffic());
  EXPECT_TRUE(store.degraded());
  EXPECT_EQ(metric(store, "wardgate_audit_store_degraded"), 1);
  for (std::uint64_t i = 2; i <= 6; ++i) store.record(sample_event(i));
  EXPECT_EQ(metric(store, "wardgate_audit_store_records_lost_total"), 5);

  free->store(1ull << 40);
  for (int i = 0; i < 200 && !store.accepting_clinical_traffic(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(store.accepting_clinical_traffic());
  store.record(sample_event(7));
  ASSERT_TRUE(store.flush());
  std::vector<std::string> actions;
  for (const auto& r : read(store, 0, 100)) {
    std::string a = r.event.category + "/" + r.event.action;
    if (const auto* alert = r.event.fields.find("alert")) a += ":" + std::get<std::string>(*alert);
    if (const auto* lost = r.event.fields.find("records_lost")) {
      a += "=" + std::to_string(std::get<std::uint64_t>(*lost));
    }
    actions.push_back(a);
  }
  EXPECT_EQ(actions,
            (std::vector<std::string>{"dicom/operation", "audit/security-alert:store-disk-low",
                                      "audit/security-alert:records-lost=5",
                                      "audit/store-recovered", "dicom/operation"}));
}

TEST(AuditStore, StoreErrorsAreRetriedFailOpenAndNothingQueuedIsLost) {
  ScratchDir dir;
  auto options = store_options(dir);
  options.retry_interval = std::chrono::milliseconds(20);
  options.queue_capacity = 4;
  AuditStore store(options);
  store.record(sample_event(1));
  ASSERT_TRUE(store.flush());

  // Another process holds the write lock: every transaction of the store fails (SQLITE_BUSY).
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(options.path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  store.record(sample_event(2));
  for (int i = 0; i < 500 && metric(store, "wardgate_audit_store_errors_total") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(metric(store, "wardgate_audit_store_errors_total"), 1);
  EXPECT_TRUE(store.degraded());
  EXPECT_TRUE(store.accepting_clinical_traffic()) << "fail-open";
  for (std::uint64_t i = 3; i <= 10; ++i) store.record(sample_event(i));
  const auto lost = metric(store, "wardgate_audit_store_records_lost_total");
  EXPECT_GE(lost, 4u) << "the queue holds 4; the rest is counted lost";

  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  ASSERT_TRUE(store.flush());
  // The queue overflowed too: degraded until it has been drained and quiet for a second.
  for (int i = 0; i < 500 && store.degraded(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(store.degraded());
  EXPECT_EQ(metric(store, "wardgate_audit_store_degraded"), 0);
  std::set<std::uint64_t> kept;
  bool alert = false;
  bool recovered = false;
  for (const auto& r : read(store, 0, 100)) {
    if (const auto* n = r.event.fields.find("n")) kept.insert(std::get<std::uint64_t>(*n));
    if (r.event.action == "security-alert") alert = true;
    if (r.event.action == "store-recovered") recovered = true;
  }
  EXPECT_EQ(kept.count(2), 1u) << "the event of the failed transaction was retried";
  EXPECT_EQ(kept.size() + lost, 10u);
  EXPECT_TRUE(alert);
  EXPECT_TRUE(recovered);
}

// A full queue is a degraded state like a store error: counted, honoured by fail-closed from the
// first dropped event until the writer has caught up, and recorded with how many were dropped
// and when.
TEST(AuditStore, QueueOverflowDegradesFailsClosedAndIsRecorded) {
  ScratchDir dir;
  auto options = store_options(dir);
  options.on_failure = FailureMode::kFailClosed;
  options.queue_capacity = 4;
  options.health_interval = std::chrono::milliseconds(20);
  // The writer is held after its first commit, so the queue fills.
  std::mutex gate_mutex;
  std::condition_variable gate;
  bool held = true;
  options.on_commit = [&](std::uint64_t) {
    std::unique_lock lock(gate_mutex);
    gate.wait(lock, [&] { return !held; });
  };
  AuditStore store(options);
  store.record(sample_event(1));
  for (int i = 0; i < 500 && metric(store, "wardgate_audit_store_commits_total") < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (std::uint64_t i = 2; i <= 5; ++i) store.record(sample_event(i));  // fills the queue
  EXPECT_TRUE(store.accepting_clinical_traffic());
  EXPECT_FALSE(store.degraded());
  for (std::uint64_t i = 6; i <= 12; ++i) store.record(sample_event(i));  // dropped
  EXPECT_TRUE(store.degraded());
  EXPECT_FALSE(store.accepting_clinical_traffic());
  EXPECT_EQ(metric(store, "wardgate_audit_store_degraded"), 1);
  EXPECT_EQ(metric(store, "wardgate_audit_store_queue_overflows_total"), 1);
  EXPECT_EQ(metric(store, "wardgate_audit_store_records_lost_total"), 7);

  {
    const std::lock_guard lock(gate_mutex);
    held = false;
  }
  gate.notify_all();
  ASSERT_TRUE(store.flush());
  for (int i = 0; i < 500 && store.degraded(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(store.degraded());
  EXPECT_TRUE(store.accepting_clinical_traffic());
  EXPECT_EQ(metric(store, "wardgate_audit_store_degraded"), 0);
  store.record(sample_event(13));
  ASSERT_TRUE(store.flush());

  const audit::Event* overflow = nullptr;
  std::vector<std::string> actions;
  const auto records = read(store, 0, 100);
  for (const auto& r : records) {
    std::string a = r.event.category + "/" + r.event.action;
    if (const auto* alert = r.event.fields.find("alert")) a += ":" + std::get<std::string>(*alert);
    if (const auto* reason = r.event.fields.find("reason")) {
      a += ":" + std::get<std::string>(*reason);
    }
    if (a == "audit/security-alert:queue-overflow") overflow = &r.event;
    actions.push_back(a);
  }
  ASSERT_NE(overflow, nullptr);
  EXPECT_EQ(std::get<std::uint64_t>(*overflow->fields.find("records_dropped")), 7u);
  EXPECT_EQ(std::get<std::string>(*overflow->fields.find("first_dropped")),
            audit::format_time(sample_event(6).time));
  EXPECT_EQ(std::get<std::string>(*overflow->fields.find("last_dropped")),
            audit::format_time(sample_event(12).time));
  EXPECT_EQ(std::get<std::string>(*overflow->fields.find("on_failure")), "fail-closed");
  EXPECT_EQ(actions,
            (std::vector<std::string>{"dicom/operation", "audit/security-alert:records-lost",
                                      "dicom/operation", "hl7/operation", "dicom/operation",
                                      "dicom/operation", "audit/security-alert:queue-overflow",
                                      "audit/store-recovered:queue-overflow", "dicom/operation"}));
}

// Exporters sleep until a commit: every commit is announced with the highest committed seq,
// and nothing after the subscription ends.
TEST(AuditStore, AnnouncesCommits) {
  ScratchDir dir;
  AuditStore store(store_options(dir));
  std::mutex mutex;
  std::vector<std::uint64_t> seen;
  auto subscription = store.on_commit([&](std::uint64_t seq) {
    const std::lock_guard lock(mutex);
    seen.push_back(seq);
  });
  for (int i = 0; i < 10; ++i) store.record(sample_event(i));
  ASSERT_TRUE(store.flush());
  {
    const std::lock_guard lock(mutex);
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back(), store.last_seq());
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  }
  subscription.reset();
  std::size_t before = 0;
  {
    const std::lock_guard lock(mutex);
    before = seen.size();
  }
  store.record(sample_event(10));
  ASSERT_TRUE(store.flush());
  const std::lock_guard lock(mutex);
  EXPECT_EQ(seen.size(), before);
}

}  // namespace
}  // namespace wardgate::store
