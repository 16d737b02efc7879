#include "store/record_queue.h"

#include <algorithm>

#include "audit/event_decode.h"

namespace wardgate::store {

namespace {

PendingRecord encoded(const audit::Event& event, const std::string& canonical) {
  PendingRecord p;
  p.time_us = audit::to_unix_us(event.time);
  p.outcome = event.outcome;
  p.severity = event.severity;
  const std::array<const std::string*, 4> parts = {&event.appliance_id, &event.device,
                                                   &event.category, &event.action};
  std::size_t size = canonical.size();
  for (const auto* part : parts) size += part->size();
  p.text.reserve(size);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    p.lengths[i] = static_cast<std::uint32_t>(parts[i]->size());
    p.text += *parts[i];
  }
  p.text += canonical;
  return p;
}

}  // namespace

PendingRecord PendingRecord::of(const audit::Event& event) {
  const std::string canonical = audit::to_json(event);
  if (audit::fits_store(event, canonical)) return encoded(event, canonical);
  // Too long for the reader, or columns that would not match the record: never stored as is.
  const audit::Event fitted = audit::fit_for_store(event);
  return encoded(fitted, audit::to_json(fitted));
}

std::string_view PendingRecord::part(int i) const {
  std::size_t offset = 0;
  for (int k = 0; k < i; ++k) offset += lengths[static_cast<std::size_t>(k)];
  return std::string_view(text).substr(offset, lengths[static_cast<std::size_t>(i)]);
}

std::string_view PendingRecord::canonical() const {
  return std::string_view(text).substr(std::size_t{lengths[0]} + lengths[1] + lengths[2] +
                                       lengths[3]);
}

RecordQueue::Push RecordQueue::push(PendingRecord record) {
  {
    const std::lock_guard lock(mutex_);
    ++handed_;
    if (stopping_) {
      ++settled_n_;
      return Push::kDropped;
    }
    if (queue_.size() >= capacity_) {
      ++settled_n_;
      overflow_.last_us = record.time_us;
      last_drop_ = std::chrono::steady_clock::now();
      if (overflow_.dropped++ > 0) return Push::kDropped;
      overflow_.first_us = record.time_us;
      overflowing_.store(true, std::memory_order_release);
      return Push::kOverflowStarted;
    }
    queue_.push_back(std::move(record));
  }
  ready_.notify_one();
  return Push::kQueued;
}

std::optional<QueueOverflow> RecordQueue::end_overflow(std::size_t queued_at_most,
                                                       std::chrono::steady_clock::duration quiet) {
  const std::lock_guard lock(mutex_);
  if (!overflowing_.load(std::memory_order_relaxed) || queue_.size() > queued_at_most ||
      std::chrono::steady_clock::now() - last_drop_ < quiet) {
    return std::nullopt;
  }
  const QueueOverflow ended = overflow_;
  overflow_ = QueueOverflow{};
  overflowing_.store(false, std::memory_order_release);
  return ended;
}

void RecordQueue::refuse() {
  const std::lock_guard lock(mutex_);
  ++handed_;
  ++settled_n_;
}

bool RecordQueue::wait_and_take(std::vector<PendingRecord>& out, std::size_t max,
                                std::chrono::milliseconds wait, bool want) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, wait, [&] { return stopping_ || (want && !queue_.empty()); });
  if (want) {
    const std::size_t n = std::min(queue_.size(), max);
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  return stopping_;
}

bool RecordQueue::take(std::vector<PendingRecord>& out, std::size_t max) {
  const std::lock_guard lock(mutex_);
  if (queue_.empty()) return false;
  const std::size_t n = std::min(queue_.size(), max);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return true;
}

bool RecordQueue::empty() const {
  const std::lock_guard lock(mutex_);
  return queue_.empty();
}

void RecordQueue::settle(std::size_t n) {
  {
    const std::lock_guard lock(mutex_);
    settled_n_ += n;
  }
  settled_.notify_all();
}

bool RecordQueue::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = handed_;
  ready_.notify_one();
  return settled_.wait_for(lock, timeout, [&] { return settled_n_ >= target; });
}

void RecordQueue::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
}

std::size_t RecordQueue::drop_all() {
  std::size_t dropped = 0;
  {
    const std::lock_guard lock(mutex_);
    dropped = queue_.size();
    queue_.clear();
    settled_n_ = handed_;
  }
  settled_.notify_all();
  return dropped;
}

}  // namespace wardgate::store
