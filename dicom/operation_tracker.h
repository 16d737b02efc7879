#pragma once
// The ledger of DIMSE operations of the association (PS3.7 9.1, 10.1): requests, by invoker and
// Message ID, with what follows them (data set sizes and identifiers, pending responses) until
// their final response completes them. Pending responses (PS3.7 Annex C: 0xFF00, 0xFF01) keep
// an operation open; C-CANCEL-RQ has no response and opens nothing; a request that repeats an
// open one's Message ID replaces it. Bounded by limits.max_outstanding_operations.
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "dicom/failure.h"
#include "dicom/model.h"

namespace wardgate::dicom {

class OperationTracker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit OperationTracker(std::uint16_t max_outstanding) : max_(max_outstanding) {}

  // Records `command` sent by `from` at `now`; a failure (and no change) if it would open one
  // operation too many. A final response moves its operation to take_completed().
  std::optional<Failure> record(Side from, const Command& command, TimePoint now);
  // The operation the last record() completed, once.
  std::optional<Operation> take_completed() { return std::exchange(completed_, std::nullopt); }
  // The data set `from` is sending now belongs to the command it sent last with a data set.
  void record_identifiers(Side from, const DataSetIdentifiers& ids);
  void record_data_set_end(Side from, std::uint64_t bytes);
  // Operations without a final response, by requester (client first) and Message ID.
  std::vector<Operation> open() const;

 private:
  using Key = std::uint32_t;
  static Key key(Side requester, std::uint16_t message_id) {
    return (requester == Side::kClient ? 0U : 0x10000U) | message_id;
  }
  static Key key(const Operation& op) { return key(op.requester, op.message_id); }
  Operation* find(Key k);
  Operation* data_owner(Side from);

  std::uint16_t max_;
  std::vector<Operation> open_;                   // few entries: a flat vector beats a map
  std::array<std::optional<Key>, 2> data_owner_;  // by the side sending the data set
  std::optional<Operation> completed_;
};

}  // namespace wardgate::dicom
