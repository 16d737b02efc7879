#pragma once
// One budget for the bytes all sessions hold at once beyond the relay's own chunk buffers: frames
// an HL7 inspector holds until they are judged, DICOM PDUs and peeks being reassembled. Each
// session's inspector is capped, but thousands of sessions each holding its cap would exhaust the
// appliance's memory; the budget caps their sum. A session whose inspector would need more than
// the budget has left is closed (the relay asks before the inspector is shown the bytes, so the
// memory is never allocated); the other sessions go on. Thread-safe: sessions of every worker
// share it.
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace wardgate::proxy {

class HeldBytesBudget {
 public:
  explicit HeldBytesBudget(std::size_t limit) : limit_(limit) {}
  HeldBytesBudget(const HeldBytesBudget&) = delete;
  HeldBytesBudget& operator=(const HeldBytesBudget&) = delete;

  // Takes `n` bytes of the budget; false (nothing taken) when fewer than `n` are left.
  bool try_take(std::size_t n);
  void give_back(std::size_t n);

  std::size_t limit() const { return limit_; }
  std::size_t held() const { return held_.load(std::memory_order_relaxed); }

 private:
  const std::size_t limit_;
  std::atomic<std::size_t> held_{0};
};

// One session's share of the budget; what it still holds goes back when it is destroyed.
class HeldBytes {
 public:
  // Null budget: unlimited (nothing is counted).
  explicit HeldBytes(HeldBytesBudget* budget) : budget_(budget) {}
  ~HeldBytes() {
    if (budget_ != nullptr) budget_->give_back(bytes_);
  }
  HeldBytes(const HeldBytes&) = delete;
  HeldBytes& operator=(const HeldBytes&) = delete;

  // Makes the share `bytes`, taking the growth from the budget or giving the rest back. False
  // when the budget cannot cover the growth: the share stays as it was.
  bool resize(std::size_t bytes);
  std::size_t bytes() const { return bytes_; }

 private:
  HeldBytesBudget* budget_;
  std::size_t bytes_ = 0;
};

}  // namespace wardgate::proxy
