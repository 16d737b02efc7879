#pragma once
// Where the manager applies path tuning (tunnel/path_tuning.h) to a backend that is up: the
// backend's UDP socket buffers, the interface's queue and offloads. Returns one line per step
// for the log.
#include <string>
#include <vector>

#include "tunnel/backend.h"
#include "tunnel/tunnel_config.h"

namespace wardgate::tunnel {

std::vector<std::string> apply_path_tuning(const TunnelConfig& config, Backend& backend);

}  // namespace wardgate::tunnel
