#pragma once
// The gateway's denied flows, from observation to audit record: each common::FlowObservation
// (from nat::FlowLogReader) is attributed to a device (policy::DeviceRegistry::find by IPv4
// address: the source for flows from the VLAN, the destination for "deny-core" flows from the
// core), shown unaggregated to the observer (the policy engine), and passed through the
// policy::DeniedFlowAggregator, whose records become audit events of category "network":
// "flow-denied", "flow-denied-summary", "device-first-seen" (docs/audit-events.md).
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "audit/event.h"
#include "audit/sink.h"
#include "common/clock.h"
#include "common/flow_observation.h"
#include "policy/denied_flow_aggregator.h"
#include "policy/device_registry.h"

namespace wardgate::inspect {

class FlowAudit {
 public:
  // Every observation, before aggregation, with the device it was attributed to (null: none).
  // Called on the thread that calls on_observation(); `device` is valid only during the call.
  using Observer =
      std::function<void(const common::FlowObservation& flow, const policy::Device* device)>;

  FlowAudit(audit::AuditSink& sink, const policy::DeviceDirectory& devices,
            std::string appliance_id, const common::Clock& clock,
            policy::DeniedFlowLimits limits = {});

  void set_observer(Observer observer);
  // How loud a device-first-seen is: kWarning (default; unknown_devices deny/audit) or kNotice
  // (unknown_devices allow: guests are expected). Call before the first observation.
  void set_first_seen_severity(audit::Severity severity) { first_seen_severity_ = severity; }

  // One observation (FlowLogReader's callback). Thread-safe, as are tick() and flush().
  void on_observation(const common::FlowObservation& flow);
  // Ends the aggregation windows that have passed (their summaries): call every second or so.
  void tick();
  // Ends every window now (shutdown).
  void flush();

  policy::DeniedFlowAggregator::Stats stats() const;

  // The audit event of one aggregator record (exposed for tests and documentation).
  audit::Event to_event(const policy::DeniedFlowRecord& record) const;

 private:
  void emit(std::vector<policy::DeniedFlowRecord>& records);

  audit::AuditSink& sink_;
  const policy::DeviceDirectory& devices_;
  std::string appliance_id_;
  const common::Clock& clock_;
  std::chrono::seconds window_;
  Observer observer_;
  audit::Severity first_seen_severity_ = audit::Severity::kWarning;
  mutable std::mutex mutex_;
  policy::DeniedFlowAggregator aggregator_;
};

}  // namespace wardgate::inspect
