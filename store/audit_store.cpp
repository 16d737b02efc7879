#include "store/audit_store.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "audit/event_decode.h"
#include "store/retention.h"
#include "store/store_error.h"
#include "store/store_schema.h"

namespace wardgate::store {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kMiB = 1u << 20;
// Events moved from the queue at a time: small enough that the group-commit deadline is checked
// often, large enough that the queue lock is taken rarely.
constexpr std::size_t kTakeChunk = 1024;
// A queue overflow ends (and the store stops being degraded) only after this long without a drop:
// a flood that keeps the queue at its edge is one degraded episode, not a flapping state.
constexpr std::chrono::seconds kOverflowQuiet{1};

}  // namespace

const char* to_string(FailureMode mode) {
  return mode == FailureMode::kFailOpen ? "fail-open" : "fail-closed";
}

AuditStore::AuditStore(StoreOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : common::SystemClock::instance()),
      own_metrics_(options_.metrics != nullptr ? nullptr
                                               : std::make_unique<common::MetricsRegistry>()),
      metrics_(options_.metrics != nullptr ? *options_.metrics : *own_metrics_),
      recorded_(metrics_.counter("wardgate_audit_store_records_recorded_total",
                                 "Audit events accepted into the store's queue.")),
      committed_gauge_(metrics_.gauge("wardgate_audit_store_committed_seq",
                                      "Highest committed sequence number of the audit store.")),
      records_lost_(metrics_.counter(
          "wardgate_audit_store_records_lost_total",
          "Audit events dropped: queue full, disk below min_free, or a store failure.")),
      commits_(metrics_.counter("wardgate_audit_store_commits_total",
                                "Transactions committed by the audit store's writer.")),
      checkpoints_(metrics_.counter("wardgate_audit_store_checkpoints_total",
                                    "Signed chain checkpoints written by the audit store.")),
      store_errors_(metrics_.counter("wardgate_audit_store_errors_total",
                                     "Failed audit store transactions (retried).")),
      pruned_(metrics_.counter("wardgate_audit_store_pruned_total",
                               "Records deleted by audit store retention.")),
      degraded_gauge_(metrics_.gauge(
          "wardgate_audit_store_degraded",
          "1 while the audit store is not keeping events (disk low, store error or queue "
          "overflow).")),
      queue_overflows_(metrics_.counter(
          "wardgate_audit_store_queue_overflows_total",
          "Times the audit store's queue was full and dropped events (each time degraded until "
          "the writer drained it).")),
      signer_(options_.signing_key_file),
      queue_(options_.queue_capacity),
      disk_(options_.path, options_.min_free_bytes, options_.free_bytes) {
  if (options_.max_batch == 0) options_.max_batch = 1;
  writer_db_ = std::make_unique<Database>(options_.path, Database::Mode::kReadWrite);
  const std::string key = format_public_key(signer_.public_key());
  if (const auto stored = read_meta(*writer_db_, kMetaPublicKey)) {
    if (*stored != key) {
      throw StoreError(options_.path + ": its checkpoints are signed with " + *stored +
                       ", but the signing key " + options_.signing_key_file + " is " + key +
                       "; restore the original key file (or start a new store)");
    }
  } else {
    write_meta(*writer_db_, kMetaPublicKey, key);
  }
  reader_ = std::make_unique<StoreReader>(options_.path, options_.appliance_id);
  chain_ = std::make_unique<ChainWriter>(
      *writer_db_, signer_,
      ChainWriter::Schedule{options_.checkpoint_every_records, options_.checkpoint_every},
      checkpoints_);
  committed_seq_ = chain_->last_seq();
  committed_gauge_.set(static_cast<double>(committed_seq_.load()));
  RetentionClock::Options clock_options;
  clock_options.retention = options_.retention;
  time_ = std::make_unique<RetentionClock>(clock_, *writer_db_, clock_options);
  last_health_ = Clock::time_point{};
  last_prune_ = Clock::time_point{};
  wal_copier_ = std::make_unique<WalCopier>(*writer_db_);
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "audit-writer");
    writer_loop();
  });
}

