#pragma once
// Keeps every event in memory: for tests of the code that produces events.
#include <mutex>
#include <vector>

#include "audit/sink.h"

namespace wardgate::audit {

class MemorySink : public AuditSink {
 public:
  void record(Event event) override {
    const std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }

  std::vector<Event> events() const {
    const std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Event> events_;
};

}  // namespace wardgate::audit
