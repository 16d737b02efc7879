#pragma once
// The seam between the durable audit store (issue 5: sqlite3, hash chain, checkpoints) and the
// exporters that ship its records (syslog over UDP/TCP/TLS, IHE ATNA): exporters read committed
// records in sequence order after their own persistent cursor, and move the cursor only once a
// destination has taken a record. Both sides are written against this header.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/event.h"

namespace wardgate::audit {

struct StoredRecord {
  std::uint64_t seq = 0;  // 1, 2, 3, ... in commit order; never reused
  Event event;            // event.time: when it happened (UTC, sub-second)
  std::string canonical;  // to_json(event) as hashed into the chain
};

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // Up to `max` committed records with seq > `after`, in sequence order. Records pruned by
  // retention are skipped (the first returned seq then jumps).
  virtual std::vector<StoredRecord> read_after(std::uint64_t after, std::size_t max) = 0;
  // The highest committed sequence number, 0 if none.
  virtual std::uint64_t last_seq() = 0;
};

// Persistent per-destination cursors: the last sequence number a destination is known to have
// taken. Survives restarts (kill -9 included); 0 for a destination never seen.
class CursorStore {
 public:
  virtual ~CursorStore() = default;
  virtual std::uint64_t load_cursor(std::string_view destination) = 0;
  virtual void save_cursor(std::string_view destination, std::uint64_t seq) = 0;
};

}  // namespace wardgate::audit
