#include "tunnel/tunnel_config.h"

namespace wardgate::tunnel {

const char* to_string(BackendChoice choice) {
  switch (choice) {
    case BackendChoice::kKernel:
      return "kernel";
    case BackendChoice::kUapi:
      return "uapi";
    case BackendChoice::kAuto:
      break;
  }
  return "auto";
}

}  // namespace wardgate::tunnel
