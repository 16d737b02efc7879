#pragma once
// Outstanding DIMSE operations of the association (PS3.7 9.1, 10.1): requests, by invoker and
// Message ID, whose final response has not been seen. Pending responses (PS3.7 Annex C: 0xFF00,
// 0xFF01) keep an operation open; C-CANCEL-RQ has no response and opens nothing. Bounded by
// limits.max_outstanding_operations.
#include <cstdint>
#include <optional>
#include <vector>

#include "dicom/failure.h"
#include "dicom/model.h"

namespace wardgate::dicom {

class OperationTracker {
 public:
  explicit OperationTracker(std::uint16_t max_outstanding) : max_(max_outstanding) {}

  // Records `command` sent by `from`; a failure (and no change) if it would open one operation
  // too many.
  std::optional<Failure> record(Side from, const Command& command);

 private:
  static std::uint32_t key(Side invoker, std::uint16_t message_id) {
    return (invoker == Side::kClient ? 0U : 0x10000U) | message_id;
  }

  std::uint16_t max_;
  std::vector<std::uint32_t> open_;  // few entries: a flat vector beats a hash set
};

}  // namespace wardgate::dicom