AuditStore::~AuditStore() {
  queue_.stop();
  if (writer_.joinable()) writer_.join();
  chain_.reset();
  wal_copier_.reset();
}

void AuditStore::record(audit::Event event) {
  if (disk_.refusing()) {
    queue_.refuse();
    records_lost_.inc();
    return;
  }
  // The encoding is made here, on the recording thread, so the single writer only hashes and
  // inserts.
  switch (queue_.push(PendingRecord::of(event))) {
    case RecordQueue::Push::kQueued:
      recorded_.inc();
      return;
    case RecordQueue::Push::kOverflowStarted:
      // Degraded before the loss is counted, as in store_failed().
      update_degraded();
      std::atomic_thread_fence(std::memory_order_release);
      queue_overflows_.inc();
      records_lost_.inc();
      return;
    case RecordQueue::Push::kDropped:
      records_lost_.inc();
      return;
  }
}

bool AuditStore::flush(std::chrono::milliseconds timeout) { return queue_.flush(timeout); }

audit::Event AuditStore::store_event(std::string action, audit::Outcome outcome,
                                     audit::Severity severity) const {
  return audit::make_event(options_.appliance_id, options_.appliance_id, "audit", std::move(action),
                           outcome, severity);
}

void AuditStore::update_degraded() {
  // Under the lock the last caller reads every input after its own change, so a recording
  // thread starting an overflow and the writer ending one cannot leave a stale answer behind.
  const std::lock_guard lock(degraded_mutex_);
  const bool degraded = store_failing_ || disk_.refusing() || queue_.overflowing();
  degraded_.store(degraded, std::memory_order_release);
  degraded_gauge_.set(degraded ? 1.0 : 0.0);
}

void AuditStore::end_queue_overflow(bool stopping) {
  // Caught up: the queue is back to half its capacity at most, and quiet; at shutdown the
  // episode is recorded as it stands.
  const auto ended =
      stopping ? queue_.end_overflow(queue_.capacity(), std::chrono::steady_clock::duration{0})
               : queue_.end_overflow(queue_.capacity() / 2, kOverflowQuiet);
  if (!ended) return;
  update_degraded();
  const auto time_of = [](std::int64_t us) {
    return audit::format_time(std::chrono::system_clock::time_point(std::chrono::microseconds(us)));
  };
  spdlog::warn(
      "audit store {}: the event queue (audit.store.queue_capacity {}) overflowed: {} events "
      "dropped between {} and {} ({})",
      options_.path, queue_.capacity(), ended->dropped, time_of(ended->first_us),
      time_of(ended->last_us), to_string(options_.on_failure));
  audit::Event e = store_event("security-alert", audit::Outcome::kFailure, audit::Severity::kAlert);
  e.fields.set("alert", "queue-overflow");
  e.fields.set("records_dropped", ended->dropped);
  e.fields.set("first_dropped", time_of(ended->first_us));
  e.fields.set("last_dropped", time_of(ended->last_us));
  e.fields.set("queue_capacity", static_cast<std::uint64_t>(queue_.capacity()));
  e.fields.set("on_failure", to_string(options_.on_failure));
  notices_.push_back(std::move(e));
  audit::Event r =
      store_event("store-recovered", audit::Outcome::kSuccess, audit::Severity::kNotice);
  r.fields.set("reason", "queue-overflow");
  notices_.push_back(std::move(r));
}

void AuditStore::check_health() {
  std::uint64_t free = 0;
  switch (disk_.check(free)) {
    case DiskHealth::Change::kBecameLow: {
      spdlog::error(
          "audit store {}: {} MiB free, below audit.store.min_free_mb ({} MiB): new audit "
          "records are counted as lost ({})",
          options_.path, free / kMiB, options_.min_free_bytes / kMiB,
          to_string(options_.on_failure));
      audit::Event e =
          store_event("security-alert", audit::Outcome::kFailure, audit::Severity::kAlert);
      e.fields.set("alert", "store-disk-low");
      e.fields.set("free_mb", free / kMiB);
      e.fields.set("min_free_mb", options_.min_free_bytes / kMiB);
      e.fields.set("on_failure", to_string(options_.on_failure));
      notices_.push_back(std::move(e));
      break;
    }
    case DiskHealth::Change::kRecovered: {
      spdlog::warn("audit store {}: {} MiB free again; keeping audit records again", options_.path,
                   free / kMiB);
      audit::Event e =
          store_event("store-recovered", audit::Outcome::kSuccess, audit::Severity::kNotice);
      e.fields.set("reason", "disk-space");
      e.fields.set("free_mb", free / kMiB);
      notices_.push_back(std::move(e));
      break;
    }
    case DiskHealth::Change::kNone:
      break;
  }
  update_degraded();
}

