#include "proxy/guarded_inspector.h"

#include <utility>

namespace wardgate::proxy {

GuardedInspector::GuardedInspector(std::unique_ptr<Inspector> inner,
                                   std::function<void(const char*)> on_failure)
    : inner_(std::move(inner)), on_failure_(std::move(on_failure)) {}

void GuardedInspector::fail(const char* call) {
  if (failed_) return;
  failed_ = true;
  if (on_failure_) on_failure_(call);
}

Action GuardedInspector::on_data(Direction direction, std::span<const std::byte> chunk) {
  if (!failed_) {
    try {
      return inner_->on_data(direction, chunk);
    } catch (...) {
      fail("on_data");
    }
  }
  return Action::close({});
}

std::uint64_t GuardedInspector::opaque_bytes(Direction direction) {
  if (failed_) return 0;  // the next chunk is shown, and closes the session
  try {
    return inner_->opaque_bytes(direction);
  } catch (...) {
    fail("opaque_bytes");
    return 0;
  }
}

void GuardedInspector::on_opaque(Direction direction, std::size_t n) {
  if (failed_) return;
  try {
    inner_->on_opaque(direction, n);
  } catch (...) {
    fail("on_opaque");
  }
}

void GuardedInspector::on_close(Direction direction, CloseCause cause) {
  if (failed_) return;
  try {
    inner_->on_close(direction, cause);
  } catch (...) {
    fail("on_close");
  }
}

}  // namespace wardgate::proxy
