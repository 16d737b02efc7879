#include "dicom/operation_tracker.h"

#include <algorithm>
#include <string>
#include <utility>

#include "dicom/spec.h"

namespace wardgate::dicom {
namespace {

std::size_t index(Side s) { return s == Side::kClient ? 0 : 1; }
Side other(Side s) { return s == Side::kClient ? Side::kServer : Side::kClient; }

}  // namespace

Operation* OperationTracker::find(Key k) {
  const auto it =
      std::find_if(open_.begin(), open_.end(), [k](const Operation& op) { return key(op) == k; });
  return it == open_.end() ? nullptr : &*it;
}

Operation* OperationTracker::data_owner(Side from) {
  const auto& k = data_owner_[index(from)];
  return k ? find(*k) : nullptr;
}

std::optional<Failure> OperationTracker::record(Side from, const Command& command, TimePoint now) {
  completed_.reset();
  if (!spec::is_response(command.command_field)) {
    if (!command.message_id) return std::nullopt;
    const Key k = key(from, *command.message_id);
    Operation* existing = find(k);
    if (existing == nullptr && command.command_field != spec::kCCancelRq && open_.size() >= max_) {
      return Failure{Violation::kTooManyOutstanding,
                     "more than " + std::to_string(max_) +
                         " operations without a final response (Message ID " +
                         std::to_string(*command.message_id) + ")"};
    }
    if (command.has_data_set) data_owner_[index(from)] = k;
    if (command.command_field == spec::kCCancelRq) return std::nullopt;  // names another one
    Operation op;
    op.message_id = *command.message_id;
    op.command_field = command.command_field;
    op.requester = from;
    op.started = now;
    op.sop_class_uid = command.affected_sop_class_uid.empty() ? command.requested_sop_class_uid
                                                              : command.affected_sop_class_uid;
    op.sop_instance_uid = command.affected_sop_instance_uid.empty()
                              ? command.requested_sop_instance_uid
                              : command.affected_sop_instance_uid;
    op.move_destination = command.move_destination;
    op.move_originator_ae = command.move_originator_ae;
    op.move_originator_message_id = command.move_originator_message_id;
    op.priority = command.priority;
    if (existing != nullptr) {
      *existing = std::move(op);
    } else {
      open_.push_back(std::move(op));
    }
    return std::nullopt;
  }
  if (!command.message_id_responded_to) return std::nullopt;
  // A response answers a request of the other side.
  const Key k = key(other(from), *command.message_id_responded_to);
  if (command.has_data_set) data_owner_[index(from)] = k;
  Operation* op = find(k);
  if (op == nullptr) return std::nullopt;
  if (spec::status_class(command.status.value_or(0xFFFF)) == spec::StatusClass::kPending) {
    ++op->pending_responses;
    return std::nullopt;
  }
  op->ended = now;
  op->final_response = command;
  completed_ = std::move(*op);
  if (op != &open_.back()) *op = std::move(open_.back());
  open_.pop_back();
  return std::nullopt;
}

void OperationTracker::record_identifiers(Side from, const DataSetIdentifiers& ids) {
  Operation* op = data_owner(from);
  if (op != nullptr && op->requester == from) op->identifiers = ids;
}

void OperationTracker::record_data_set_end(Side from, std::uint64_t bytes) {
  if (Operation* op = data_owner(from)) op->data_set_bytes += bytes;
}

std::vector<Operation> OperationTracker::open() const {
  std::vector<Operation> ops = open_;
  std::sort(ops.begin(), ops.end(),
            [](const Operation& a, const Operation& b) { return key(a) < key(b); });
  return ops;
}

}  // namespace wardgate::dicom
