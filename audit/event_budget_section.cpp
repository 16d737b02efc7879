#include "audit/event_budget_section.h"

#include "common/json_reader.h"

namespace wardgate::audit {

EventBudgetOptions read_event_budget_section(const nlohmann::json* section) {
  EventBudgetOptions o;
  if (section == nullptr) return o;
  common::ObjectReader r(*section, "audit.event_budget");
  o.events_per_second =
      static_cast<std::uint32_t>(r.integer("events_per_second", 0, 1'000'000, o.events_per_second));
  o.burst = static_cast<std::uint32_t>(r.integer("burst", 1, 10'000'000, o.burst));
  o.summary_interval =
      std::chrono::seconds(r.integer("summary_interval_s", 1, 3600, o.summary_interval.count()));
  o.max_devices = static_cast<std::size_t>(
      r.integer("max_devices", 1, 1'000'000, static_cast<std::int64_t>(o.max_devices)));
  r.reject_unknown_keys();
  return o;
}

}  // namespace wardgate::audit
