#pragma once
// Brings the WireGuard tunnel to the concentrator up and keeps it up: the private key (made at
// first start), the backend (tunnel/backend_select.h), the device configuration, the link around
// it (MTU, addresses, routes to the core networks, MSS clamping, through nat/), path tuning; then
// a monitor thread that polls the interface, records what changed as audit events
// (tunnel/tunnel_monitor.h) and restarts a failed backend with the same configuration. Its
// counters and states are metrics wardgate_tunnel_* (labelled by interface) in the registry.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "audit/sink.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "tunnel/backend.h"
#include "tunnel/tunnel_config.h"
#include "tunnel/tunnel_monitor.h"

namespace wardgate::tunnel {

class TunnelManager {
 public:
  // `sink` receives the tunnel's audit events; `metrics` holds its wardgate_tunnel_* metrics;
  // `clock` tells the monitor and the restart backoff the time. All three must outlive the
  // manager.
  TunnelManager(TunnelConfig config, std::string appliance_id, audit::AuditSink& sink,
                common::MetricsRegistry& metrics,
                const common::Clock& clock = common::SystemClock::instance());
  ~TunnelManager();
  TunnelManager(const TunnelManager&) = delete;
  TunnelManager& operator=(const TunnelManager&) = delete;

  // Brings the tunnel up; empty on success, else what failed (nothing is left half up).
  std::string up();
  // Starts the monitor thread (after up()).
  void start_monitor();
  // Stops the monitor and takes the tunnel down (routes, clamping, interface or daemon).
  void down();

  // Per peer, as of the last poll (for status).
  std::vector<PeerHealth> peers() const;
  const TunnelConfig& config() const { return config_; }

 private:
  void choose_mtu();        // "mtu": "auto"
  std::string configure();  // device + link + clamping + tuning on an existing backend
  DeviceConfig desired(std::string& error) const;
  void monitor_loop();
  void record(audit::Event event);

  TunnelConfig config_;
  std::string appliance_id_;
  audit::AuditSink& sink_;
  const common::Clock& clock_;
  common::Family<common::Gauge>& backend_info_;  // {interface, backend, reason} = 1
  common::Gauge& backend_up_;
  common::Counter& backend_failures_;
  common::Counter& backend_recoveries_;
  common::Counter& polls_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<TunnelMonitor> monitor_;

  mutable std::mutex mutex_;  // guards peers_ and stop_
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<PeerHealth> peers_;
  std::thread thread_;
  bool is_up_ = false;
};

// The routes into the tunnel: tunnel.routes, else every peer's allowed IPs (as wg-quick does).
std::vector<IpPrefix> tunnel_routes(const TunnelConfig& config);
// The private key: read from private_key_file, or generated and written there (0600) when the
// file does not exist. `created` tells which.
std::string load_or_create_private_key(const std::string& path, Key& key, bool& created);

}  // namespace wardgate::tunnel
