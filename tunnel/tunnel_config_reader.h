#pragma once
// Reads and validates the `tunnel` section of the configuration (tunnel/tunnel_config.h;
// documented in docs/configuration.md). Errors name the key by its full path.
#include <nlohmann/json.hpp>
#include <optional>

#include "tunnel/tunnel_config.h"

namespace wardgate::app {

// Null when the section is absent (wardgate then routes without a tunnel of its own).
std::optional<tunnel::TunnelConfig> read_tunnel(const nlohmann::json* section);

}  // namespace wardgate::app
