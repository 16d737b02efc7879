#pragma once
// Retention: deleting the oldest records. Only whole runs that end at a signed checkpoint and
// hold nothing at or after the cutoff go, so what remains verifies from that checkpoint (the
// anchor). Each transaction deletes up to one checkpoint, so the store verifies between any two
// of them; one call does a bounded amount of work so the writer is not held up for long.
#include <cstdint>

#include "store/store_schema.h"

namespace wardgate::store {

struct PruneResult {
  std::uint64_t deleted = 0;
  std::int64_t through = 0;  // the last seq deleted (0: none)
  bool more = false;         // stopped early: call again soon
};

// Deletes records older than `cutoff_us` (microseconds since the Unix epoch) from `db`, where
// `next_seq` is the seq the next record will get. Throws StoreError (the caller rolls back).
PruneResult prune(Database& db, std::int64_t cutoff_us, std::uint64_t next_seq);

}  // namespace wardgate::store
