#include "inspect/flow_audit.h"

#include <array>
#include <cstdio>

namespace wardgate::inspect {
namespace {

constexpr const char* kCategory = "network";
// Denied flows from the core toward the VLAN; every other reason is a packet from the VLAN.
constexpr std::string_view kFromCore = "deny-core";
// A spoofed source is not a device that appeared: it stays out of the first-seen memory, whose
// entries are thereby bounded by the VLAN prefix.
constexpr std::string_view kSpoof = "spoof";
// Logged, not dropped: the first packets of an unregistered address under unknown_devices audit
// or allow (nat/gateway_rules.h log_prefix::kUnknownSeen).
constexpr std::string_view kUnknownSeen = "unknown-seen";

std::string mac_text(const std::array<std::uint8_t, 6>& mac) {
  std::array<char, 18> text{};
  std::snprintf(text.data(), text.size(), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
                mac[3], mac[4], mac[5]);
  return text.data();
}

bool is_icmp(const common::FlowObservation& f) {
  return f.protocol_name == "icmp" || f.protocol_name == "icmpv6";
}

void set_flow_fields(audit::Event& e, const common::FlowObservation& f) {
  e.fields.set("reason", f.reason);
  e.fields.set("source", f.source);
  e.fields.set("destination", f.destination);
  e.fields.set("protocol", f.protocol_name);
  if (is_icmp(f)) {
    if (!f.later_fragment) {
      e.fields.set("icmp_type", f.icmp_type);
      e.fields.set("icmp_code", f.icmp_code);
    }
  } else if (f.source_port != 0 || f.destination_port != 0) {
    e.fields.set("source_port", f.source_port);
    e.fields.set("destination_port", f.destination_port);
  }
  if (f.later_fragment) e.fields.set("fragment", true);
  if (f.has_mac) e.fields.set("mac", mac_text(f.source_mac));
  if (!f.in_ifname.empty()) e.fields.set("interface", f.in_ifname);
}

std::vector<std::string> counts_text(const std::map<std::string, std::uint64_t>& counts) {
  std::vector<std::string> out;
  out.reserve(counts.size());
  for (const auto& [name, n] : counts) out.push_back(name + ":" + std::to_string(n));
  return out;
}

}  // namespace

FlowAudit::FlowAudit(audit::AuditSink& sink, const policy::DeviceDirectory& devices,
                     std::string appliance_id, const common::Clock& clock,
                     policy::DeniedFlowLimits limits)
    : sink_(sink),
      devices_(devices),
      appliance_id_(std::move(appliance_id)),
      clock_(clock),
      window_(limits.window),
      aggregator_(clock, limits) {}

void FlowAudit::set_observer(Observer observer) { observer_ = std::move(observer); }

void FlowAudit::on_observation(const common::FlowObservation& flow) {
  const std::shared_ptr<const policy::DeviceRegistry> registry = devices_.snapshot();
  const bool from_core = flow.reason == kFromCore;
  const policy::Device* device = nullptr;
  if (flow.family == 4 && registry) {
    device = registry->find(from_core ? flow.destination_v4 : flow.source_v4);
  }
  if (observer_) observer_(flow, device);

  policy::FlowSource source;
  if (device != nullptr) source.device = device->name;
  if (from_core) {
    source.key = "core:" + flow.source;  // a core host, bounded per host whatever it targets
  } else if (device != nullptr) {
    source.key = device->name;
  } else {
    source.key = flow.source;
    source.unregistered = flow.family == 4 && flow.reason != kSpoof;
  }
  std::vector<policy::DeniedFlowRecord> records;
  const std::lock_guard lock(mutex_);
  if (flow.reason == kUnknownSeen) {
    aggregator_.seen(source, flow, records);
  } else {
    aggregator_.add(source, flow, records);
  }
  emit(records);
}

void FlowAudit::tick() {
  std::vector<policy::DeniedFlowRecord> records;
  const std::lock_guard lock(mutex_);
  aggregator_.expire(records);
  emit(records);
}

void FlowAudit::flush() {
  std::vector<policy::DeniedFlowRecord> records;
  const std::lock_guard lock(mutex_);
  aggregator_.flush(records);
  emit(records);
}

policy::DeniedFlowAggregator::Stats FlowAudit::stats() const {
  const std::lock_guard lock(mutex_);
  return aggregator_.stats();
}

void FlowAudit::emit(std::vector<policy::DeniedFlowRecord>& records) {
  for (const policy::DeniedFlowRecord& r : records) sink_.record(to_event(r));
}

audit::Event FlowAudit::to_event(const policy::DeniedFlowRecord& record) const {
  const common::FlowObservation& f = record.flow;
  const bool from_core = f.reason == kFromCore;
  // The device the flow concerns, else the address on the VLAN side of it; a summary of a core
  // host's flows (toward any number of devices) is that host's.
  std::string device = record.source.device;
  if (record.kind == policy::DeniedFlowRecord::Kind::kSummary && from_core) {
    device = f.source;
  } else if (device.empty()) {
    device = from_core ? f.destination : f.source;
  }
  using Kind = policy::DeniedFlowRecord::Kind;
  switch (record.kind) {
    case Kind::kFlow: {
      audit::Event e = audit::make_event(appliance_id_, std::move(device), kCategory, "flow-denied",
                                         audit::Outcome::kDenied, audit::Severity::kNotice);
      e.time = f.time;
      set_flow_fields(e, f);
      return e;
    }
    case Kind::kFirstSeen: {
      audit::Event e =
          audit::make_event(appliance_id_, std::move(device), kCategory, "device-first-seen",
                            audit::Outcome::kWarning, first_seen_severity_);
      e.time = f.time;
      set_flow_fields(e, f);
      return e;
    }
    case Kind::kSummary:
      break;
  }
  const policy::DeniedFlowSummary& s = record.summary;
  audit::Event e =
      audit::make_event(appliance_id_, std::move(device), kCategory, "flow-denied-summary",
                        audit::Outcome::kDenied, audit::Severity::kWarning);
  e.time = clock_.system_now();
  e.fields.set("source", f.source);
  if (f.has_mac) e.fields.set("mac", mac_text(f.source_mac));
  e.fields.set("flows", s.flows);
  e.fields.set("recorded_flows", s.recorded_flows);
  e.fields.set("packets", s.packets);
  e.fields.set("distinct_destinations", s.distinct_destinations);
  e.fields.set("distinct_destination_ports", s.distinct_destination_ports);
  e.fields.set("protocols", counts_text(s.packets_per_protocol));
  e.fields.set("reasons", counts_text(s.packets_per_reason));
  e.fields.set("first_time", audit::format_time(s.first));
  e.fields.set("last_time", audit::format_time(s.last));
  e.fields.set("window_s", static_cast<std::uint64_t>(window_.count()));
  if (s.estimated) e.fields.set("estimated", true);
  if (s.evicted) e.fields.set("evicted", true);
  return e;
}

}  // namespace wardgate::inspect
