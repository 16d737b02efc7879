#pragma once
// Where inspectors, policy, the tunnel and the store's own users send audit events: the durable
// store (store/audit_store.h), the JSON-lines mirror (LoggingSink), both through FanoutSink, or
// MemorySink in tests.
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
