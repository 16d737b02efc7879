#include "app/gateway_runtime.h"

#include <spdlog/spdlog.h>

#include "nat/gateway_setup.h"

namespace wardgate::app {

GatewayRuntime::GatewayRuntime(const Config& config, audit::AuditSink& sink,
                               common::MetricsRegistry& metrics)
    : plan_(nat::make_gateway_plan(*config.gateway, gateway_devices(config.devices),
                                   config.interception)),
      devices_(std::make_shared<const policy::DeviceRegistry>(config.devices)),
      flow_audit_(sink, devices_, config.appliance_id, common::SystemClock::instance()),
      flow_log_(flow_audit_, metrics) {
  if (config.gateway->unknown_devices == nat::UnknownDevices::allow) {
    flow_audit_.set_first_seen_severity(audit::Severity::kNotice);
  }
}

std::string GatewayRuntime::start() {
  // install_gateway() replaces the table atomically and carries a running bypass over with its
  // remaining time, so a restart neither ends nor extends it.
  if (auto error = nat::install_gateway(plan_); !error.empty()) return error;
  if (auto error = flow_log_.start(plan_.log_group); !error.empty()) {
    // The policy is in force (denied flows are still dropped); only their records are missing.
    spdlog::error("{}: denied flows are dropped but not recorded", error);
  }
  return {};
}

void GatewayRuntime::stop() { flow_log_.stop(); }

bool GatewayRuntime::bypass_active() const {
  return !nat::list_bypass(plan_.table).entries.empty();
}

std::string GatewayRuntime::describe() const {
  std::string out =
      "gateway on VLAN " + plan_.vlan_prefix.to_string() + ": " +
      std::to_string(plan_.devices.size()) + " devices, " +
      std::to_string(plan_.pass_through.size() + plan_.echo.size() + plan_.echo_to_gateway.size()) +
      " pass-through flow elements, " + std::to_string(plan_.published.size()) +
      " published services, unknown devices " + (plan_.intercept_unknown ? "proxied" : "denied");
  if (plan_.nat) {
    out += ", VLAN presented to the core as " + plan_.nat->to.to_string();
  }
  return out + "; default deny, fail closed";
}

}  // namespace wardgate::app
