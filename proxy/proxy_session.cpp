#include "proxy/proxy_session.h"

#include <spdlog/spdlog.h>

#include "proxy/guarded_inspector.h"
#include "proxy/proxy_server.h"
#include "proxy/transparent_socket.h"

namespace wardgate::proxy {

using namespace asio::experimental::awaitable_operators;

ProxySession::ProxySession(ProxyServer& server, BufferPool& buffers, PipePool& pipes,
                           tcp::socket client, SessionInfo info)
    : server_(server),
      buffers_(buffers),
      pipes_(pipes),
      client_(std::move(client)),
      upstream_(client_.get_executor()),
      info_(std::move(info)),
      held_(&server.held_budget_) {}

void ProxySession::shutdown() {
  shut_down_ = true;
  if (relay_) {
    relay_->shutdown();
    return;
  }
  boost::system::error_code ec;
  upstream_.close(ec);  // cancels a pending connect
  client_.close(ec);
}

awaitable<bool> ProxySession::connect_upstream() {
  const ProxyOptions& opt = server_.options_;
  const asio::ip::address_v4 source(ntohl(info_.upstream_source.s_addr));
  const tcp::endpoint target(asio::ip::address_v4(ntohl(info_.server_addr.s_addr)),
                             info_.server_port);

  boost::system::error_code ec = open_upstream(upstream_, source, opt.transparent);
  if (!ec) {
    const bool to_device = info_.device_side == DeviceSide::kServer;
    if (auto e =
            tune_leg(upstream_.native_handle(), to_device ? opt.device_leg : opt.upstream_leg)) {
      spdlog::debug("session {}: upstream tuning incomplete: {}", info_.id, e.message());
    }
    asio::steady_timer timer(client_.get_executor(), opt.connect_timeout);
    auto outcome =
        co_await (upstream_.async_connect(target, kNoThrow) || timer.async_wait(kNoThrow));
    if (outcome.index() == 0) {
      ec = std::get<0>(std::get<0>(outcome));
    } else {
      ec = asio::error::timed_out;
    }
  }
  if (!ec) co_return true;
  if (shut_down_) co_return false;

  server_.upstream_failures_.inc();
  const char* opener = info_.device_side == DeviceSide::kClient ? "device" : "core";
  spdlog::warn(
      "session {}: upstream {}:{} did not accept the connection from {} {} ({}); "
      "resetting the {}'s connection",
      info_.id, target.address().to_string(), target.port(), opener, describe(info_),
      ec == asio::error::timed_out ? "no answer within connect timeout" : ec.message(), opener);
  // The client sees what it would have seen without wardgate: a prompt reset.
  set_reset_on_close(client_.native_handle());
  boost::system::error_code ignored;
  client_.close(ignored);
  upstream_.close(ignored);
  co_return false;
}

awaitable<void> ProxySession::run() {
  const auto started = std::chrono::steady_clock::now();
  const bool device_is_client = info_.device_side == DeviceSide::kClient;
  const ProxyOptions& opt = server_.options_;
  if (auto e =
          tune_leg(client_.native_handle(), device_is_client ? opt.device_leg : opt.upstream_leg)) {
    spdlog::debug("session {}: client tuning incomplete: {}", info_.id, e.message());
  }
  spdlog::debug("session {}: {} accepted", info_.id, describe(info_));
  if (!co_await connect_upstream()) co_return;

  std::unique_ptr<Inspector> inspector;
  if (server_.inspectors_) {
    if (auto inner = server_.inspectors_->create(info_)) {
      inspector = std::make_unique<GuardedInspector>(std::move(inner), [this](const char* call) {
        server_.inspector_failures_.inc();
        // Not the exception's text: it may quote the bytes that made the inspector fail.
        spdlog::error("session {}: {}: the inspector failed in {}; resetting the session", info_.id,
                      describe(info_), call);
      });
    }
  }
  RelayOptions relay_options;
  relay_options.idle_timeout = opt.idle_timeout;
  relay_options.zero_copy = opt.zero_copy;
  relay_options.first_message_timeout = opt.first_message_timeout;
  relay_options.message_timeout = opt.message_timeout;
  relay_options.opener = device_is_client ? Direction::kFromDevice : Direction::kToDevice;
  relay_options.held = &held_;
  // The relay's legs are the device's and its peer's, whichever of them opened the connection.
  relay_ = std::make_unique<Relay>(device_is_client ? client_ : upstream_,
                                   device_is_client ? upstream_ : client_, buffers_, pipes_,
                                   inspector.get(), relay_options);
  if (shut_down_) relay_->shutdown();
  co_await relay_->run();

  const RelayCounters& c = relay_->counters();
  for (const CloseCause cause : {CloseCause::kFirstMessageTimeout, CloseCause::kMessageTimeout,
                                 CloseCause::kHeldBytesBudget}) {
    if (c.from_device_end != cause && c.to_device_end != cause) continue;
    server_.closed_by(cause).inc();
    spdlog::warn("session {}: {} closed by wardgate: {}", info_.id, describe(info_),
                 cause == CloseCause::kFirstMessageTimeout
                     ? "no complete first message within the first-message timeout"
                 : cause == CloseCause::kMessageTimeout
                     ? "a message from the device was not completed within the message timeout"
                     : "the held-bytes budget shared by all sessions is spent");
    break;
  }
  server_.bytes_from_devices_.inc(c.bytes_from_device);
  server_.bytes_to_devices_.inc(c.bytes_to_device);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  spdlog::info(
      "session {}: {} closed after {:.3f} s: {} bytes from device ({}), {} bytes to "
      "device ({})",
      info_.id, describe(info_), seconds, c.bytes_from_device, to_string(c.from_device_end),
      c.bytes_to_device, to_string(c.to_device_end));
}

}  // namespace wardgate::proxy
