#pragma once
// The durable, tamper-evident audit store (issue 5): sqlite3 in WAL mode with synchronous=FULL,
// one writer thread behind a bounded queue, group commit, a BLAKE2b hash chain over the canonical
// encoding of every record and Ed25519-signed checkpoints. docs/audit-events.md describes what a
// stored record holds; store_verify.h checks a store.
//
// record() never waits on the disk: it moves the event into the queue, or, if the queue is full
// or the store is refusing events (disk below min_free, store error), counts it as lost. Lost
// records, a low disk, store errors and queue overflows are themselves recorded as security
// alerts as soon as the store can write again; under FailureMode::kFailClosed
// accepting_clinical_traffic() is false while the store cannot keep what it is given: disk low,
// a failing transaction, or a queue that overflowed and has not drained yet.
//
// This class runs the writer thread and wires the parts, each in a file of its own: the queue
// (record_queue.h), the chain and checkpoints (chain_writer.h), disk health (disk_health.h),
// retention (retention.h), the WAL copy (wal_copier.h), the read side (store_reader.h) and the
// commit notices exporters wait on (commit_notifier.h).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/sink.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "store/chain_writer.h"
#include "store/checkpoint_signer.h"
#include "store/commit_notifier.h"
#include "store/disk_health.h"
#include "store/record_queue.h"
#include "store/record_source.h"
#include "store/retention_clock.h"
#include "store/store_reader.h"
#include "store/wal_copier.h"

namespace wardgate::store {

enum class FailureMode : std::uint8_t { kFailOpen, kFailClosed };
const char* to_string(FailureMode mode);  // "fail-open", "fail-closed"

struct StoreOptions {
  std::string path = "/var/lib/wardgate/audit.db";
  std::string signing_key_file = "/var/lib/wardgate/audit-signing-key";
  std::string appliance_id;  // names the appliance in the store's own events
  // The longest the writer keeps one transaction open gathering queued events before it commits;
  // an idle writer commits at once, so this bounds event-to-commit latency under load.
  std::chrono::milliseconds group_commit{50};
  std::uint64_t checkpoint_every_records = 10000;  // 0: never by count
  std::chrono::seconds checkpoint_every{60};       // 0: never by time
  std::chrono::hours retention{184 * 24};          // 0: keep forever
  std::chrono::seconds retention_interval{3600};   // how often pruning runs
  FailureMode on_failure = FailureMode::kFailOpen;
  std::uint64_t min_free_bytes = 256ull << 20;
  std::size_t queue_capacity = 1u << 18;  // events waiting for the writer
  std::size_t max_batch = 1u << 16;       // events per transaction at most
  std::chrono::milliseconds health_interval{1000};
  std::chrono::milliseconds retry_interval{1000};  // after a store error
  // Free bytes of the file system holding `path`; default statvfs(2). Tests replace it.
  std::function<std::uint64_t(const std::string& path)> free_bytes;
  // Called on the writer thread after each commit with the highest committed seq (drivers).
  std::function<void(std::uint64_t)> on_commit;
  // What retention measures age and its interval with, and watches for wall-clock jumps; null:
  // the system clock. Must outlive the store.
  const common::Clock* clock = nullptr;
  // Where the store publishes its wardgate_audit_store_* metrics; null: a registry of the
  // store's own (command-line tools, tests). Must outlive the store.
  common::MetricsRegistry* metrics = nullptr;
};

class AuditStore : public audit::AuditSink, public RecordSource, public CursorStore {
 public:
  // Opens or creates the store and the signing key and starts the writer. Throws StoreError or
  // audit::SecretError naming the file and the reason (start-up only).
  explicit AuditStore(StoreOptions options);
  // Commits what is queued, writes a final checkpoint and stops the writer.
  ~AuditStore() override;
  AuditStore(const AuditStore&) = delete;
  AuditStore& operator=(const AuditStore&) = delete;

  void record(audit::Event event) override;

  std::vector<StoredRecord> read_after(std::uint64_t after, std::size_t max,
                                       std::error_code& ec) override;
  std::uint64_t last_seq() override;
  CommitSubscription on_commit(std::function<void(std::uint64_t)> wake) override;
  std::uint64_t load_cursor(std::string_view destination) override;
  std::error_code save_cursor(std::string_view destination, std::uint64_t seq) override;

