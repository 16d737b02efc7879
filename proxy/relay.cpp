#include "proxy/relay.h"

#include "proxy/socket_options.h"

namespace wardgate::proxy {

using namespace asio::experimental::awaitable_operators;

Relay::Relay(tcp::socket& device, tcp::socket& upstream, BufferPool& pool, Inspector* inspector,
             RelayOptions options)
    : device_(device),
      upstream_(upstream),
      pool_(pool),
      inspector_(inspector),
      options_(options),
      last_activity_(std::chrono::steady_clock::now()) {}

awaitable<void> Relay::run() {
  boost::system::error_code ec;
  device_.non_blocking(true, ec);
  upstream_.non_blocking(true, ec);
  co_await ((pump(device_, upstream_, Direction::kFromDevice) &&
             pump(upstream_, device_, Direction::kToDevice)) ||
            watchdog());
  device_.close(ec);
  upstream_.close(ec);
}

void Relay::end_direction(Direction direction, CloseCause cause) {
  (direction == Direction::kFromDevice ? counters_.from_device_end : counters_.to_device_end) =
      cause;
  if (inspector_ != nullptr) inspector_->on_close(direction, cause);
}

void Relay::abort(CloseCause cause, bool reset) {
  if (aborted_) return;
  aborted_ = true;
  abort_cause_ = cause;
  boost::system::error_code ec;
  for (tcp::socket* s : {&device_, &upstream_}) {
    if (!s->is_open()) continue;
    if (reset) set_reset_on_close(s->native_handle());
    s->close(ec);
  }
}

awaitable<void> Relay::pump(tcp::socket& from, tcp::socket& to, Direction direction) {
  const bool from_device = direction == Direction::kFromDevice;
  std::uint64_t& bytes = from_device ? counters_.bytes_from_device : counters_.bytes_to_device;
  std::uint64_t& chunks = from_device ? counters_.chunks_from_device : counters_.chunks_to_device;

  for (;;) {
    auto [wait_ec] = co_await from.async_wait(tcp::socket::wait_read, kNoThrow);
    if (wait_ec || aborted_) {
      end_direction(direction, aborted_ ? abort_cause_ : CloseCause::kShutdown);
      co_return;
    }
    BufferPool::Lease lease = pool_.acquire();
    const auto buf = lease.span();
    // Read what is there without returning to the reactor; a short read means drained.
    for (;;) {
      boost::system::error_code ec;
      const std::size_t n = from.read_some(asio::buffer(buf.data(), buf.size()), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec == asio::error::eof) {
        to.shutdown(tcp::socket::shutdown_send, ec);
        end_direction(direction, CloseCause::kEof);
        co_return;
      }
      if (ec) {
        // The sender reset (or the socket failed): the receiver sees a reset too.
        abort(CloseCause::kReset, true);
        end_direction(direction, CloseCause::kReset);
        co_return;
      }
      if (options_.quickack) arm_quickack(from.native_handle());
      last_activity_ = std::chrono::steady_clock::now();

      const std::span<const std::byte> chunk(buf.data(), n);
      if (inspector_ != nullptr && inspector_->on_data(direction, chunk) == Verdict::kClose) {
        abort(CloseCause::kInspector, true);
        end_direction(direction, CloseCause::kInspector);
        co_return;
      }
      auto [write_ec, written] =
          co_await asio::async_write(to, asio::buffer(chunk.data(), n), kNoThrow);
      if (write_ec) {
        if (aborted_) {
          end_direction(direction, abort_cause_);
        } else {
          // The receiver is gone: reset the sender so it does not keep sending into a void.
          abort(CloseCause::kWriteFailed, true);
          end_direction(direction, CloseCause::kWriteFailed);
        }
        co_return;
      }
      bytes += written;
      ++chunks;
      last_activity_ = std::chrono::steady_clock::now();
      if (n < buf.size()) break;
    }
  }
}

awaitable<void> Relay::watchdog() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_at(last_activity_ + options_.idle_timeout);
    auto [ec] = co_await timer.async_wait(kNoThrow);
    if (ec || aborted_) co_return;
    if (std::chrono::steady_clock::now() - last_activity_ >= options_.idle_timeout) {
      abort(CloseCause::kIdleTimeout, false);
      co_return;
    }
  }
}

}  // namespace wardgate::proxy
