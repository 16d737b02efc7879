#include "tunnel/backend_select.h"

#include "tunnel/uapi_backend.h"

namespace wardgate::tunnel {
namespace {

// Filled in by the kernel backend (tunnel/kernel_backend.h).
bool kernel_available(std::string* why) {
  if (why) *why = "the kernel backend is not built into this wardgate";
  return false;
}

std::unique_ptr<Backend> make_kernel(const std::string&) { return nullptr; }

}  // namespace

BackendSelection select_backend(const TunnelConfig& c) {
  BackendSelection s;
  std::string why;
  switch (c.backend) {
    case BackendChoice::kUapi:
      s.backend = make_uapi_backend(c.interface, c.uapi);
      s.reason = "configured: uapi";
      return s;
    case BackendChoice::kKernel:
      if (!kernel_available(&why)) {
        s.error = "backend \"kernel\" configured but unavailable: " + why;
        return s;
      }
      s.backend = make_kernel(c.interface);
      s.reason = "configured: kernel";
      return s;
    case BackendChoice::kAuto:
      break;
  }
  if (kernel_available(&why)) {
    s.backend = make_kernel(c.interface);
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
  if (kernel_available(&why)) {
    s.backend = make_kernel(c.interface);
    s.reason = "kernel link";
    return s;
  }
  s.error = "no WireGuard daemon answers on " + uapi->socket_path() + " and " + why;
  return s;
}

}  // namespace wardgate::tunnel
