#pragma once
// Where inspectors and policy send audit events. Today: LoggingSink (one JSON line per event);
// later the durable store (hash chain) behind the same interface.
#include "audit/event.h"

namespace wardgate::audit {

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Thread-safe: called concurrently from any proxy worker thread. Never throws on the data path
  // (failures to write are the sink's to report) and does not wait on a peer or a disk flush
  // longer than a local write takes.
  virtual void record(Event event) = 0;
};

}  // namespace wardgate::audit
