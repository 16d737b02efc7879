#include "audit/store.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <algorithm>

#include "audit/event_decode.h"
#include "audit/hash_chain.h"
#include "audit/store_schema.h"

namespace wardgate::audit {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxReadBatch = 10000;
constexpr std::int64_t kPruneChunk = 50000;  // records deleted per transaction, about
constexpr int kPruneChunksPerCall = 4;
constexpr std::size_t kRowsPerInsert = 16;
constexpr int kRecordColumns = 10;
constexpr std::uint64_t kMiB = 1u << 20;
// Events moved from the queue at a time: small enough that the group-commit deadline is checked
// often, large enough that the queue lock is taken rarely.
constexpr std::size_t kTakeChunk = 1024;
constexpr int kWalCheckpointPages = 2048;  // of 16 KiB: a checkpoint per 32 MiB of WAL

int on_wal_commit(void* context, sqlite3*, const char*, int pages);

std::int64_t now_us() { return to_unix_us(std::chrono::system_clock::now()); }

std::uint64_t statvfs_free(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return UINT64_MAX;  // unknown: do not refuse on it
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

}  // namespace

const char* to_string(FailureMode mode) {
  return mode == FailureMode::kFailOpen ? "fail-open" : "fail-closed";
}

AuditStore::AuditStore(StoreOptions options)
    : options_(std::move(options)), signer_(options_.signing_key_file) {
  if (!options_.free_bytes) options_.free_bytes = statvfs_free;
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
  reader_db_ = std::make_unique<Database>(options_.path, Database::Mode::kReadOnly);

  // Where the chain continues: the last record, else the anchor left by retention, else genesis.
  {
    auto last = writer_db_->prepare("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1");
    auto anchor =
        writer_db_->prepare("SELECT seq, hash FROM checkpoints ORDER BY seq DESC LIMIT 1");
    prev_hash_ = kGenesisHash;
    next_seq_ = 1;
    if (last.step()) {
      const auto blob = last.column_blob(1);
      if (blob.size() != kChainHashBytes) {
        throw StoreError(options_.path +
                         ": the last record's hash is damaged; run wardgate audit "
                         "verify and move the store aside");
      }
      std::copy(blob.begin(), blob.end(), prev_hash_.begin());
      next_seq_ = static_cast<std::uint64_t>(last.column_int(0)) + 1;
    }
    if (anchor.step()) {
      last_checkpoint_seq_ = static_cast<std::uint64_t>(anchor.column_int(0));
      if (last_checkpoint_seq_ >= next_seq_) {
        const auto blob = anchor.column_blob(1);
        if (blob.size() != kChainHashBytes)
          throw StoreError(options_.path + ": damaged checkpoint");
        std::copy(blob.begin(), blob.end(), prev_hash_.begin());
        next_seq_ = last_checkpoint_seq_ + 1;
      }
    }
  }
  {
    auto zone = writer_db_->prepare(
        "SELECT first_seq, last_seq, min_time_us, max_time_us FROM time_zones "
        "ORDER BY first_seq DESC LIMIT 1");
    if (zone.step()) {
      zone_ = TimeZone{static_cast<std::uint64_t>(zone.column_int(0)),
                       static_cast<std::uint64_t>(zone.column_int(1)), zone.column_int(2),
                       zone.column_int(3), false};
    }
  }
  committed_seq_ = next_seq_ - 1;
  const std::string insert =
      "INSERT INTO records(seq, time_us, appliance, device, category, action, outcome, severity, "
      "canonical, hash) VALUES(?,?,?,?,?,?,?,?,?,?)";
  insert_record_ = std::make_unique<Statement>(writer_db_->prepare(insert));
  std::string many = insert;
  for (std::size_t i = 1; i < kRowsPerInsert; ++i) many += ",(?,?,?,?,?,?,?,?,?,?)";
  insert_records_ = std::make_unique<Statement>(writer_db_->prepare(many));
  staged_.reserve(kRowsPerInsert);
  last_checkpoint_time_ = Clock::now();
  last_health_ = Clock::time_point{};
  last_prune_ = Clock::time_point{};
  checkpoint_db_ = std::make_unique<Database>(options_.path, Database::Mode::kReadWrite);
  writer_db_->exec("PRAGMA wal_autocheckpoint=0");
  sqlite3_wal_hook(writer_db_->handle(), on_wal_commit, this);
  checkpointer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "audit-wal");
    checkpointer_loop();
  });
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "audit-writer");
    writer_loop();
  });
}

