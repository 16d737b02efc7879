#pragma once
// The UAPI backend: a userspace WireGuard (wireguard-go) owns the interface and wardgate speaks
// the cross-platform protocol to it over <socket_dir>/<interface>.sock. When configured to,
// wardgate starts the daemon itself in the foreground as its child (so it can tell when it died
// and start it again); otherwise it attaches to a daemon someone else runs.
#include <sys/types.h>

#include <memory>
#include <string>

#include "tunnel/backend.h"
#include "tunnel/tunnel_config.h"

namespace wardgate::tunnel {

class UapiBackend : public Backend {
 public:
  UapiBackend(std::string interface, UapiConfig config);
  ~UapiBackend() override;

  std::string name() const override { return "uapi"; }
  const std::string& interface() const override { return interface_; }
  std::string create() override;
  std::string set(const DeviceConfig& config) override;
  std::string get(DeviceState& state) override;
  bool alive() override;
  void destroy() override;

  std::string socket_path() const;
  // The daemon wardgate started (for path tuning of its sockets); 0 when attached or not running.
  pid_t daemon_pid() const { return child_; }

 private:
  // One request/reply exchange over a fresh connection to the socket.
  std::string exchange(const std::string& request, std::string& reply);
  std::string start_daemon();
  void reap();

  std::string interface_;
  UapiConfig config_;
  pid_t child_ = 0;
};

std::unique_ptr<UapiBackend> make_uapi_backend(const std::string& interface,
                                               const UapiConfig& config);

}  // namespace wardgate::tunnel
