#include "proxy/held_bytes_budget.h"

namespace wardgate::proxy {

bool HeldBytesBudget::try_take(std::size_t n) {
  std::size_t held = held_.load(std::memory_order_relaxed);
  do {
    if (n > limit_ - held) return false;
  } while (!held_.compare_exchange_weak(held, held + n, std::memory_order_relaxed));
  return true;
}

void HeldBytesBudget::give_back(std::size_t n) { held_.fetch_sub(n, std::memory_order_relaxed); }

bool HeldBytes::resize(std::size_t bytes) {
  if (budget_ == nullptr) {
    bytes_ = bytes;
    return true;
  }
  if (bytes > bytes_) {
    if (!budget_->try_take(bytes - bytes_)) return false;
  } else {
    budget_->give_back(bytes_ - bytes);
  }
  bytes_ = bytes;
  return true;
}

}  // namespace wardgate::proxy
