#include "store/retention.h"

#include <algorithm>
#include <string>

namespace wardgate::store {
namespace {

constexpr std::int64_t kPruneChunk = 50000;  // records deleted per transaction, about
constexpr int kPruneChunksPerCall = 4;

}  // namespace

PruneResult prune(Database& db, std::int64_t cutoff_us, std::uint64_t next_seq) {
  PruneResult result;
  const std::int64_t keep_from =
      static_cast<std::int64_t>(first_seq_at_or_after(db, cutoff_us).value_or(next_seq));
  std::int64_t anchor = 0;
  {
    auto s = db.prepare("SELECT max(seq) FROM checkpoints WHERE seq < ?");
    s.bind(1, keep_from);
    if (!s.step() || s.column_null(0)) return result;
    anchor = s.column_int(0);
  }
  std::int64_t first = 0;
  {
    auto s = db.prepare("SELECT min(seq) FROM records");
    if (!s.step() || s.column_null(0)) return result;
    first = s.column_int(0);
  }
  if (first > anchor) return result;
  std::int64_t upto = 0;
  auto next = db.prepare(
      "SELECT coalesce((SELECT max(seq) FROM checkpoints WHERE seq >= ? AND seq <= ?),"
      " (SELECT min(seq) FROM checkpoints WHERE seq >= ? AND seq <= ?))");
  auto del = db.prepare("DELETE FROM records WHERE seq <= ?");
  auto old = db.prepare("DELETE FROM checkpoints WHERE seq < ?");
  auto zones = db.prepare("DELETE FROM time_zones WHERE last_seq <= ?");
  for (int chunk = 0; chunk < kPruneChunksPerCall && upto < anchor; ++chunk) {
    next.reset();
    next.bind(1, first).bind(2, std::min(first + kPruneChunk - 1, anchor));
    next.bind(3, first).bind(4, anchor);
    if (!next.step() || next.column_null(0)) break;
    upto = next.column_int(0);
    db.exec("BEGIN IMMEDIATE");
    del.reset();
    del.bind(1, upto);
    del.step();
    result.deleted += static_cast<std::uint64_t>(sqlite3_changes64(db.handle()));
    old.reset();
    old.bind(1, upto);
    old.step();
    zones.reset();
    zones.bind(1, upto);
    zones.step();
    write_meta(db, "pruned_through", std::to_string(upto));
    db.exec("COMMIT");
    first = upto + 1;
  }
  result.through = upto;
  result.more = upto < anchor;
  return result;
}

}  // namespace wardgate::store
