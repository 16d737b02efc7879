#pragma once
// The seam between the durable audit store and the exporters that ship its records (export/):
// exporters read committed records in sequence order after their own persistent cursor, are
// woken by commits, and move the cursor only once a destination has taken a record. Both sides
// are written against this header.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "audit/event.h"
#include "store/commit_notifier.h"

namespace wardgate::store {

struct StoredRecord {
  std::uint64_t seq = 0;  // 1, 2, 3, ... in commit order; never reused
  audit::Event event;     // event.time: when it happened (UTC, sub-second)
  std::string canonical;  // audit::to_json(event) as hashed into the chain
};

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // Up to `max` committed records with seq > `after`, in sequence order. Records pruned by
  // retention are skipped (the first returned seq then jumps). On failure `ec` is set
  // (store::Errc) and nothing is returned.
  virtual std::vector<StoredRecord> read_after(std::uint64_t after, std::size_t max,
                                               std::error_code& ec) = 0;
  // The highest committed sequence number, 0 if none.
  virtual std::uint64_t last_seq() = 0;
  // Calls `wake` with the highest committed seq after each commit, on the committing thread
  // (hand it on, do no work there), until the subscription is destroyed. A source whose records
  // never change may return an empty subscription.
  virtual CommitSubscription on_commit(std::function<void(std::uint64_t)> wake) = 0;
};

// Persistent per-destination cursors: the last sequence number a destination is known to have
// taken. Survives restarts (kill -9 included); 0 for a destination never seen.
class CursorStore {
 public:
  virtual ~CursorStore() = default;
  virtual std::uint64_t load_cursor(std::string_view destination) = 0;
  // store::Errc::kWriteFailed if the cursor could not be written.
  virtual std::error_code save_cursor(std::string_view destination, std::uint64_t seq) = 0;
};

}  // namespace wardgate::store
