#pragma once
// The proxy core: one worker thread per core, each with its own io_context, its own listener on
// the shared port (SO_REUSEPORT) and its own buffer pool. A session lives on the worker that
// accepted it, so its two directions and its timers never need a lock (an implicit strand).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "proxy/connection_limiter.h"
#include "proxy/inspector.h"
#include "proxy/proxy_options.h"

namespace wardgate::proxy {

struct ProxyStats {
  std::uint64_t sessions_total = 0;
  std::uint64_t sessions_active = 0;
  std::uint64_t refused_by_limits = 0;
  std::uint64_t refused_by_audit = 0;  // clinical_traffic_allowed() said no
  std::uint64_t upstream_failures = 0;
  std::uint64_t bytes_from_devices = 0;
  std::uint64_t bytes_to_devices = 0;
};

class ProxySession;

class ProxyServer {
 public:
  ProxyServer(ProxyOptions options, std::shared_ptr<InspectorFactory> inspectors);
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  // Opens the listeners and starts the workers. Throws on failure (start-up only).
  void start();
  // Refuses (resets) new connections; established sessions go on. The listeners stay open: with
  // no listener, nftables TPROXY does not match and a diverted connection would be routed past
  // wardgate uninspected while the rules are still in place.
  void stop_accepting();
  // Waits for sessions to end, up to `deadline`, then ends the rest; returns how many it ended.
  std::size_t drain(std::chrono::milliseconds deadline);
  // Stops the workers and joins them.
  void stop();

  ProxyStats stats() const;
  std::uint16_t port() const { return bound_port_; }

 private:
  struct Worker;
  friend class ProxySession;

  awaitable<void> accept_loop(Worker& worker);
  Worker& least_busy_worker(Worker& preferred);
  void start_session(Worker& worker, tcp::socket socket, SessionInfo info);

  ProxyOptions options_;
  std::shared_ptr<InspectorFactory> inspectors_;
  ConnectionLimiter limiter_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::uint16_t bound_port_ = 0;

  std::atomic<bool> refusing_{false};
  std::atomic<std::uint64_t> next_session_id_{1};
  std::atomic<std::uint64_t> sessions_total_{0};
  std::atomic<std::uint64_t> sessions_active_{0};
  std::atomic<std::uint64_t> upstream_failures_{0};
  std::atomic<std::uint64_t> refused_by_audit_{0};
  std::atomic<std::uint64_t> bytes_from_devices_{0};
  std::atomic<std::uint64_t> bytes_to_devices_{0};
};

}  // namespace wardgate::proxy
