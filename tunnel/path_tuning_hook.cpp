#include "tunnel/path_tuning_hook.h"

namespace wardgate::tunnel {

std::vector<std::string> apply_path_tuning(const TunnelConfig& config, Backend&) {
  if (!config.tuning.enabled) return {"off (tuning.enabled is false)"};
  return {};
}

}  // namespace wardgate::tunnel
