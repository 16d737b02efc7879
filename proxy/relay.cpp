#include "proxy/relay.h"

#include <fcntl.h>

#include <algorithm>
#include <csignal>
#include <mutex>
#include <optional>
#include <vector>

#include "proxy/socket_options.h"

namespace wardgate::proxy {

using namespace asio::experimental::awaitable_operators;

namespace {

bool would_block(int error) { return error == EAGAIN || error == EWOULDBLOCK; }

// splice(2) into a socket whose peer has reset raises SIGPIPE (it has no MSG_NOSIGNAL, unlike the
// sends Asio makes), and SIGPIPE's default action ends the process. The relay needs EPIPE instead.
void ignore_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

// A peer that does not read wardgate's response within this time gets a reset instead.
constexpr auto kRespondTimeout = std::chrono::seconds(2);

}  // namespace

Relay::Relay(tcp::socket& device, tcp::socket& upstream, BufferPool& buffers, PipePool& pipes,
             Inspector* inspector, RelayOptions options)
    : device_(device),
      upstream_(upstream),
      buffers_(buffers),
      pipes_(pipes),
      inspector_(inspector),
      options_(options),
      last_activity_(std::chrono::steady_clock::now()) {
  if (options_.zero_copy) ignore_sigpipe();
}

awaitable<void> Relay::run() {
  boost::system::error_code ec;
  device_.non_blocking(true, ec);
  upstream_.non_blocking(true, ec);
  co_await ((pump(Leg{device_, upstream_, Direction::kFromDevice, counters_.bytes_from_device,
                      counters_.chunks_from_device}) &&
             pump(Leg{upstream_, device_, Direction::kToDevice, counters_.bytes_to_device,
                      counters_.chunks_to_device})) ||
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

std::uint64_t Relay::ask_opaque(Direction direction) const {
  return inspector_ == nullptr ? Inspector::kAllOpaque : inspector_->opaque_bytes(direction);
}

void Relay::relayed_opaque(Leg& leg, std::size_t n) {
  leg.bytes += n;
  ++leg.chunks;
  if (inspector_ != nullptr) inspector_->on_opaque(leg.direction, n);
  if (leg.opaque != Inspector::kAllOpaque) {
    leg.opaque -= n;
    if (leg.opaque == 0) leg.opaque = ask_opaque(leg.direction);
  }
}

bool Relay::end_after_read(Leg& leg, const boost::system::error_code& ec) {
  if (aborted_) {
    end_direction(leg.direction, abort_cause_);
  } else if (ec == asio::error::eof) {
    boost::system::error_code ignored;
    leg.to.shutdown(tcp::socket::shutdown_send, ignored);
    end_direction(leg.direction, CloseCause::kEof);
  } else {
    // The sender reset (or its socket failed): the receiver sees a reset too.
    abort(CloseCause::kReset, true);
    end_direction(leg.direction, CloseCause::kReset);
  }
  return true;
}

bool Relay::end_after_write_failure(Leg& leg) {
  if (aborted_) {
    end_direction(leg.direction, abort_cause_);
  } else {
    // The receiver is gone: reset the sender so it does not keep sending into a void.
    abort(CloseCause::kWriteFailed, true);
    end_direction(leg.direction, CloseCause::kWriteFailed);
  }
  return true;
}

awaitable<void> Relay::pump(Leg leg) {
  leg.opaque = ask_opaque(leg.direction);
  for (;;) {
    auto [wait_ec] = co_await leg.from.async_wait(tcp::socket::wait_read, kNoThrow);
    if (wait_ec || aborted_) {
      end_direction(leg.direction, aborted_ ? abort_cause_ : CloseCause::kShutdown);
      co_return;
    }
    bool ended = false;
    if (leg.opaque > 0 && options_.zero_copy) {
      PipePool::Lease pipe = pipes_.acquire();
      ended = pipe ? co_await splice_burst(leg, pipe) : co_await copy_burst(leg);
    } else {
      ended = co_await copy_burst(leg);
    }
    if (ended) co_return;
  }
}

awaitable<bool> Relay::copy_burst(Leg& leg) {
  BufferPool::Lease lease = buffers_.acquire();
  const auto buf = lease.span();
  for (;;) {
    const bool opaque = leg.opaque > 0;
    const std::size_t want = opaque ? std::min<std::uint64_t>(leg.opaque, buf.size()) : buf.size();
    boost::system::error_code ec;
    const std::size_t n = leg.from.read_some(asio::buffer(buf.data(), want), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) co_return false;
    if (ec) co_return end_after_read(leg, ec);
    if (options_.quickack) arm_quickack(leg.from.native_handle());
    touch();

    const std::span<const std::byte> chunk(buf.data(), n);
    // Hold the turn on the receiver from the inspector's look at the chunk until the chunk is
    // written: what the inspector has seen of a direction is then exactly what was written, so
    // a message of wardgate's own can be put in at a boundary it knows (see inject()).
    if (writing(leg.to) && !co_await wait_turn(leg.to)) {
      end_direction(leg.direction, abort_cause_);
      co_return true;
    }
    writing(leg.to) = true;
    const Verdict verdict = opaque || inspector_ == nullptr
                                ? Verdict::kContinue
                                : inspector_->on_data(leg.direction, chunk);
    if (verdict == Verdict::kClose) {
      writing(leg.to) = false;
      abort(CloseCause::kInspector, true);
      end_direction(leg.direction, CloseCause::kInspector);
      co_return true;
    }
    if (verdict == Verdict::kRespondAndClose) {
      writing(leg.to) = false;
      co_await respond_and_close(inspector_->response());
      end_direction(leg.direction, CloseCause::kInspector);
      co_return true;
    }
    const std::span<const std::byte> out =
        verdict == Verdict::kForwardReleased ? inspector_->released(leg.direction) : chunk;
    boost::system::error_code write_ec;
    std::size_t written = 0;
    if (!out.empty()) {
      std::tie(write_ec, written) =
          co_await asio::async_write(leg.to, asio::buffer(out.data(), out.size()), kNoThrow);
    }
    if (!write_ec && !opaque) write_ec = co_await inject(leg.direction, leg.to);
    writing(leg.to) = false;
    if (write_ec) co_return end_after_write_failure(leg);
    touch();
    // A message of wardgate's own for the sender, e.g. the refusal of a message it did not
    // forward. A failed write there is the other direction's to find.
    if (!opaque && inspector_ != nullptr &&
        inspector_->injection_pending(opposite(leg.direction))) {
      if (!writing(leg.from) || co_await wait_turn(leg.from)) {
        writing(leg.from) = true;
        co_await inject(opposite(leg.direction), leg.from);
        writing(leg.from) = false;
      }
    }
    if (opaque) {
      relayed_opaque(leg, n);
    } else {
      leg.bytes += written;
      ++leg.chunks;
      if (inspector_ != nullptr) leg.opaque = inspector_->opaque_bytes(leg.direction);
    }
    // A short read means the socket is drained; opaque bytes from here on take the splice path.
    if (n < want || (leg.opaque > 0 && options_.zero_copy)) co_return false;
  }
}

awaitable<bool> Relay::wait_turn(const tcp::socket& to) {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  while (writing(to) && !aborted_) {  // bounded: the other write ends, or the relay is aborted
    pause.expires_after(std::chrono::milliseconds(1));
    co_await pause.async_wait(kNoThrow);
  }
  co_return !aborted_;
}

awaitable<boost::system::error_code> Relay::inject(Direction direction, tcp::socket& to) {
  if (inspector_ == nullptr || !inspector_->injection_pending(direction))
    co_return boost::system::error_code{};
  const std::vector<std::byte> bytes = inspector_->take_injection(direction);
  if (bytes.empty() || !to.is_open()) co_return boost::system::error_code{};
  auto [ec, n] = co_await asio::async_write(to, asio::buffer(bytes.data(), bytes.size()), kNoThrow);
  co_return ec;
}

awaitable<bool> Relay::splice_burst(Leg& leg, PipePool::Lease& pipe) {
  const int from = leg.from.native_handle();
  const int to = leg.to.native_handle();
  while (leg.opaque > 0) {
    const std::size_t want = std::min<std::uint64_t>(leg.opaque, pipes_.capacity());
    const ssize_t n =
        ::splice(from, nullptr, pipe.write_fd(), nullptr, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0 && would_block(errno)) co_return false;
    if (n <= 0) {
      co_return end_after_read(
          leg, n == 0 ? asio::error::eof
                      : boost::system::error_code(errno, boost::system::system_category()));
    }
    if (options_.quickack) arm_quickack(from);
    touch();
    // Move everything the pipe holds to the other leg before reading again (backpressure).
    auto pending = static_cast<std::size_t>(n);
    while (pending > 0) {
      const ssize_t m = ::splice(pipe.read_fd(), nullptr, to, nullptr, pending,
                                 SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (m > 0) {
        pending -= static_cast<std::size_t>(m);
        continue;
      }
      if (m < 0 && would_block(errno) && !aborted_) {
        writing(leg.to) = true;
        auto [ec] = co_await leg.to.async_wait(tcp::socket::wait_write, kNoThrow);
        writing(leg.to) = false;
        if (!ec && !aborted_) continue;
      }
      pipe.mark_dirty();
      co_return end_after_write_failure(leg);
    }
    touch();
    relayed_opaque(leg, static_cast<std::size_t>(n));
    if (static_cast<std::size_t>(n) < want) co_return false;
  }
  co_return false;
}

awaitable<void> Relay::respond_and_close(Response response) {
  // The other direction's pump must not forward anything more meanwhile: mark the relay aborted
  // first (its pending waits end on the close below).
  aborted_ = true;
  abort_cause_ = CloseCause::kInspector;
  asio::steady_timer deadline(co_await asio::this_coro::executor, kRespondTimeout);
  const auto send = [this](tcp::socket& s,
                           const std::optional<std::vector<std::byte>>& bytes) -> awaitable<void> {
    asio::steady_timer pause(co_await asio::this_coro::executor);
    while (writing(s)) {  // the other direction finishes its write first (bounded: deadline)
      pause.expires_after(std::chrono::milliseconds(1));
      co_await pause.async_wait(kNoThrow);
    }
    if (bytes && !bytes->empty() && s.is_open()) {
      co_await asio::async_write(s, asio::buffer(bytes->data(), bytes->size()), kNoThrow);
    }
  };
  const auto outcome =
      co_await ((send(device_, response.to_device) && send(upstream_, response.to_upstream)) ||
                deadline.async_wait(kNoThrow));
  boost::system::error_code ec;
  for (auto [s, said] :
       {std::pair{&device_, &response.to_device}, std::pair{&upstream_, &response.to_upstream}}) {
    if (!s->is_open()) continue;
    // Reset a side that got no response, or did not read it in time; FIN to the others.
    if (!said->has_value() || outcome.index() == 1) {
      set_reset_on_close(s->native_handle());
    } else {
      s->shutdown(tcp::socket::shutdown_send, ec);
    }
    s->close(ec);
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
