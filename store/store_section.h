#pragma once
// Reads and validates the `audit.store` section of the configuration (docs/configuration.md)
// into the store's options. The appliance id comes from the `appliance` section; app/ puts it in.
// Throws common::ConfigError naming the key by its full path ("audit.store.path").
#include <nlohmann/json.hpp>

#include "store/audit_store.h"

namespace wardgate::store {

// The defaults when the section is absent.
StoreOptions read_store_section(const nlohmann::json* section);

}  // namespace wardgate::store
