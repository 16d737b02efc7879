#pragma once
// Hands every event to several sinks: the durable store and, for operators, the JSON-lines mirror
// (audit.log).
#include <vector>

#include "audit/sink.h"

namespace wardgate::audit {

class FanoutSink : public AuditSink {
 public:
  // The sinks must outlive this object.
  explicit FanoutSink(std::vector<AuditSink*> sinks) : sinks_(std::move(sinks)) {}

  void record(Event event) override {
    for (std::size_t i = 0; i + 1 < sinks_.size(); ++i) sinks_[i]->record(event);
    if (!sinks_.empty()) sinks_.back()->record(std::move(event));
  }

 private:
  std::vector<AuditSink*> sinks_;
};

}  // namespace wardgate::audit