AuditStore::~AuditStore() {
  {
    const std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  insert_record_.reset();
  insert_records_.reset();
  {
    const std::lock_guard lock(wal_mutex_);
    wal_stopping_ = true;
  }
  wal_cv_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
}

namespace {
int on_wal_commit(void* context, sqlite3*, const char*, int pages) {
  static_cast<AuditStore*>(context)->wal_grew(pages);
  return SQLITE_OK;
}
}  // namespace

void AuditStore::wal_grew(int pages) {
  wal_pages_.store(pages, std::memory_order_relaxed);
  if (pages >= kWalCheckpointPages) wal_cv_.notify_one();
}

void AuditStore::checkpointer_loop() {
  std::unique_lock lock(wal_mutex_);
  while (!wal_stopping_) {
    wal_cv_.wait_for(lock, std::chrono::seconds(1), [&] {
      return wal_stopping_ || wal_pages_.load(std::memory_order_relaxed) >= kWalCheckpointPages;
    });
    if (wal_pages_.load(std::memory_order_relaxed) == 0) continue;
    lock.unlock();
    int log = 0;
    int done = 0;
    // PASSIVE: never waits for or blocks the writer; what it cannot copy now waits for the next.
    const int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_->handle(), nullptr,
                                             SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      spdlog::warn("audit store {}: WAL checkpoint failed: {}", options_.path,
                   sqlite3_errmsg(checkpoint_db_->handle()));
    }
    wal_pages_.store(0, std::memory_order_relaxed);
    lock.lock();
  }
}

