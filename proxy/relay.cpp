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
      last_activity_(std::chrono::steady_clock::now()),
      started_(last_activity_) {
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

bool Relay::hold_for(std::size_t n) {
  if (options_.held == nullptr || inspector_ == nullptr) return true;
  return options_.held->resize(std::max(options_.held->bytes(), inspector_->held_bytes_after(n)));
}

void Relay::after_inspection(Direction direction) {
  if (inspector_ == nullptr) return;
  // Giving back what the inspector no longer holds never fails.
  if (options_.held != nullptr) options_.held->resize(inspector_->held_bytes());
  if (direction != Direction::kFromDevice) return;
  const Progress p = inspector_->progress(direction);
  if (!p.framed || !p.inside) {
    message_began_.reset();
  } else if (!message_began_ || p.completed != device_completed_) {
    const bool earlier = !message_began_ && watchdog_timer_ != nullptr;
    message_began_ = std::chrono::steady_clock::now();
    // The watchdog waits for a later deadline (idle): it must look again.
    if (earlier && options_.message_timeout.count() > 0) watchdog_timer_->cancel();
  }
  device_completed_ = p.completed;
}

std::chrono::steady_clock::time_point Relay::next_deadline() const {
  if (closing_deadline_) return *closing_deadline_;
  auto at = last_activity_ + options_.idle_timeout;
  if (!first_message_done_ && options_.first_message_timeout.count() > 0) {
    at = std::min(at, started_ + options_.first_message_timeout);
  }
  if (message_began_ && options_.message_timeout.count() > 0) {
    at = std::min(at, *message_began_ + options_.message_timeout);
  }
  return at;
}

std::optional<CloseCause> Relay::missed_deadline(std::chrono::steady_clock::time_point now) {
  if (inspector_ == nullptr) return std::nullopt;
  if (!first_message_done_ && options_.first_message_timeout.count() > 0 &&
      now >= started_ + options_.first_message_timeout) {
    const Progress p = inspector_->progress(options_.opener);
    if (p.framed && p.completed == 0) return CloseCause::kFirstMessageTimeout;
    first_message_done_ = true;
  }
  if (message_began_ && options_.message_timeout.count() > 0 &&
      now >= *message_began_ + options_.message_timeout) {
    return CloseCause::kMessageTimeout;
  }
  return std::nullopt;
}

void Relay::relayed_opaque(Leg& leg, std::size_t n) {
  leg.bytes += n;
  ++leg.chunks;
  if (inspector_ != nullptr) {
    inspector_->on_opaque(leg.direction, n);
    after_inspection(leg.direction);
  }
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

namespace {

// Clears a pointer to a coroutine's local timer when the coroutine ends.
struct TimerHandle {
  TimerHandle(asio::steady_timer*& slot, asio::steady_timer& timer) : slot_(slot) {
    slot_ = &timer;
  }
  ~TimerHandle() { slot_ = nullptr; }
  TimerHandle(const TimerHandle&) = delete;
  TimerHandle& operator=(const TimerHandle&) = delete;

 private:
  asio::steady_timer*& slot_;
};

}  // namespace

awaitable<void> Relay::pump(Leg leg) {
  asio::steady_timer wake(co_await asio::this_coro::executor,
                          std::chrono::steady_clock::time_point::max());
  const TimerHandle handle(outbox(leg.direction).wake, wake);
  leg.opaque = ask_opaque(leg.direction);
  for (;;) {
    if (!co_await deliver(leg)) co_return;
    auto woken = co_await (leg.from.async_wait(tcp::socket::wait_read, kNoThrow) ||
                           wake.async_wait(kNoThrow));
    const Outbox& box = outbox(leg.direction);
    if (!box.messages.empty() || box.closing) continue;  // woken, or the close reset `from`
    const boost::system::error_code wait_ec =
        woken.index() == 0 ? std::get<0>(std::get<0>(woken)) : asio::error::operation_aborted;
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
    if (!opaque && !hold_for(n)) {
      // The inspector could not hold what this chunk may need: the session ends, not the others.
      abort(CloseCause::kHeldBytesBudget, true);
      end_direction(leg.direction, CloseCause::kHeldBytesBudget);
      co_return true;
    }
    Action action = opaque || inspector_ == nullptr ? Action::forward()
                                                    : inspector_->on_data(leg.direction, chunk);
    if (!opaque) after_inspection(leg.direction);
    if (action.kind == Action::Kind::kClose) {
      co_await close_session(leg, std::move(action.response));
      co_return true;
    }
    const std::span<const std::byte> out =
        action.kind == Action::Kind::kForward ? chunk : action.released;
    // Queued before the chunk is written: a message into this direction follows the chunk, one
    // into the other direction follows whatever that pump is writing now (deliver()).
    if (action.kind == Action::Kind::kInject) post(action.into, std::move(action.message));
    std::size_t written = 0;
    if (!out.empty()) {
      boost::system::error_code write_ec;
      std::tie(write_ec, written) =
          co_await asio::async_write(leg.to, asio::buffer(out.data(), out.size()), kNoThrow);
      if (write_ec) co_return end_after_write_failure(leg);
      touch();
    }
    if (opaque) {
      relayed_opaque(leg, n);
    } else {
      leg.bytes += written;
      ++leg.chunks;
      if (inspector_ != nullptr) leg.opaque = inspector_->opaque_bytes(leg.direction);
    }
    if (!co_await deliver(leg)) co_return true;
    // A short read means the socket is drained; opaque bytes from here on take the splice path.
    if (n < want || (leg.opaque > 0 && options_.zero_copy)) co_return false;
  }
}

void Relay::post(Direction direction, std::vector<std::byte> message) {
  if (message.empty()) return;
  Outbox& box = outbox(direction);
  box.messages.push_back(std::move(message));
  if (box.wake != nullptr) box.wake->cancel();
}

awaitable<bool> Relay::deliver(Leg& leg) {
  Outbox& box = outbox(leg.direction);
  if (aborted_) box.messages.clear();
  while (!box.messages.empty()) {
    const std::vector<std::byte> message = std::move(box.messages.front());
    box.messages.pop_front();
    auto [ec, n] =
        co_await asio::async_write(leg.to, asio::buffer(message.data(), message.size()), kNoThrow);
    if (ec) co_return !end_after_write_failure(leg);
    touch();
  }
  if (box.closing) {
    co_await say_goodbye(leg);
    co_return false;
  }
  co_return true;
}

awaitable<void> Relay::close_session(Leg& leg, Response response) {
  if (!response.to_device && !response.to_upstream) {
    abort(CloseCause::kInspector, true);
    end_direction(leg.direction, CloseCause::kInspector);
    co_return;
  }
  // Nothing more is forwarded; each pump writes its side's response once its write in progress
  // is done, bounded by the deadline the watchdog keeps.
  aborted_ = true;
  abort_cause_ = CloseCause::kInspector;
  closing_deadline_ = std::chrono::steady_clock::now() + kRespondTimeout;
  if (watchdog_timer_ != nullptr) watchdog_timer_->cancel();
  for (auto [direction, bytes] : {std::pair{Direction::kToDevice, &response.to_device},
                                  std::pair{Direction::kFromDevice, &response.to_upstream}}) {
    Outbox& box = outbox(direction);
    box.messages.clear();
    box.response = std::move(*bytes);
    if (box.wake != nullptr) {
      box.closing = true;
      box.wake->cancel();
    } else if (direction != leg.direction && !box.response) {
      // That direction has ended already (its receiver got FIN): it can only be reset.
      tcp::socket& to = direction == Direction::kToDevice ? device_ : upstream_;
      boost::system::error_code ec;
      if (to.is_open()) {
        set_reset_on_close(to.native_handle());
        to.close(ec);
      }
    }
  }
  co_await say_goodbye(leg);
}

awaitable<void> Relay::say_goodbye(Leg& leg) {
  Outbox& box = outbox(leg.direction);
  box.closing = false;
  bool said = box.response.has_value();
  if (said && !box.response->empty() && leg.to.is_open()) {
    auto [ec, n] = co_await asio::async_write(
        leg.to, asio::buffer(box.response->data(), box.response->size()), kNoThrow);
    said = !ec;
  }
  boost::system::error_code ec;
  if (leg.to.is_open()) {
    if (said) {
      leg.to.shutdown(tcp::socket::shutdown_send, ec);
    } else {
      set_reset_on_close(leg.to.native_handle());
      leg.to.close(ec);
    }
  }
  end_direction(leg.direction, CloseCause::kInspector);
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
      // A closing session still lets this piece out whole: the response follows it.
      const bool go_on = !aborted_ || outbox(leg.direction).closing;
      if (m < 0 && would_block(errno) && go_on) {
        auto [ec] = co_await leg.to.async_wait(tcp::socket::wait_write, kNoThrow);
        if (!ec && (!aborted_ || outbox(leg.direction).closing)) continue;
      }
      pipe.mark_dirty();
      co_return end_after_write_failure(leg);
    }
    touch();
    relayed_opaque(leg, static_cast<std::size_t>(n));
    // The pump delivers what waits in the outbox before reading on.
    const Outbox& box = outbox(leg.direction);
    if (static_cast<std::size_t>(n) < want || !box.messages.empty() || box.closing) {
      co_return false;
    }
  }
  co_return false;
}

awaitable<void> Relay::watchdog() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const TimerHandle handle(watchdog_timer_, timer);
  for (;;) {
    timer.expires_at(next_deadline());
    co_await timer.async_wait(kNoThrow);
    const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return;  // the relay ended
    const auto now = std::chrono::steady_clock::now();
    if (closing_deadline_) {
      if (now < *closing_deadline_) continue;
      // A peer did not read wardgate's response in time: reset both sides.
      for (Outbox& box : outboxes_) box.closing = false;
      boost::system::error_code ec;
      for (tcp::socket* s : {&device_, &upstream_}) {
        if (!s->is_open()) continue;
        set_reset_on_close(s->native_handle());
        s->close(ec);
      }
      co_return;
    }
    if (aborted_) co_return;
    if (const auto missed = missed_deadline(now)) {
      abort(*missed, false);
      co_return;
    }
    if (now - last_activity_ >= options_.idle_timeout) {
      abort(CloseCause::kIdleTimeout, false);
      co_return;
    }
  }
}

}  // namespace wardgate::proxy
