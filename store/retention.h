#pragma once
// Retention: deleting the oldest records. Only whole runs that end at a signed checkpoint and
// hold nothing at or after the cutoff go, so what remains verifies from that checkpoint (the
// anchor). Each run deletes up to one checkpoint and about kPruneChunk records, in a transaction
// that also appends a record saying what went and why (prune_event), signed by a checkpoint in
// the same transaction: a crash never leaves a gap that no record explains, and `audit verify`
// accepts a missing prefix only when such a record covers exactly that prefix.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "audit/event.h"
#include "store/store_schema.h"

namespace wardgate::store {

// The store's own event recording a prune (category "audit").
constexpr const char* kPruneAction = "retention-prune";
// Its field naming the last seq removed: records 1..pruned_through are gone, and a signed
// checkpoint at pruned_through anchors the rest.
constexpr const char* kPrunedThroughField = "pruned_through";

// Runs pruned per call of the store's retention (a bounded amount of work, so the writer is not
// held up for long).
constexpr int kPruneRunsPerCall = 4;

struct PrunePlan {
  std::uint64_t first_seq = 0;  // the first record removed
  std::uint64_t through = 0;    // the last one: a checkpoint, kept as the new anchor
  std::uint64_t records = 0;
  std::int64_t oldest_us = 0;  // the time span of the records removed
  std::int64_t newest_us = 0;
};

// The next run to delete: records older than `cutoff_us` (microseconds since the Unix epoch)
// from the start of `db` through a checkpoint, where `next_seq` is the seq the next record will
// get; nullopt if there is none. Throws StoreError.
std::optional<PrunePlan> plan_prune(Database& db, std::int64_t cutoff_us, std::uint64_t next_seq);

// Deletes the records, checkpoints and time zones `plan` covers, inside the caller's
// transaction. Throws StoreError.
void apply_prune(Database& db, const PrunePlan& plan);

struct PruneReason {
  std::string appliance_id;
  std::chrono::hours retention{0};  // the setting that drove it
  std::int64_t cutoff_us = 0;
  std::int64_t trusted_now_us = 0;  // the time retention measured age by
  std::int64_t wall_now_us = 0;
};

// The record of a prune, written in the same transaction as apply_prune().
audit::Event prune_event(const PrunePlan& plan, const PruneReason& why);

}  // namespace wardgate::store
