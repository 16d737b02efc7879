#include "proxy/proxy_session.h"

#include <spdlog/spdlog.h>

#include "proxy/proxy_server.h"
#include "proxy/transparent_socket.h"

namespace wardgate::proxy {

using namespace asio::experimental::awaitable_operators;

ProxySession::ProxySession(ProxyServer& server, BufferPool& buffers, PipePool& pipes,
                           tcp::socket device, SessionInfo info)
    : server_(server),
      buffers_(buffers),
      pipes_(pipes),
      device_(std::move(device)),
      upstream_(device_.get_executor()),
      info_(std::move(info)) {}

void ProxySession::shutdown() {
  shut_down_ = true;
  if (relay_) {
    relay_->shutdown();
    return;
  }
  boost::system::error_code ec;
  upstream_.close(ec);  // cancels a pending connect
  device_.close(ec);
}

awaitable<bool> ProxySession::connect_upstream() {
  const ProxyOptions& opt = server_.options_;
  const asio::ip::address_v4 device_ip(ntohl(info_.device_addr.s_addr));
  const tcp::endpoint target(asio::ip::address_v4(ntohl(info_.server_addr.s_addr)),
                             info_.server_port);

  boost::system::error_code ec = open_upstream(upstream_, device_ip, opt.transparent);
  if (!ec) {
    if (auto e = tune_leg(upstream_.native_handle(), opt.upstream_leg)) {
      spdlog::debug("session {}: upstream tuning incomplete: {}", info_.id, e.message());
    }
    asio::steady_timer timer(device_.get_executor(), opt.connect_timeout);
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
  spdlog::warn(
      "session {}: upstream {}:{} did not accept the connection from device {} ({}); "
      "resetting the device's connection",
      info_.id, target.address().to_string(), target.port(), describe(info_),
      ec == asio::error::timed_out ? "no answer within connect timeout" : ec.message());
  // The device sees what it would have seen without wardgate: a prompt reset.
  set_reset_on_close(device_.native_handle());
  boost::system::error_code ignored;
  device_.close(ignored);
  upstream_.close(ignored);
  co_return false;
}

awaitable<void> ProxySession::run() {
  const auto started = std::chrono::steady_clock::now();
  if (auto e = tune_leg(device_.native_handle(), server_.options_.device_leg)) {
    spdlog::debug("session {}: device tuning incomplete: {}", info_.id, e.message());
  }
  spdlog::debug("session {}: {} accepted", info_.id, describe(info_));
  if (!co_await connect_upstream()) co_return;

  std::unique_ptr<Inspector> inspector;
  if (server_.inspectors_) inspector = server_.inspectors_->create(info_);
  RelayOptions relay_options;
  relay_options.idle_timeout = server_.options_.idle_timeout;
  relay_options.zero_copy = server_.options_.zero_copy;
  relay_ =
      std::make_unique<Relay>(device_, upstream_, buffers_, pipes_, inspector.get(), relay_options);
  if (shut_down_) relay_->shutdown();
  co_await relay_->run();

  const RelayCounters& c = relay_->counters();
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
