#pragma once
// The kernel WireGuard backend: the interface is an rtnetlink link of kind "wireguard" (created
// and deleted with libnl-route-3), configured and read over the generic netlink family
// "wireguard" (libnl-genl-3 resolves the family and carries the bytes of tunnel/netlink_codec.h).
#include <memory>
#include <string>

#include "tunnel/backend.h"

namespace wardgate::tunnel {

class KernelBackend : public Backend {
 public:
  explicit KernelBackend(std::string ifname);

  std::string name() const override { return "kernel"; }
  const std::string& interface() const override { return ifname_; }
  // Creates the link, or reuses an existing wireguard link of that name; an error when the name
  // belongs to a link of another kind.
  std::string create() override;
  std::string set(const DeviceConfig& config) override;
  std::string get(DeviceState& state) override;
  bool alive() override;
  void destroy() override;

 private:
  std::string ifname_;
};

std::unique_ptr<Backend> make_kernel_backend(const std::string& ifname);

// Whether this kernel has WireGuard: resolving the generic netlink family "wireguard" (which
// loads the module when it is installed but not loaded). When not, why says what failed.
bool kernel_wireguard_available(std::string* why);

}  // namespace wardgate::tunnel
