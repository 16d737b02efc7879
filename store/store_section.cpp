#include "store/store_section.h"

#include "common/json_reader.h"

namespace wardgate::store {

StoreOptions read_store_section(const nlohmann::json* section) {
  StoreOptions o;
  if (section == nullptr) return o;
  common::ObjectReader r(*section, "audit.store");
  o.path = r.string("path", o.path);
  r.require_absolute_path("path", o.path);
  constexpr auto kDay = std::chrono::hours(24);
  o.retention = kDay * r.integer("retention_days", 1, 36500, o.retention / kDay);
  o.group_commit =
      std::chrono::milliseconds(r.integer("group_commit_ms", 1, 1000, o.group_commit.count()));
  o.checkpoint_every_records =
      static_cast<std::uint64_t>(r.integer("checkpoint_every_records", 0, 10000000,
                                           static_cast<std::int64_t>(o.checkpoint_every_records)));
  o.checkpoint_every =
      std::chrono::seconds(r.integer("checkpoint_every_s", 0, 86400, o.checkpoint_every.count()));
  if (o.checkpoint_every_records == 0 && o.checkpoint_every.count() == 0) {
    r.fail("checkpoint_every_s",
           "and checkpoint_every_records cannot both be 0: records would never be signed");
  }
  o.signing_key_file = r.string("signing_key_file", o.signing_key_file);
  r.require_absolute_path("signing_key_file", o.signing_key_file);
  o.on_failure =
      r.choice("on_failure", {FailureMode::kFailOpen, FailureMode::kFailClosed}, o.on_failure);
  o.min_free_bytes =
      static_cast<std::uint64_t>(
          r.integer("min_free_mb", 0, 1 << 20, static_cast<std::int64_t>(o.min_free_bytes >> 20)))
      << 20;
  o.queue_capacity = static_cast<std::size_t>(
      r.integer("queue_capacity", 16, 1 << 24, static_cast<std::int64_t>(o.queue_capacity)));
  r.reject_unknown_keys();
  return o;
}

}  // namespace wardgate::store
