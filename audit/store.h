#pragma once
// The durable, tamper-evident audit store (issue 5): sqlite3 in WAL mode with synchronous=FULL,
// one writer thread behind a bounded queue, group commit, a BLAKE2b hash chain over the canonical
// encoding of every record and Ed25519-signed checkpoints. docs/audit-events.md describes what a
// stored record holds; store_verify.h checks a store.
//
// record() never waits on the disk: it moves the event into the queue, or, if the queue is full
// or the store is refusing events (disk below min_free, store error), counts it as lost. Lost
// records, a low disk and store errors are themselves recorded as security alerts as soon as the
// store can write again; under FailureMode::kFailClosed accepting_clinical_traffic() is false
// while the store cannot keep what it is given.
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/checkpoint_signer.h"
#include "audit/record_source.h"
#include "audit/sink.h"

namespace wardgate::audit {

class Database;
class Statement;

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
};

struct StoreStats {
  std::uint64_t recorded = 0;       // events accepted into the queue
  std::uint64_t committed_seq = 0;  // highest committed sequence number
  std::uint64_t records_lost = 0;   // events dropped: queue full, disk low, store failure
  std::uint64_t commits = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t store_errors = 0;
  std::uint64_t pruned = 0;  // records deleted by retention since start
  bool degraded = false;     // not keeping events (disk low or store error)
};

class AuditStore : public AuditSink, public RecordSource, public CursorStore {
 public:
  // Opens or creates the store and the signing key and starts the writer. Throws StoreError or
  // SecretError naming the file and the reason (start-up only).
  explicit AuditStore(StoreOptions options);
  // Commits what is queued, writes a final checkpoint and stops the writer.
  ~AuditStore() override;
  AuditStore(const AuditStore&) = delete;
  AuditStore& operator=(const AuditStore&) = delete;

  void record(Event event) override;

  std::vector<StoredRecord> read_after(std::uint64_t after, std::size_t max) override;
  std::uint64_t last_seq() override;
  std::uint64_t load_cursor(std::string_view destination) override;
  void save_cursor(std::string_view destination, std::uint64_t seq) override;

  // Waits until every event recorded before the call is committed or counted lost, or until
  // `timeout`; true if done.
  bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Runs retention now (also done by the writer every retention_interval); returns the number of
  // records deleted.
  std::uint64_t prune_now();

  // False only under kFailClosed while the store is not keeping events: the proxy then refuses
  // new DICOM associations and HL7 connections.
  bool accepting_clinical_traffic() const {
    return options_.on_failure == FailureMode::kFailOpen ||
           !degraded_.load(std::memory_order_acquire);
  }
  StoreStats stats() const;
  void wal_grew(int pages);  // sqlite's WAL hook (writer thread)
  const PublicKey& public_key() const { return signer_.public_key(); }

 private:
  void writer_loop();
  // Writes `batch` (and what the queue gathers meanwhile) in one transaction; on a store error
  // the events are left in `batch` for a retry.
  // What the writer needs of an event, made by the recording thread in one allocation so the
  // writer neither encodes nor frees the event's many strings.
  struct Pending {
    std::int64_t time_us = 0;
    Outcome outcome = Outcome::kSuccess;
    Severity severity = Severity::kInfo;
    std::array<std::uint32_t, 4>
        lengths{};  // appliance, device, category, action; canonical follows
    std::string text;
    static Pending of(const Event& event);
    std::string_view part(int i) const;
    std::string_view canonical() const;
  };
  bool write_batch(std::vector<Pending>& batch);
  // Moves up to `max` events from the queue into `out` (queue_mutex_ held).
  void take_locked(std::vector<Pending>& out, std::size_t max);
  void insert(const Pending& record);
  bool checkpoint_due() const;
  void insert_checkpoint();
  void checkpoint_transaction();
  void check_health();
  void store_failed(const std::string& detail);
  void update_degraded();
  Event store_event(std::string action, Outcome outcome, Severity severity) const;
  std::uint64_t prune_locked();
  std::uint64_t free_bytes() const;

  StoreOptions options_;
  CheckpointSigner signer_;
  std::unique_ptr<Database>
      writer_db_;  // the writer thread's, and prune_now()'s under write_mutex_
  std::unique_ptr<Database> reader_db_;  // read_after, cursors; under reader_mutex_
  std::mutex reader_mutex_;
  std::mutex write_mutex_;

  // Chain state: writer thread only (or under write_mutex_).
  std::uint64_t next_seq_ = 1;
  ChainHash prev_hash_{};
  std::uint64_t last_checkpoint_seq_ = 0;
  std::chrono::steady_clock::time_point last_checkpoint_time_;
  std::chrono::steady_clock::time_point last_health_;
  std::chrono::steady_clock::time_point last_prune_;
  std::vector<Event> notices_;       // the store's own events, written first in the next batch
  std::uint64_t lost_reported_ = 0;  // records_lost_ already reported in an alert
  bool store_failing_ = false;       // the last transaction failed
  bool prune_pending_ = false;       // retention stopped early; continue soon
  std::unique_ptr<Statement> insert_record_;
  std::unique_ptr<Statement> insert_records_;  // kRowsPerInsert rows in one statement
  // Records hashed but not yet inserted: sqlite runs one multi-row INSERT for several of them
  // (the bytes stay where the Pending entries are; flush_staged() before those move).
  struct Staged {
    const Pending* record;
    std::uint64_t seq;
    ChainHash hash;
  };
  std::vector<Staged> staged_;
  void flush_staged();
  void bind_record(Statement& s, int first, const Staged& row);
  struct TimeZone {
    std::uint64_t first_seq = 0;  // 0: none open
    std::uint64_t last_seq = 0;
    std::int64_t min_time_us = 0;
    std::int64_t max_time_us = 0;
    bool dirty = false;
  };
  TimeZone zone_;  // the open time_zones row (writer)
  void save_zone();

  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::condition_variable flushed_cv_;
  std::deque<Pending> queue_;
  std::uint64_t enqueued_ = 0;  // tickets handed out (under queue_mutex_)
  std::uint64_t settled_ = 0;   // tickets committed or lost (under queue_mutex_)
  bool stopping_ = false;

  std::atomic<bool> degraded_{false};
  std::atomic<bool> refusing_{false};  // disk below min_free: record() counts events as lost
  std::atomic<std::uint64_t> recorded_{0};
  std::atomic<std::uint64_t> committed_seq_{0};
  std::atomic<std::uint64_t> records_lost_{0};
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> checkpoints_{0};
  std::atomic<std::uint64_t> store_errors_{0};
  std::atomic<std::uint64_t> pruned_{0};
  std::thread writer_;

  // WAL checkpoints (copying the WAL into the database file) run on their own thread and
  // connection, so the writer never does that I/O.
  void checkpointer_loop();
  std::unique_ptr<Database> checkpoint_db_;
  std::mutex wal_mutex_;
  std::condition_variable wal_cv_;
  std::atomic<int> wal_pages_{0};
  bool wal_stopping_ = false;
  std::thread checkpointer_;
};

}  // namespace wardgate::audit
