#pragma once
// Reads and validates the `proxy` section of the configuration (docs/configuration.md) into the
// proxy's own options. The listener port and the services come from the `interception` section;
// app/ puts them in. Throws common::ConfigError naming the key by its full path.
#include <chrono>
#include <nlohmann/json.hpp>

#include "proxy/proxy_options.h"

namespace wardgate::proxy {

struct ProxySection {
  ProxyOptions options;  // both legs get the same socket tuning
  // How long open sessions may finish after SIGTERM before they are closed.
  std::chrono::seconds drain_timeout{10};
};

// The defaults when the section is absent.
ProxySection read_proxy_section(const nlohmann::json* section);

}  // namespace wardgate::proxy
