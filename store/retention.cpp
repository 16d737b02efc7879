#include "store/retention.h"

#include <algorithm>

#include "audit/event_decode.h"

namespace wardgate::store {
namespace {

constexpr std::int64_t kPruneChunk = 50000;  // records deleted per transaction, about

std::string time_text(std::int64_t us) { return audit::format_time(audit::from_unix_us(us)); }

}  // namespace

std::optional<PrunePlan> plan_prune(Database& db, std::int64_t cutoff_us, std::uint64_t next_seq) {
  const std::int64_t keep_from =
      static_cast<std::int64_t>(first_seq_at_or_after(db, cutoff_us).value_or(next_seq));
  std::int64_t anchor = 0;
  {
    auto s = db.prepare("SELECT max(seq) FROM checkpoints WHERE seq < ?");
    s.bind(1, keep_from);
    if (!s.step() || s.column_null(0)) return std::nullopt;
    anchor = s.column_int(0);
  }
  std::int64_t first = 0;
  {
    auto s = db.prepare("SELECT min(seq) FROM records");
    if (!s.step() || s.column_null(0)) return std::nullopt;
    first = s.column_int(0);
  }
  if (first > anchor) return std::nullopt;
  PrunePlan plan;
  {
    auto s = db.prepare(
        "SELECT coalesce((SELECT max(seq) FROM checkpoints WHERE seq >= ? AND seq <= ?),"
        " (SELECT min(seq) FROM checkpoints WHERE seq >= ? AND seq <= ?))");
    s.bind(1, first).bind(2, std::min(first + kPruneChunk - 1, anchor));
    s.bind(3, first).bind(4, anchor);
    if (!s.step() || s.column_null(0)) return std::nullopt;
    plan.through = static_cast<std::uint64_t>(s.column_int(0));
  }
  auto s = db.prepare("SELECT count(*), min(time_us), max(time_us) FROM records WHERE seq <= ?");
  s.bind(1, static_cast<std::int64_t>(plan.through));
  if (!s.step() || s.column_null(1)) return std::nullopt;
  plan.first_seq = static_cast<std::uint64_t>(first);
  plan.records = static_cast<std::uint64_t>(s.column_int(0));
  plan.oldest_us = s.column_int(1);
  plan.newest_us = s.column_int(2);
  return plan;
}

void apply_prune(Database& db, const PrunePlan& plan) {
  const auto upto = static_cast<std::int64_t>(plan.through);
  auto records = db.prepare("DELETE FROM records WHERE seq <= ?");
  records.bind(1, upto);
  records.step();
  auto checkpoints = db.prepare("DELETE FROM checkpoints WHERE seq < ?");
  checkpoints.bind(1, upto);
  checkpoints.step();
  auto zones = db.prepare("DELETE FROM time_zones WHERE last_seq <= ?");
  zones.bind(1, upto);
  zones.step();
  write_meta(db, "pruned_through", std::to_string(plan.through));
}

audit::Event prune_event(const PrunePlan& plan, const PruneReason& why) {
  audit::Event e = audit::make_event(why.appliance_id, why.appliance_id, "audit", kPruneAction,
                                     audit::Outcome::kSuccess, audit::Severity::kNotice);
  e.time = audit::from_unix_us(why.wall_now_us);  // the store's clock, which tests inject
  e.fields.set("pruned_from", plan.first_seq);
  e.fields.set(kPrunedThroughField, plan.through);
  e.fields.set("records_removed", plan.records);
  e.fields.set("oldest_removed", time_text(plan.oldest_us));
  e.fields.set("newest_removed", time_text(plan.newest_us));
  e.fields.set("anchor_checkpoint", plan.through);
  e.fields.set("retention_hours", static_cast<std::int64_t>(why.retention.count()));
  e.fields.set("cutoff", time_text(why.cutoff_us));
  e.fields.set("trusted_time", time_text(why.trusted_now_us));
  e.fields.set("wall_time", time_text(why.wall_now_us));
  return e;
}

}  // namespace wardgate::store
