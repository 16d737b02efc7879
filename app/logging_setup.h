#pragma once
// wardgate's operational log: spdlog to stderr (the journal), one line per event, flushed at
// once. Audit events go to the audit store, not here.
#include <string>

namespace wardgate::app {

void setup_logging(const std::string& level);

}  // namespace wardgate::app
