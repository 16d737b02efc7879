#pragma once
// The proxy core: one worker thread per core, each with its own io_context, its own listener on
// the shared port (SO_REUSEPORT) and its own buffer pool. A session lives on the worker that
// accepted it, so its two directions and its timers never need a lock (an implicit strand).
// Its counters are metrics wardgate_proxy_* in the registry it is given.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "proxy/connection_limiter.h"
#include "proxy/held_bytes_budget.h"
#include "proxy/inspector.h"
#include "proxy/proxy_options.h"

namespace wardgate::proxy {

class ProxySession;

// Worker threads the server starts with `options` (threads 0: one per core).
unsigned worker_count(const ProxyOptions& options);

// The descriptors the proxy cannot do without at `options.max_connections` (checked against
// RLIMIT_NOFILE at start): two sockets per session and a listener per worker. Splice pipes (two
// descriptors each, one per direction while bytes are spliced) come on top, within
// options.max_pipes; without one the relay copies instead.
std::size_t descriptors_needed(const ProxyOptions& options);

class ProxyServer {
 public:
  // `metrics` holds the proxy's wardgate_proxy_* metrics and must outlive the server.
  ProxyServer(ProxyOptions options, std::shared_ptr<InspectorFactory> inspectors,
              common::MetricsRegistry& metrics);
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

  std::uint16_t port() const { return bound_port_; }

 private:
  struct Worker;
  friend class ProxySession;

  awaitable<void> accept_loop(Worker& worker);
  Worker& least_busy_worker(Worker& preferred);
  void start_session(Worker& worker, tcp::socket socket, SessionInfo info);
  // Sessions wardgate closed for a deadline or the held-bytes budget, by that cause.
  common::Counter& closed_by(CloseCause cause);

  ProxyOptions options_;
  std::shared_ptr<InspectorFactory> inspectors_;
  ConnectionLimiter limiter_;
  HeldBytesBudget held_budget_;
  std::atomic<std::size_t> pipes_left_;  // shared by the workers' pipe pools
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::uint16_t bound_port_ = 0;

  std::atomic<bool> refusing_{false};
  std::atomic<std::uint64_t> next_session_id_{1};
  common::Counter& sessions_total_;
  common::Gauge& sessions_active_;
  common::Counter& refused_by_limits_;
  common::Counter& refused_by_audit_;  // clinical_traffic_allowed() said no
  common::Counter& upstream_failures_;
  common::Counter& inspector_failures_;  // an inspector threw; its session was reset
  common::Counter& closed_first_message_timeout_;
  common::Counter& closed_message_timeout_;
  common::Counter& closed_held_bytes_budget_;
  common::Counter& bytes_from_devices_;
  common::Counter& bytes_to_devices_;
};

}  // namespace wardgate::proxy
