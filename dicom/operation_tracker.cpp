#include "dicom/operation_tracker.h"

#include <algorithm>
#include <string>

#include "dicom/spec.h"

namespace wardgate::dicom {

std::optional<Failure> OperationTracker::record(Side from, const Command& command) {
  if ((command.command_field & spec::kResponseBit) == 0) {
    if (command.command_field == spec::kCCancelRq || !command.message_id) return std::nullopt;
    const std::uint32_t k = key(from, *command.message_id);
    if (std::find(open_.begin(), open_.end(), k) != open_.end()) return std::nullopt;
    if (open_.size() >= max_) {
      return Failure{Violation::kTooManyOutstanding,
                     "more than " + std::to_string(max_) +
                         " operations without a final response (Message ID " +
                         std::to_string(*command.message_id) + ")"};
    }
    open_.push_back(k);
    return std::nullopt;
  }
  if (!command.message_id_responded_to) return std::nullopt;
  if (command.status &&
      (*command.status == spec::kStatusPending || *command.status == spec::kStatusPendingWarning)) {
    return std::nullopt;
  }
  const Side invoker = from == Side::kClient ? Side::kServer : Side::kClient;
  const auto it =
      std::find(open_.begin(), open_.end(), key(invoker, *command.message_id_responded_to));
  if (it != open_.end()) {
    *it = open_.back();
    open_.pop_back();
  }
  return std::nullopt;
}

}  // namespace wardgate::dicom