  // Waits until every event recorded before the call is committed or counted lost, or until
  // `timeout`; true if done.
  bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Runs retention now (also done by the writer every retention_interval); returns the number of
  // records deleted. Age is measured by trusted time (retention_clock.h), never by a wall clock
  // that jumped; each run deleted is explained by a signed retention-prune record.
  std::uint64_t prune_now();

  // False only under kFailClosed while the store is not keeping events: the proxy then refuses
  // new DICOM associations and HL7 connections.
  bool accepting_clinical_traffic() const {
    return options_.on_failure == FailureMode::kFailOpen ||
           !degraded_.load(std::memory_order_acquire);
  }
  // Not keeping events (disk low, store error or queue overflow), whatever the failure mode.
  bool degraded() const { return degraded_.load(std::memory_order_acquire); }
  // The registry holding the store's metrics (the one in StoreOptions, or the store's own).
  const common::MetricsRegistry& metrics() const { return metrics_; }
  const PublicKey& public_key() const { return signer_.public_key(); }

 private:
  void writer_loop();
  // Writes `batch` (and what the queue gathers meanwhile) in one transaction; on a store error
  // the events are left in `batch` for a retry.
  bool write_batch(std::vector<PendingRecord>& batch);
  void checkpoint_transaction();
  void check_health();
  std::uint64_t run_retention(bool all);  // records deleted
  // Writes the store's own `event` in a transaction of its own, signed by a checkpoint in it,
  // with `also` (deletions, meta) inside it. False (after store_failed) if it failed.
  bool write_own(const audit::Event& event, const std::function<void()>& also);
  void publish_commit();  // after a commit: the committed seq to gauges and subscribers
  void check_clock();     // a wall-clock jump found is recorded at once
  void record_clock_event(const ClockEvent& c);
  void store_failed(const std::string& detail);
  // Publishes degraded_ from the three states; called by whichever thread changed one of them.
  void update_degraded();
  // Writer thread: ends a queue overflow once the writer caught up (or the store is stopping),
  // and records it.
  void end_queue_overflow(bool stopping);
  audit::Event store_event(std::string action, audit::Outcome outcome,
                           audit::Severity severity) const;

  StoreOptions options_;
  const common::Clock& clock_;
  std::unique_ptr<common::MetricsRegistry> own_metrics_;  // when options_.metrics is null
  common::MetricsRegistry& metrics_;
  common::Counter& recorded_;       // events accepted into the queue
  common::Gauge& committed_gauge_;  // highest committed sequence number
  common::Counter& records_lost_;   // events dropped: queue full, disk low, store failure
  common::Counter& commits_;
  common::Counter& checkpoints_;
  common::Counter& store_errors_;
  common::Counter& pruned_;  // records deleted by retention since start
  common::Gauge& degraded_gauge_;
  common::Counter& queue_overflows_;  // episodes of a full queue
  CheckpointSigner signer_;
  // The writer thread's connection, and prune_now()'s and save_cursor()'s under write_mutex_.
  std::unique_ptr<Database> writer_db_;
  std::unique_ptr<ChainWriter> chain_;     // writer thread (or under write_mutex_)
  std::unique_ptr<WalCopier> wal_copier_;  // destroyed before writer_db_
  std::unique_ptr<StoreReader> reader_;
  std::unique_ptr<RetentionClock> time_;  // under write_mutex_
  std::mutex write_mutex_;
  RecordQueue queue_;
  DiskHealth disk_;
  CommitNotifier commits_notifier_;

  // Writer thread only.
  std::chrono::steady_clock::time_point last_health_;
  std::chrono::steady_clock::time_point last_prune_;
  std::vector<audit::Event> notices_;  // the store's own events, written first in the next batch
  std::uint64_t lost_reported_ = 0;    // records_lost_ already reported in an alert
  std::atomic<bool> store_failing_{false};  // the last transaction failed
  bool prune_pending_ = false;              // retention stopped early; continue soon

  // The states the store decides on; their gauges mirror them.
  std::mutex degraded_mutex_;  // orders update_degraded() calls from different threads
  std::atomic<bool> degraded_{false};
  std::atomic<std::uint64_t> committed_seq_{0};
  std::thread writer_;
};

}  // namespace wardgate::store
