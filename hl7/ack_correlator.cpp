#include "hl7/ack_correlator.h"

namespace wardgate::hl7 {

void AckCorrelator::on_message(std::string_view control_id, Time sent) {
  auto it = by_id_.find(control_id);
  if (it != by_id_.end()) {
    by_sequence_.erase(it->second.sequence);
    by_id_.erase(it);
  }
  if (max_pending_ == 0) return;
  while (by_id_.size() >= max_pending_) {
    auto oldest = by_sequence_.begin();
    by_id_.erase(oldest->second);
    dropped_.push_back(std::move(oldest->second));
    by_sequence_.erase(oldest);
  }
  const std::uint64_t seq = next_sequence_++;
  by_id_.emplace(std::string(control_id), Entry{sent, seq});
  by_sequence_.emplace(seq, std::string(control_id));
}

std::optional<AckCorrelator::Duration> AckCorrelator::on_ack(std::string_view control_id,
                                                             AckCode /*code*/, Time received) {
  auto it = by_id_.find(control_id);
  if (it == by_id_.end()) return std::nullopt;
  const Duration latency = received - it->second.sent;
  by_sequence_.erase(it->second.sequence);
  by_id_.erase(it);
  return latency;
}

std::vector<std::string> AckCorrelator::expire(Time now, Duration timeout) {
  std::vector<std::string> out = std::move(dropped_);
  dropped_.clear();
  // Arrival order is not time order when the caller's times go backwards; scan everything.
  for (auto it = by_sequence_.begin(); it != by_sequence_.end();) {
    auto entry = by_id_.find(it->second);
    if (now - entry->second.sent > timeout) {
      out.push_back(it->second);
      by_id_.erase(entry);
      it = by_sequence_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace wardgate::hl7
