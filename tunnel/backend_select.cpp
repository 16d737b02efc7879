#include "tunnel/backend_select.h"

#include "tunnel/kernel_backend.h"
#include "tunnel/uapi_backend.h"

namespace wardgate::tunnel {
BackendSelection select_backend(const TunnelConfig& c) {
  BackendSelection s;
  std::string why;
  switch (c.backend) {
    case BackendChoice::kUapi:
      s.backend = make_uapi_backend(c.interface, c.uapi);
      s.reason = "configured: uapi";
      return s;
    case BackendChoice::kKernel:
      if (!kernel_wireguard_available(&why)) {
        s.error = "backend \"kernel\" configured but unavailable: " + why;
        return s;
      }
      s.backend = make_kernel_backend(c.interface);
      s.reason = "configured: kernel";
      return s;
    case BackendChoice::kAuto:
      break;
  }
  if (kernel_wireguard_available(&why)) {
    s.backend = make_kernel_backend(c.interface);
    s.reason = "auto: the kernel has the wireguard link type";
  } else {
    s.backend = make_uapi_backend(c.interface, c.uapi);
    s.reason = "auto: no kernel WireGuard (" + why + "); userspace " + c.uapi.wireguard_go;
  }
  return s;
}

BackendSelection attach_backend(const TunnelConfig& c) {
  BackendSelection s;
  UapiConfig attach = c.uapi;
  attach.start = false;
  auto uapi = make_uapi_backend(c.interface, attach);
  if (uapi->alive()) {
    s.backend = std::move(uapi);
    s.reason = "uapi socket answers";
    return s;
  }
  std::string why;
  if (kernel_wireguard_available(&why)) {
    s.backend = make_kernel_backend(c.interface);
    s.reason = "kernel link";
    return s;
  }
  s.error = "no WireGuard daemon answers on " + uapi->socket_path() + " and " + why;
  return s;
}

}  // namespace wardgate::tunnel
