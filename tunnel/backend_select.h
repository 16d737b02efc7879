#pragma once
// Which backend carries the tunnel: "kernel" when asked or, for "auto", when this kernel has the
// wireguard link type; otherwise "uapi" with wireguard-go. The reason is returned for the log
// and for `wardgate tunnel status`.
#include <memory>
#include <string>

#include "tunnel/backend.h"
#include "tunnel/tunnel_config.h"

namespace wardgate::tunnel {

struct BackendSelection {
  std::unique_ptr<Backend> backend;  // null when none can be made (error says why)
  std::string reason;
  std::string error;
};

BackendSelection select_backend(const TunnelConfig& config);

// The backend that serves an interface that is already up (for the CLI): the UAPI socket when
// it answers, else the kernel's link.
BackendSelection attach_backend(const TunnelConfig& config);

}  // namespace wardgate::tunnel
