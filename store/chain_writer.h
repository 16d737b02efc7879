#pragma once
// The writer's side of the hash chain, inside a transaction the caller opened: each record is
// hashed onto the chain and inserted (several rows per INSERT statement), the time_zones map is
// kept, and signed checkpoints are written when due. Writer thread only. On a failed
// transaction the caller rolls back and rewinds to the position saved before it.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "store/checkpoint_signer.h"
#include "store/hash_chain.h"
#include "store/record_queue.h"
#include "store/store_schema.h"

namespace wardgate::store {

class ChainWriter {
 public:
  struct Schedule {
    std::uint64_t every_records = 10000;  // 0: never by count
    std::chrono::seconds every{60};       // 0: never by time
  };
  // Continues the chain where `db` ends: after the last record, else at the anchor left by
  // retention, else at genesis. Throws StoreError if that hash is damaged.
  ChainWriter(Database& db, const CheckpointSigner& signer, Schedule schedule);
  ~ChainWriter();
  ChainWriter(const ChainWriter&) = delete;
  ChainWriter& operator=(const ChainWriter&) = delete;

  // Hashes `record` onto the chain and stages its row; `record` must stay where it is until
  // flush() (a checkpoint due by count is written on the way).
  void append(const PendingRecord& record);
  // Inserts the staged rows.
  void flush();
  bool checkpoint_due() const;
  void sign_checkpoint();
  // Writes the open time_zones row if it changed.
  void save_zone();

  struct TimeZone {
    std::uint64_t first_seq = 0;  // 0: none open
    std::uint64_t last_seq = 0;
    std::int64_t min_time_us = 0;
    std::int64_t max_time_us = 0;
    bool dirty = false;
  };
  struct Position {
    std::uint64_t next_seq = 1;
    ChainHash prev_hash{};
    std::uint64_t last_checkpoint_seq = 0;
    std::chrono::steady_clock::time_point last_checkpoint_time;
    TimeZone zone;
  };
  Position position() const;
  // After a rollback: back to `p`, staged rows dropped.
  void rewind(const Position& p);
  // A checkpoint transaction failed: sign again at the next occasion.
  void forget_checkpoint() { position_.last_checkpoint_seq = 0; }

  std::uint64_t next_seq() const { return position_.next_seq; }
  std::uint64_t last_seq() const { return position_.next_seq - 1; }
  bool unsigned_records() const { return last_seq() > position_.last_checkpoint_seq; }
  std::uint64_t checkpoints() const { return checkpoints_.load(std::memory_order_relaxed); }

 private:
  struct Staged {
    const PendingRecord* record;
    std::uint64_t seq;
    ChainHash hash;
  };
  void bind(Statement& s, int first, const Staged& row);

  Database& db_;
  const CheckpointSigner& signer_;
  Schedule schedule_;
  Position position_;
  std::vector<Staged> staged_;
  std::unique_ptr<Statement> insert_one_;
  std::unique_ptr<Statement> insert_many_;  // kRowsPerInsert rows in one statement
  std::atomic<std::uint64_t> checkpoints_{0};
};

}  // namespace wardgate::store
