#pragma once
// Reads and validates the `audit.export` section of the configuration (docs/configuration.md):
// the syslog destinations the store is shipped to, each read into its exporter's options (a value
// of its own: a re-read destination compares equal unless something in it changed). The
// appliance id and the software version are not in the section; app/ puts them in.
// Throws common::ConfigError naming the key by its full path ("audit.export[1].host").
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "export/syslog_exporter.h"

namespace wardgate::exporter {

// Empty when the section is absent. Names are unique.
std::vector<ExporterOptions> read_export_section(const nlohmann::json* section);

// One destination; `path` is its key path ("audit.export[0]").
ExporterOptions read_export_destination(const nlohmann::json& object, const std::string& path);

}  // namespace wardgate::exporter
