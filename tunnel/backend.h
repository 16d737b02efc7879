#pragma once
// A WireGuard backend: who owns the data plane of one interface. The kernel backend talks to the
// wireguard module over netlink; the UAPI backend talks to a userspace implementation
// (wireguard-go) over its unix socket. Both create the interface, set and read its configuration,
// and remove it; wardgate's tunnel manager and monitor use only this interface.
#include <string>

#include "tunnel/wg_types.h"

namespace wardgate::tunnel {

// Every call returns an empty string on success, else what failed and why (never key material).
class Backend {
 public:
  virtual ~Backend() = default;

  // "kernel" or "uapi": shown in status and logged when chosen.
  virtual std::string name() const = 0;
  virtual const std::string& interface() const = 0;

  // Makes the interface exist (creating it, or for UAPI starting or attaching to the daemon).
  virtual std::string create() = 0;
  virtual std::string set(const DeviceConfig& config) = 0;
  virtual std::string get(DeviceState& state) = 0;
  // Whether the interface's data plane is alive (the daemon runs, the link exists).
  virtual bool alive() = 0;
  // Removes the interface (stops the daemon wardgate started); idempotent.
  virtual void destroy() = 0;
};

}  // namespace wardgate::tunnel
