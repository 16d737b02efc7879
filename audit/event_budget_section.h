#pragma once
// Reads and validates `audit.event_budget` (docs/configuration.md): the per-device event budget
// of EventBudgetSink. Throws common::ConfigError naming the key by its full path
// ("audit.event_budget.burst").
#include <nlohmann/json_fwd.hpp>

#include "audit/event_budget.h"

namespace wardgate::audit {

// Absent section: the defaults.
EventBudgetOptions read_event_budget_section(const nlohmann::json* section);

}  // namespace wardgate::audit
