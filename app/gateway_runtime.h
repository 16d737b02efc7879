#pragma once
// What `wardgate run` does for the gateway (config `gateway`/`nat`) besides proxying: puts the
// forwarding policy into the kernel (atomically, never removed at exit: fail closed), keeps a
// running bypass across the replacement, and reads the denied flows into the audit trail.
#include <memory>
#include <string>

#include "app/config.h"
#include "app/flow_log_service.h"
#include "audit/sink.h"
#include "common/metrics.h"
#include "inspect/flow_audit.h"
#include "nat/gateway_rules.h"
#include "policy/device_registry.h"

namespace wardgate::app {

class GatewayRuntime {
 public:
  // `config.gateway` must be set.
  GatewayRuntime(const Config& config, audit::AuditSink& sink, common::MetricsRegistry& metrics);
  ~GatewayRuntime() { stop(); }
  GatewayRuntime(const GatewayRuntime&) = delete;
  GatewayRuntime& operator=(const GatewayRuntime&) = delete;

  // Installs the ruleset, then starts reading denied flows. Empty on success; on failure the
  // previous policy (if any) stays in force.
  std::string start();
  // Stops reading; the ruleset stays in the kernel.
  void stop();

  const nat::GatewayPlan& plan() const { return plan_; }
  // Whether a bypass element is in the kernel now.
  bool bypass_active() const;
  // One line for the log: devices, services, flows, NAT.
  std::string describe() const;

 private:
  nat::GatewayPlan plan_;
  policy::DeviceDirectory devices_;
  inspect::FlowAudit flow_audit_;
  FlowLogService flow_log_;
};

}  // namespace wardgate::app
