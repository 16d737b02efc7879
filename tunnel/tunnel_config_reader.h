#pragma once
// Reads and validates the `tunnel` section of the configuration (tunnel/tunnel_config.h;
// documented in docs/configuration.md). Throws common::ConfigError naming the key by its full
// path ("tunnel.peers[0].endpoint").
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tunnel/tunnel_config.h"

namespace wardgate::tunnel {

// Null when the section is absent (wardgate then routes without a tunnel of its own).
std::optional<TunnelConfig> read_tunnel_section(const nlohmann::json* section);

// One peer; `path` is its key path ("tunnel.peers[0]").
TunnelPeerConfig read_tunnel_peer(const nlohmann::json& object, const std::string& path);

}  // namespace wardgate::tunnel