void AuditStore::store_failed(const std::string& detail) {
  const bool first = !store_failing_;
  store_failing_ = true;
  // Degraded is published before the error is counted (the fence pairs with the acquire fence
  // in MetricsRegistry::value()): whoever sees the error count also sees the store degraded,
  // never an error count ahead of it.
  update_degraded();
  std::atomic_thread_fence(std::memory_order_release);
  store_errors_.inc();
  if (first) {
    spdlog::error("audit store failure ({}): {}; retrying every {} ms",
                  to_string(options_.on_failure), detail, options_.retry_interval.count());
    audit::Event e =
        store_event("security-alert", audit::Outcome::kFailure, audit::Severity::kAlert);
    e.fields.set("alert", "store-error");
    e.fields.set("on_failure", to_string(options_.on_failure));
    notices_.push_back(std::move(e));
  }
}

void AuditStore::checkpoint_transaction() {
  const std::lock_guard lock(write_mutex_);
  try {
    writer_db_->exec("BEGIN IMMEDIATE");
    chain_->sign_checkpoint();
    writer_db_->exec("COMMIT");
  } catch (const StoreError& e) {
    sqlite3_exec(writer_db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    chain_->forget_checkpoint();
    store_failed(e.what());
  }
}

bool AuditStore::write_batch(std::vector<PendingRecord>& batch) {
  const std::lock_guard lock(write_mutex_);
  const ChainWriter::Position saved = chain_->position();
  const auto lost = static_cast<std::uint64_t>(records_lost_.value());
  try {
    writer_db_->exec("BEGIN IMMEDIATE");
    std::vector<audit::Event> own;  // the store's own events, first in the transaction
    if (lost > lost_reported_) {
      audit::Event e =
          store_event("security-alert", audit::Outcome::kFailure, audit::Severity::kAlert);
      e.fields.set("alert", "records-lost");
      e.fields.set("records_lost", lost - lost_reported_);
      e.fields.set("records_lost_total", lost);
      own.push_back(std::move(e));
    }
    own.insert(own.end(), notices_.begin(), notices_.end());
    if (store_failing_) {
      audit::Event e =
          store_event("store-recovered", audit::Outcome::kSuccess, audit::Severity::kNotice);
      e.fields.set("reason", "store-error");
      e.fields.set("store_errors", static_cast<std::uint64_t>(store_errors_.value()));
      own.push_back(std::move(e));
    }
    std::vector<PendingRecord> own_records;
    own_records.reserve(own.size());
    for (const auto& e : own) own_records.push_back(PendingRecord::of(e));
    for (const auto& p : own_records) chain_->append(p);
    chain_->flush();
    for (const auto& p : batch) chain_->append(p);
    // Group commit: keep gathering what arrives while this transaction is open, up to the
    // latency bound and the batch cap.
    const auto deadline = Clock::now() + options_.group_commit;
    std::vector<PendingRecord> more;
    while (batch.size() < options_.max_batch && Clock::now() < deadline) {
      if (!queue_.take(more, std::min(kTakeChunk, options_.max_batch - batch.size()))) break;
      for (const auto& p : more) chain_->append(p);
      chain_->flush();
      batch.insert(batch.end(), std::make_move_iterator(more.begin()),
                   std::make_move_iterator(more.end()));
      more.clear();
    }
    chain_->flush();
    if (chain_->checkpoint_due()) chain_->sign_checkpoint();
    chain_->save_zone();
    writer_db_->exec("COMMIT");
  } catch (const StoreError& e) {
    sqlite3_exec(writer_db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    chain_->rewind(saved);
    store_failed(e.what());
    return false;
  }
  notices_.clear();
  lost_reported_ = lost;
  if (store_failing_) {
    store_failing_ = false;
    spdlog::warn("audit store {}: writing again after {} errors", options_.path,
                 static_cast<std::uint64_t>(store_errors_.value()));
    update_degraded();
  }
  publish_commit();
  queue_.settle(batch.size());
  batch.clear();
  return true;
}

void AuditStore::publish_commit() {
  const std::uint64_t committed = chain_->last_seq();
  committed_seq_.store(committed, std::memory_order_release);
  committed_gauge_.set(static_cast<double>(committed));
  commits_.inc();
  if (options_.on_commit) options_.on_commit(committed);
  commits_notifier_.notify(committed);
}

bool AuditStore::write_own(const audit::Event& event, const std::function<void()>& also) {
  const ChainWriter::Position saved = chain_->position();
  const PendingRecord record = PendingRecord::of(event);
  try {
    writer_db_->exec("BEGIN IMMEDIATE");
    chain_->append(record);
    chain_->flush();
    chain_->sign_checkpoint();
    chain_->save_zone();
    also();
    writer_db_->exec("COMMIT");
  } catch (const StoreError& e) {
    sqlite3_exec(writer_db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    chain_->rewind(saved);
    store_failed(e.what());
    return false;
  }
  publish_commit();
  return true;
}

void AuditStore::record_clock_event(const ClockEvent& c) {
  const bool jump = c.kind == ClockEvent::Kind::kJump;
  audit::Event e =
      jump
          ? store_event("clock-jump", audit::Outcome::kWarning, audit::Severity::kAlert)
          : store_event("clock-offset-cleared", audit::Outcome::kSuccess, audit::Severity::kNotice);
  e.time = audit::from_unix_us(c.wall_us);
  e.fields.set("reason", c.reason);
  e.fields.set("wall_time", audit::format_time(audit::from_unix_us(c.wall_us)));
  e.fields.set("expected_time", audit::format_time(audit::from_unix_us(c.expected_us)));
  e.fields.set("jump_s", c.jump_us() / 1000000);
  e.fields.set("offset_s", c.offset_us / 1000000);
  e.fields.set("trusted_time", audit::format_time(audit::from_unix_us(c.trusted_us)));
  if (jump) {
    spdlog::warn(
        "audit store {}: the wall clock jumped {} s ({}: it says {}, {} was expected); "
        "retention measures age by trusted time, {} s behind the wall clock",
        options_.path, c.jump_us() / 1000000, c.reason,
        audit::format_time(audit::from_unix_us(c.wall_us)),
        audit::format_time(audit::from_unix_us(c.expected_us)), c.offset_us / 1000000);
  } else {
    spdlog::info(
        "audit store {}: a retention period has passed since the last clock jump; "
        "retention follows the wall clock again",
        options_.path);
  }
  // The offset is kept with the record of the jump, so a restart cannot lose it.
  if (!write_own(e, [this] { time_->save(*writer_db_); })) notices_.push_back(std::move(e));
}

void AuditStore::check_clock() {
  if (const auto e = time_->start_event()) record_clock_event(*e);
  if (const auto e = time_->check()) record_clock_event(*e);
}

std::uint64_t AuditStore::run_retention(bool all) {
  check_clock();
  if (options_.retention.count() <= 0) return 0;
  const std::int64_t trusted = time_->trusted_now_us();
  const PruneReason why{
      options_.appliance_id, options_.retention,
      trusted - std::chrono::duration_cast<std::chrono::microseconds>(options_.retention).count(),
      trusted, time_->wall_now_us()};
  std::uint64_t deleted = 0;
  int runs = 0;
  bool more = false;
  bool failed = false;
  while (const auto plan = plan_prune(*writer_db_, why.cutoff_us, chain_->next_seq())) {
    if (!all && runs == kPruneRunsPerCall) {
      more = true;
      break;
    }
    const bool done = write_own(prune_event(*plan, why), [this, &plan] {
      apply_prune(*writer_db_, *plan);
      time_->save(*writer_db_);
    });
    if (!done) {
      failed = true;
      break;
    }
    ++runs;
    deleted += plan->records;
    spdlog::info(
        "audit store {}: retention removed {} records (seq {}-{}), anchored at checkpoint {}",
        options_.path, plan->records, plan->first_seq, plan->through, plan->through);
  }
  if (runs == 0 && !failed) {
    // Nothing pruned: the clock's state is still kept, for the comparison at the next start.
    try {
      writer_db_->exec("BEGIN IMMEDIATE");
      time_->save(*writer_db_);
      writer_db_->exec("COMMIT");
    } catch (const StoreError& e) {
      sqlite3_exec(writer_db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
      store_failed(e.what());
    }
  }
  prune_pending_ = more;
  pruned_.inc(deleted);
  return deleted;
}

void AuditStore::writer_loop() {
  std::vector<PendingRecord> batch;
  bool retrying = false;
  for (;;) {
    // A batch being retried stays as it was; new events wait in the (bounded) queue.
    const auto wait = retrying ? options_.retry_interval : options_.health_interval;
    const bool stop =
        queue_.wait_and_take(batch, std::min(kTakeChunk, options_.max_batch), wait, !retrying);
    if (queue_.overflowing()) end_queue_overflow(stop);
    const auto now = Clock::now();
    if (now - last_health_ >= options_.health_interval) {
      last_health_ = now;
      check_health();
      const std::lock_guard lock(write_mutex_);
      check_clock();
    }
    const auto steady = clock_.steady_now();
    const auto prune_every =
        prune_pending_
            ? std::chrono::seconds(1)
            : std::chrono::duration_cast<std::chrono::seconds>(options_.retention_interval);
    if (options_.retention.count() > 0 && steady - last_prune_ >= prune_every) {
      last_prune_ = steady;
      try {
        const std::lock_guard lock(write_mutex_);
        run_retention(false);
      } catch (const StoreError& e) {
        sqlite3_exec(writer_db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        store_failed(e.what());
      }
    }
    if (!batch.empty() || !notices_.empty()) {
      retrying = !write_batch(batch);
    } else if (chain_->checkpoint_due()) {
      checkpoint_transaction();
    }
    if (stop && (queue_.empty() || retrying) && (batch.empty() || retrying)) break;
  }
  // Whatever could not be written by now is lost; say so in the counter.
  const std::size_t unwritten = batch.size() + queue_.drop_all();
  if (unwritten > 0) {
    records_lost_.inc(unwritten);
    spdlog::error("audit store {}: {} records could not be written before shutdown", options_.path,
                  unwritten);
  }
  if (!retrying && chain_->unsigned_records()) checkpoint_transaction();
}

std::uint64_t AuditStore::prune_now() {
  const std::lock_guard lock(write_mutex_);
  return run_retention(true);
}

std::vector<StoredRecord> AuditStore::read_after(std::uint64_t after, std::size_t max,
                                                 std::error_code& ec) {
  return reader_->read_after(after, max, committed_seq_.load(std::memory_order_acquire), ec);
}

std::uint64_t AuditStore::last_seq() { return committed_seq_.load(std::memory_order_acquire); }

CommitSubscription AuditStore::on_commit(std::function<void(std::uint64_t)> wake) {
  return commits_notifier_.subscribe(std::move(wake));
}

std::uint64_t AuditStore::load_cursor(std::string_view destination) {
  return reader_->load_cursor(destination);
}

std::error_code AuditStore::save_cursor(std::string_view destination, std::uint64_t seq) {
  const std::lock_guard lock(write_mutex_);
  try {
    auto s = writer_db_->prepare("INSERT OR REPLACE INTO cursors(destination, seq) VALUES(?, ?)");
    s.bind(1, destination).bind(2, static_cast<std::int64_t>(seq));
    s.step();
  } catch (const StoreError& e) {
    spdlog::warn("audit store {}: saving the cursor of {}: {}", options_.path, destination,
                 e.what());
    return Errc::kWriteFailed;
  }
  return {};
}

}  // namespace wardgate::store