void AuditStore::record(Event event) {
  if (refusing_.load(std::memory_order_relaxed)) {
    {
      const std::lock_guard lock(queue_mutex_);
      ++enqueued_;
      ++settled_;
    }
    records_lost_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // The encoding is made here, on the recording thread, so the single writer only hashes and
  // inserts.
  Pending pending = Pending::of(event);
  bool lost = false;
  {
    const std::lock_guard lock(queue_mutex_);
    ++enqueued_;
    if (queue_.size() >= options_.queue_capacity || stopping_) {
      ++settled_;
      lost = true;
    } else {
      queue_.push_back(std::move(pending));
    }
  }
  if (lost) {
    records_lost_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  recorded_.fetch_add(1, std::memory_order_relaxed);
  queue_cv_.notify_one();
}

AuditStore::Pending AuditStore::Pending::of(const Event& event) {
  Pending p;
  p.time_us = to_unix_us(event.time);
  p.outcome = event.outcome;
  p.severity = event.severity;
  const std::string canonical = to_json(event);
  const std::array<const std::string*, 4> parts = {&event.appliance_id, &event.device,
                                                   &event.category, &event.action};
  std::size_t size = canonical.size();
  for (const auto* part : parts) size += part->size();
  p.text.reserve(size);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    p.lengths[i] = static_cast<std::uint32_t>(parts[i]->size());
    p.text += *parts[i];
  }
  p.text += canonical;
  return p;
}

std::string_view AuditStore::Pending::part(int i) const {
  std::size_t offset = 0;
  for (int k = 0; k < i; ++k) offset += lengths[static_cast<std::size_t>(k)];
  return std::string_view(text).substr(offset, lengths[static_cast<std::size_t>(i)]);
}

std::string_view AuditStore::Pending::canonical() const {
  return std::string_view(text).substr(std::size_t{lengths[0]} + lengths[1] + lengths[2] +
                                       lengths[3]);
}

void AuditStore::take_locked(std::vector<Pending>& out, std::size_t max) {
  const std::size_t take = std::min(queue_.size(), max);
  for (std::size_t i = 0; i < take; ++i) {
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
}

bool AuditStore::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(queue_mutex_);
  const std::uint64_t target = enqueued_;
  queue_cv_.notify_one();
  return flushed_cv_.wait_for(lock, timeout, [&] { return settled_ >= target; });
}

Event AuditStore::store_event(std::string action, Outcome outcome, Severity severity) const {
  Event e;
  e.time = std::chrono::system_clock::now();
  e.appliance_id = options_.appliance_id;
  e.device = options_.appliance_id;
  e.category = "audit";
  e.action = std::move(action);
  e.outcome = outcome;
  e.severity = severity;
  return e;
}

std::uint64_t AuditStore::free_bytes() const { return options_.free_bytes(options_.path); }

void AuditStore::update_degraded() {
  const bool degraded = store_failing_ || refusing_.load(std::memory_order_relaxed);
  degraded_.store(degraded, std::memory_order_release);
}

void AuditStore::check_health() {
  const std::uint64_t free = free_bytes();
  const bool low = free < options_.min_free_bytes;
  // 10 % hysteresis so that a store near the threshold does not flap.
  const bool recovered = free >= options_.min_free_bytes + options_.min_free_bytes / 10;
  if (low && !refusing_.load(std::memory_order_relaxed)) {
    refusing_.store(true, std::memory_order_relaxed);
    spdlog::error(
        "audit store {}: {} MiB free, below audit.store.min_free_mb ({} MiB): new audit records "
        "are counted as lost ({})",
        options_.path, free / kMiB, options_.min_free_bytes / kMiB, to_string(options_.on_failure));
    Event e = store_event("security-alert", Outcome::kFailure, Severity::kAlert);
    e.fields.set("alert", "store-disk-low");
    e.fields.set("free_mb", free / kMiB);
    e.fields.set("min_free_mb", options_.min_free_bytes / kMiB);
    e.fields.set("on_failure", to_string(options_.on_failure));
    notices_.push_back(std::move(e));
  } else if (recovered && refusing_.load(std::memory_order_relaxed)) {
    refusing_.store(false, std::memory_order_relaxed);
    spdlog::warn("audit store {}: {} MiB free again; keeping audit records again", options_.path,
                 free / kMiB);
    Event e = store_event("store-recovered", Outcome::kSuccess, Severity::kNotice);
    e.fields.set("reason", "disk-space");
    e.fields.set("free_mb", free / kMiB);
    notices_.push_back(std::move(e));
  }
  update_degraded();
}

void AuditStore::store_failed(const std::string& detail) {
  const bool first = !store_failing_;
  store_failing_ = true;
  // Degraded is published before the error is counted (release, read with acquire in stats()):
  // whoever sees the error count also sees the store degraded, never an error count ahead of it.
  update_degraded();
  store_errors_.fetch_add(1, std::memory_order_release);
  if (first) {
    spdlog::error("audit store failure ({}): {}; retrying every {} ms",
                  to_string(options_.on_failure), detail, options_.retry_interval.count());
    Event e = store_event("security-alert", Outcome::kFailure, Severity::kAlert);
    e.fields.set("alert", "store-error");
    e.fields.set("on_failure", to_string(options_.on_failure));
    notices_.push_back(std::move(e));
  }
}

void AuditStore::insert(const Pending& record) {
  const std::string_view canonical = record.canonical();
  const ChainHash hash = chain_next(prev_hash_, canonical);
  if (zone_.first_seq == 0 || next_seq_ - zone_.first_seq >= kTimeZoneRecords) {
    save_zone();
    zone_ = TimeZone{next_seq_, next_seq_, record.time_us, record.time_us, true};
  }
  zone_.last_seq = next_seq_;
  zone_.min_time_us = std::min(zone_.min_time_us, record.time_us);
  zone_.max_time_us = std::max(zone_.max_time_us, record.time_us);
  zone_.dirty = true;
  staged_.push_back(Staged{&record, next_seq_, hash});
  prev_hash_ = hash;
  ++next_seq_;
  if (staged_.size() == kRowsPerInsert) flush_staged();
  if (options_.checkpoint_every_records > 0 &&
      next_seq_ - 1 - last_checkpoint_seq_ >= options_.checkpoint_every_records) {
    insert_checkpoint();
  }
}

void AuditStore::bind_record(Statement& s, int first, const Staged& row) {
  const Pending& r = *row.record;
  s.bind(first, static_cast<std::int64_t>(row.seq))
      .bind(first + 1, r.time_us)
      .bind_static(first + 2, r.part(0))
      .bind_static(first + 3, r.part(1))
      .bind_static(first + 4, r.part(2))
      .bind_static(first + 5, r.part(3))
      .bind_static(first + 6, to_string(r.outcome))
      .bind_static(first + 7, to_string(r.severity))
      .bind_static(first + 8, r.canonical())
      .bind_blob_static(first + 9, row.hash.data(), row.hash.size());
}

void AuditStore::flush_staged() {
  if (staged_.size() == kRowsPerInsert) {
    auto& s = *insert_records_;
    for (std::size_t i = 0; i < staged_.size(); ++i) {
      bind_record(s, 1 + static_cast<int>(i) * kRecordColumns, staged_[i]);
    }
    s.step();
    s.reset();
  } else {
    auto& s = *insert_record_;
    for (const auto& row : staged_) {
      bind_record(s, 1, row);
      s.step();
      s.reset();
    }
  }
  staged_.clear();
}

void AuditStore::save_zone() {
  if (!zone_.dirty) return;
  auto s = writer_db_->prepare(
      "INSERT OR REPLACE INTO time_zones(first_seq, last_seq, min_time_us, max_time_us) "
      "VALUES(?,?,?,?)");
  s.bind(1, static_cast<std::int64_t>(zone_.first_seq))
      .bind(2, static_cast<std::int64_t>(zone_.last_seq))
      .bind(3, zone_.min_time_us)
      .bind(4, zone_.max_time_us);
  s.step();
  zone_.dirty = false;
}

bool AuditStore::checkpoint_due() const {
  const std::uint64_t last = next_seq_ - 1;
  if (last <= last_checkpoint_seq_) return false;
  if (options_.checkpoint_every_records > 0 &&
      last - last_checkpoint_seq_ >= options_.checkpoint_every_records) {
    return true;
  }
  return options_.checkpoint_every.count() > 0 &&
         Clock::now() - last_checkpoint_time_ >= options_.checkpoint_every;
}

void AuditStore::insert_checkpoint() {
  const std::uint64_t seq = next_seq_ - 1;
  const Checkpoint c = signer_.sign(seq, prev_hash_, now_us());
  auto s = writer_db_->prepare(
      "INSERT OR REPLACE INTO checkpoints(seq, hash, signed_at_us, signature) VALUES(?,?,?,?)");
  s.bind(1, static_cast<std::int64_t>(c.seq))
      .bind_blob(2, c.hash.data(), c.hash.size())
      .bind(3, c.signed_at_us)
      .bind_blob(4, c.signature.data(), c.signature.size());
  s.step();
  last_checkpoint_seq_ = seq;
  last_checkpoint_time_ = Clock::now();
  checkpoints_.fetch_add(1, std::memory_order_relaxed);
}

void AuditStore::checkpoint_transaction() {
  const std::lock_guard lock(write_mutex_);
  try {
    writer_db_->exec("BEGIN IMMEDIATE");
    insert_checkpoint();
    writer_db_->exec("COMMIT");
  } catch (const StoreError& e) {
    sqlite3_exec(writer_db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    last_checkpoint_seq_ = 0;  // re-sign on the next occasion
    store_failed(e.what());
  }
}

bool AuditStore::write_batch(std::vector<Pending>& batch) {
  const std::lock_guard lock(write_mutex_);
  const std::uint64_t saved_seq = next_seq_;
  const ChainHash saved_hash = prev_hash_;
  const std::uint64_t saved_checkpoint = last_checkpoint_seq_;
  const auto saved_checkpoint_time = last_checkpoint_time_;
  const TimeZone saved_zone = zone_;
  const std::uint64_t lost = records_lost_.load(std::memory_order_relaxed);
  try {
    writer_db_->exec("BEGIN IMMEDIATE");
    std::vector<Event> own;  // the store's own events, first in the transaction
    if (lost > lost_reported_) {
      Event e = store_event("security-alert", Outcome::kFailure, Severity::kAlert);
      e.fields.set("alert", "records-lost");
      e.fields.set("records_lost", lost - lost_reported_);
      e.fields.set("records_lost_total", lost);
      own.push_back(std::move(e));
    }
    own.insert(own.end(), notices_.begin(), notices_.end());
    if (store_failing_) {
      Event e = store_event("store-recovered", Outcome::kSuccess, Severity::kNotice);
      e.fields.set("reason", "store-error");
      e.fields.set("store_errors", store_errors_.load(std::memory_order_relaxed));
      own.push_back(std::move(e));
    }
    std::vector<Pending> own_records;
    own_records.reserve(own.size());
    for (const auto& e : own) own_records.push_back(Pending::of(e));
    for (const auto& p : own_records) insert(p);
    flush_staged();
    for (const auto& p : batch) insert(p);
    // Group commit: keep gathering what arrives while this transaction is open, up to the
    // latency bound and the batch cap.
    const auto deadline = Clock::now() + options_.group_commit;
    std::vector<Pending> more;
    while (batch.size() < options_.max_batch && Clock::now() < deadline) {
      {
        const std::lock_guard qlock(queue_mutex_);
        if (queue_.empty()) break;
        take_locked(more, std::min(kTakeChunk, options_.max_batch - batch.size()));
      }
      for (const auto& p : more) insert(p);
      flush_staged();
      batch.insert(batch.end(), std::make_move_iterator(more.begin()),
                   std::make_move_iterator(more.end()));
      more.clear();
    }
    flush_staged();
    if (checkpoint_due()) insert_checkpoint();
    save_zone();
    writer_db_->exec("COMMIT");
  } catch (const StoreError& e) {
    sqlite3_exec(writer_db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    staged_.clear();
    next_seq_ = saved_seq;
    prev_hash_ = saved_hash;
    last_checkpoint_seq_ = saved_checkpoint;
    last_checkpoint_time_ = saved_checkpoint_time;
    zone_ = saved_zone;
    store_failed(e.what());
    return false;
  }
  notices_.clear();
  lost_reported_ = lost;
  if (store_failing_) {
    store_failing_ = false;
    spdlog::warn("audit store {}: writing again after {} errors", options_.path,
                 store_errors_.load(std::memory_order_relaxed));
    update_degraded();
  }
  const std::uint64_t committed = next_seq_ - 1;
  committed_seq_.store(committed, std::memory_order_release);
  commits_.fetch_add(1, std::memory_order_relaxed);
  if (options_.on_commit) options_.on_commit(committed);
  {
    const std::lock_guard qlock(queue_mutex_);
    settled_ += batch.size();
  }
  flushed_cv_.notify_all();
  batch.clear();
  return true;
}

void AuditStore::writer_loop() {
  std::vector<Pending> batch;
  bool retrying = false;
  for (;;) {
    bool stop = false;
    {
      std::unique_lock lock(queue_mutex_);
      const auto wait = retrying ? options_.retry_interval : options_.health_interval;
      queue_cv_.wait_for(lock, wait, [&] { return stopping_ || (!retrying && !queue_.empty()); });
      stop = stopping_;
      // A batch being retried stays as it was; new events wait in the (bounded) queue.
      if (!retrying) take_locked(batch, std::min(kTakeChunk, options_.max_batch));
    }
    const auto now = Clock::now();
    if (now - last_health_ >= options_.health_interval) {
      last_health_ = now;
      check_health();
    }
    const auto prune_every =
        prune_pending_
            ? std::chrono::seconds(1)
            : std::chrono::duration_cast<std::chrono::seconds>(options_.retention_interval);
    if (options_.retention.count() > 0 && now - last_prune_ >= prune_every) {
      last_prune_ = now;
      try {
        const std::lock_guard lock(write_mutex_);
        pruned_.fetch_add(prune_locked(), std::memory_order_relaxed);
      } catch (const StoreError& e) {
        sqlite3_exec(writer_db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        store_failed(e.what());
      }
    }
    if (!batch.empty() || !notices_.empty()) {
      retrying = !write_batch(batch);
    } else if (checkpoint_due()) {
      checkpoint_transaction();
    }
    bool queue_empty = false;
    {
      const std::lock_guard lock(queue_mutex_);
      queue_empty = queue_.empty();
    }
    if (stop && (queue_empty || retrying) && (batch.empty() || retrying)) break;
  }
  // Whatever could not be written by now is lost; say so in the counter.
  std::size_t unwritten = batch.size();
  {
    const std::lock_guard lock(queue_mutex_);
    unwritten += queue_.size();
    queue_.clear();
    settled_ = enqueued_;
  }
  flushed_cv_.notify_all();
  if (unwritten > 0) {
    records_lost_.fetch_add(unwritten, std::memory_order_relaxed);
    spdlog::error("audit store {}: {} records could not be written before shutdown", options_.path,
                  unwritten);
  }
  if (!retrying && next_seq_ - 1 > last_checkpoint_seq_) checkpoint_transaction();
}

std::uint64_t AuditStore::prune_now() {
  const std::lock_guard lock(write_mutex_);
  std::uint64_t n = prune_locked();
  while (prune_pending_) n += prune_locked();
  pruned_.fetch_add(n, std::memory_order_relaxed);
  return n;
}

std::uint64_t AuditStore::prune_locked() {
  if (options_.retention.count() <= 0) return 0;
  const std::int64_t cutoff =
      now_us() - std::chrono::duration_cast<std::chrono::microseconds>(options_.retention).count();
  // Only whole runs that end at a checkpoint and hold nothing newer than the cutoff go, so the
  // rest verifies from that checkpoint.
  const std::int64_t keep_from =
      static_cast<std::int64_t>(first_seq_at_or_after(*writer_db_, cutoff).value_or(next_seq_));
  std::int64_t anchor = 0;
  {
    auto s = writer_db_->prepare("SELECT max(seq) FROM checkpoints WHERE seq < ?");
    s.bind(1, keep_from);
    if (!s.step() || s.column_null(0)) return 0;
    anchor = s.column_int(0);
  }
  std::int64_t first = 0;
  {
    auto s = writer_db_->prepare("SELECT min(seq) FROM records");
    if (!s.step() || s.column_null(0)) return 0;
    first = s.column_int(0);
  }
  if (first > anchor) return 0;
  // Each transaction deletes up to a checkpoint, so the store verifies between any two of them;
  // a call does a bounded amount of work so the writer is not held up for long (the rest goes
  // on the next call, a second later).
  std::uint64_t deleted = 0;
  std::int64_t upto = 0;
  auto next = writer_db_->prepare(
      "SELECT coalesce((SELECT max(seq) FROM checkpoints WHERE seq >= ? AND seq <= ?),"
      " (SELECT min(seq) FROM checkpoints WHERE seq >= ? AND seq <= ?))");
  auto del = writer_db_->prepare("DELETE FROM records WHERE seq <= ?");
  auto old = writer_db_->prepare("DELETE FROM checkpoints WHERE seq < ?");
  auto zones = writer_db_->prepare("DELETE FROM time_zones WHERE last_seq <= ?");
  for (int chunk = 0; chunk < kPruneChunksPerCall && upto < anchor; ++chunk) {
    next.reset();
    next.bind(1, first).bind(2, std::min(first + kPruneChunk - 1, anchor));
    next.bind(3, first).bind(4, anchor);
    if (!next.step() || next.column_null(0)) break;
    upto = next.column_int(0);
    writer_db_->exec("BEGIN IMMEDIATE");
    del.reset();
    del.bind(1, upto);
    del.step();
    deleted += static_cast<std::uint64_t>(sqlite3_changes64(writer_db_->handle()));
    old.reset();
    old.bind(1, upto);
    old.step();
    zones.reset();
    zones.bind(1, upto);
    zones.step();
    write_meta(*writer_db_, "pruned_through", std::to_string(upto));
    writer_db_->exec("COMMIT");
    first = upto + 1;
  }
  prune_pending_ = upto < anchor;
  spdlog::info("audit store {}: retention removed {} records (through seq {}{})", options_.path,
               deleted, upto, prune_pending_ ? "; more to remove" : "");
  return deleted;
}

std::vector<StoredRecord> AuditStore::read_after(std::uint64_t after, std::size_t max) {
  std::vector<StoredRecord> out;
  max = std::min(max, kMaxReadBatch);
  if (max == 0) return out;
  const std::lock_guard lock(reader_mutex_);
  auto s = reader_db_->prepare(
      "SELECT seq, canonical FROM records WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?");
  s.bind(1, static_cast<std::int64_t>(after))
      .bind(2, static_cast<std::int64_t>(committed_seq_.load(std::memory_order_acquire)))
      .bind(3, static_cast<std::int64_t>(max));
  while (s.step()) {
    StoredRecord r;
    r.seq = static_cast<std::uint64_t>(s.column_int(0));
    r.canonical = std::string(s.column_text(1));
    if (auto e = event_from_json(r.canonical)) {
      r.event = std::move(*e);
    } else {
      // Damaged on disk (verify reports it); hand it on as such rather than stop the export.
      spdlog::warn("audit store {}: record {} cannot be decoded", options_.path, r.seq);
      r.event = store_event("record-unreadable", Outcome::kFailure, Severity::kAlert);
      r.event.fields.set("seq", r.seq);
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::uint64_t AuditStore::last_seq() { return committed_seq_.load(std::memory_order_acquire); }

std::uint64_t AuditStore::load_cursor(std::string_view destination) {
  const std::lock_guard lock(reader_mutex_);
  auto s = reader_db_->prepare("SELECT seq FROM cursors WHERE destination = ?");
  s.bind(1, destination);
  if (!s.step()) return 0;
  return static_cast<std::uint64_t>(s.column_int(0));
}

void AuditStore::save_cursor(std::string_view destination, std::uint64_t seq) {
  const std::lock_guard lock(write_mutex_);
  auto s = writer_db_->prepare("INSERT OR REPLACE INTO cursors(destination, seq) VALUES(?, ?)");
  s.bind(1, destination).bind(2, static_cast<std::int64_t>(seq));
  s.step();
}

StoreStats AuditStore::stats() const {
  StoreStats s;
  s.recorded = recorded_.load(std::memory_order_relaxed);
  s.committed_seq = committed_seq_.load(std::memory_order_acquire);
  s.records_lost = records_lost_.load(std::memory_order_relaxed);
  s.commits = commits_.load(std::memory_order_relaxed);
  s.checkpoints = checkpoints_.load(std::memory_order_relaxed);
  s.store_errors = store_errors_.load(std::memory_order_acquire);
  s.pruned = pruned_.load(std::memory_order_relaxed);
  s.degraded = degraded_.load(std::memory_order_acquire);
  return s;
}

}  // namespace wardgate::audit
