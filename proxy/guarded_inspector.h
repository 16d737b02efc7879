#pragma once
// Keeps an inspector's failure inside its session. An inspector that throws (a decoder bug, an
// allocation failure) is never called again: the chunk it was shown is not forwarded and the
// session is reset on both sides, as for any inspector that closes it without a response. Without
// this, the exception would end one direction's coroutine while the other waits on its socket,
// and the session would hang until its idle timeout, holding its device's connection slot.
#include <functional>
#include <memory>

#include "proxy/inspector.h"

namespace wardgate::proxy {

class GuardedInspector final : public Inspector {
 public:
  // `on_failure` is called once, on the first exception, with the name of the call that threw.
  GuardedInspector(std::unique_ptr<Inspector> inner, std::function<void(const char*)> on_failure);

  Action on_data(Direction direction, std::span<const std::byte> chunk) override;
  std::uint64_t opaque_bytes(Direction direction) override;
  void on_opaque(Direction direction, std::size_t n) override;
  void on_close(Direction direction, CloseCause cause) override;
  // Accessors that do not throw: passed through (a failed inspector still holds its memory).
  Progress progress(Direction direction) const override {
    return failed_ ? Progress{} : inner_->progress(direction);
  }
  std::size_t held_bytes() const override { return inner_->held_bytes(); }
  std::size_t held_bytes_after(std::size_t n) const override { return inner_->held_bytes_after(n); }

  bool failed() const { return failed_; }

 private:
  void fail(const char* call);

  std::unique_ptr<Inspector> inner_;
  std::function<void(const char*)> on_failure_;
  bool failed_ = false;
};

}  // namespace wardgate::proxy
