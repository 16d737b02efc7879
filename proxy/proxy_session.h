#pragma once
// One intercepted connection: connect where its upstream route says (by default where the device
// was going, from the device's own address), with a timeout, then relay until both directions
// end, and log one summary line. If the upstream refuses or does not answer, the client is reset
// promptly.
#include <memory>

#include "proxy/asio.h"
#include "proxy/buffer_pool.h"
#include "proxy/held_bytes_budget.h"
#include "proxy/inspector.h"
#include "proxy/pipe_pool.h"
#include "proxy/relay.h"

namespace wardgate::proxy {

class ProxyServer;

class ProxySession {
 public:
  ProxySession(ProxyServer& server, BufferPool& buffers, PipePool& pipes, tcp::socket client,
               SessionInfo info);

  awaitable<void> run();
  // Ends the session now (drain deadline); call on the session's executor.
  void shutdown();

 private:
  awaitable<bool> connect_upstream();

  ProxyServer& server_;
  BufferPool& buffers_;
  PipePool& pipes_;
  tcp::socket client_;    // accepted
  tcp::socket upstream_;  // opened by wardgate
  SessionInfo info_;
  HeldBytes held_;  // outlives the inspector whose holdings it counts
  std::unique_ptr<Relay> relay_;
  bool shut_down_ = false;
};

}  // namespace wardgate::proxy
