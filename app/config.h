#pragma once
// wardgate's configuration: one JSON document (docs/configuration.md), validated completely
// before anything is applied. Each module reads its own section into its own options; this file
// composes the document: the top-level keys, the appliance id, and what one section tells
// another (the services' listener and protocols for the proxy, the appliance id for the store,
// the exporters and the inspectors). load_config_file() throws ConfigError naming the key and the
// reason.
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_section.h"
#include "audit/event_budget_section.h"
#include "common/json_reader.h"
#include "export/syslog_exporter.h"
#include "inspect/dicom_section.h"
#include "inspect/hl7_section.h"
#include "nat/gateway_section.h"
#include "nat/interception_section.h"
#include "policy/device_registry.h"
#include "proxy/proxy_section.h"
#include "store/audit_store.h"
#include "tunnel/tunnel_config.h"

namespace wardgate::app {

using common::ConfigError;

struct AuditConfig {
  audit::AuditOptions options;                     // log mirror, patient-data protection
  audit::EventBudgetOptions budget;                // audit.event_budget
  store::StoreOptions store;                       // audit.store
  std::vector<exporter::ExporterOptions> exports;  // audit.export[]: one exporter each
};

struct Config {
  std::string log_level = "info";
  std::string appliance_id;  // default: the host name
  nat::InterceptionOptions interception;
  proxy::ProxySection proxy;  // listen_port and services filled in from interception
  AuditConfig audit;
  std::vector<policy::Device> devices;
  inspect::DicomSection dicom;
  inspect::Hl7Section hl7;
  std::optional<tunnel::TunnelConfig> tunnel;  // absent: no WireGuard tunnel of wardgate's own
  // gateway + nat: forwarding owned by wardgate (default deny, fail closed, 1:1 NAT). Absent:
  // interception only, forwarding left to the host (not fail-closed).
  std::optional<nat::GatewayOptions> gateway;
};

// The devices as nat/ sees them (name, type, address, published ports), for the gateway's plan.
std::vector<nat::DeviceName> gateway_devices(const std::vector<policy::Device>& devices);

Config parse_config(const std::string& json_text, const std::string& source_name);
Config load_config_file(const std::string& path);
// For subcommands: load_config_file(), or nullopt after saying on stderr why the file was refused.
std::optional<Config> load_config_or_explain(const std::string& path);

}  // namespace wardgate::app
