#pragma once
// wardgate's configuration: one JSON document (docs/configuration.md), validated completely
// before anything is applied. load_config() throws ConfigError naming the key and the reason.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "app/config_reader.h"
#include "audit/patient_data.h"
#include "policy/device_registry.h"
#include "tunnel/tunnel_config.h"

namespace wardgate::app {

struct ServiceConfig {
  std::string name;  // shown in logs and audit events
  std::uint16_t port = 0;
  // Which inspector reads the connections: "dicom", "hl7" (byte counting until the HL7 decoder
  // lands) or "tcp" (byte counting only).
  std::string protocol = "tcp";
};

struct InterceptionConfig {
  std::vector<std::string> interfaces;  // imaging VLAN interfaces; empty: any interface
  std::vector<ServiceConfig> services;
  std::uint16_t listen_port = 15001;
  std::uint32_t fwmark = 1;
  std::uint32_t route_table = 100;
  std::uint32_t rule_priority = 1000;
  std::string nft_table = "wardgate";
};

struct ProxyConfig {
  unsigned threads = 0;  // 0: one per core
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::seconds idle_timeout{3600};
  std::chrono::seconds drain_timeout{10};
  std::uint32_t max_connections = 10000;
  std::uint32_t max_connections_per_device = 256;
  std::uint32_t chunk_bytes = 128 * 1024;
  std::uint32_t socket_buffer_bytes =
      0;                           // 0: kernel autotuning (checked to reach 10 Gbit/s x 1 ms)
  std::string congestion_control;  // empty: system default
  bool zero_copy = true;           // splice bytes no inspector needs to see
};

// The durable audit store (audit/store.h); every event goes there.
struct AuditStoreConfig {
  std::string path = "/var/lib/wardgate/audit.db";
  std::uint32_t retention_days = 184;  // 等保 2.0: at least six months
  std::uint32_t group_commit_ms = 50;
  std::uint32_t checkpoint_every_records = 10000;
  std::uint32_t checkpoint_every_s = 60;
  std::string signing_key_file = "/var/lib/wardgate/audit-signing-key";
  std::string on_failure = "fail-open";  // or "fail-closed"
  std::uint32_t min_free_mb = 256;
};

// One syslog destination of the audit store (audit.export[], docs/configuration.md); wardgate
// run starts one exporter per destination (app/audit_export_setup.h).
struct ExportDestinationConfig {
  std::string name;
  std::string transport = "tls";  // "udp", "tcp", "tls"
  std::string host;
  std::uint16_t port = 6514;       // default: 6514 for tls, 514 for udp and tcp
  std::string format = "rfc5424";  // or "atna"
  std::string facility = "audit";  // atna: always authpriv
  std::string client_cert;         // tls only, all three required
  std::string client_key;
  std::string ca_bundle;
  std::string crl_file;                    // tls, optional
  std::string server_name;                 // tls, optional: default host
  std::string pinned_sha256;               // tls, optional: 64 lower-case hex digits
  std::uint32_t max_message_bytes = 8192;  // atna default 32768
  std::uint32_t enterprise_number = 32473;
  std::string enterprise_site_id;  // atna AuditEnterpriseSiteID
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds confirm_delay{500};
  std::uint32_t max_unconfirmed = 65536;
  std::chrono::seconds backoff_max{30};
};

struct AuditConfig {
  // A mirror of the store for operators: "stderr", "off", or an absolute file path (JSON lines,
  // appended).
  std::string log = "stderr";
  AuditStoreConfig store;
  audit::PatientDataPolicy patient_data = audit::PatientDataPolicy::kKeyedHash;
  std::string secret_file = "/var/lib/wardgate/audit-secret";  // used by kKeyedHash
  std::vector<ExportDestinationConfig> exports;                // audit.export[]
};

// Limits of the DICOM decoder, and whether rule violations are enforced or only audited.
struct DicomConfig {
  bool enforce = true;  // false: violations are audited, the traffic goes on untouched
  std::uint32_t peek_bytes = 64 * 1024;
  std::uint32_t pdu_slack = 64 * 1024;
  std::uint32_t max_pdu_length = 16 * 1024 * 1024;
};

// Limits of the HL7 decoder, and whether devices[].hl7 rules are enforced or only audited.
struct Hl7Config {
  // false (default): a message the rules refuse is audited as a security alert and relayed;
  // true: wardgate answers the device with an AR (or CR) acknowledgement and drops the message.
  bool enforce = false;
  std::uint32_t max_message_size = 1024 * 1024;
  std::chrono::seconds ack_timeout{30};  // a message without an acknowledgement by then is reported
};

struct Config {
  std::string log_level = "info";
  std::string appliance_id;  // default: the host name
  InterceptionConfig interception;
  ProxyConfig proxy;
  AuditConfig audit;
  std::vector<policy::Device> devices;
  DicomConfig dicom;
  Hl7Config hl7;
  std::optional<tunnel::TunnelConfig> tunnel;  // absent: no WireGuard tunnel of wardgate's own
};

Config parse_config(const std::string& json_text, const std::string& source_name);
Config load_config_file(const std::string& path);

}  // namespace wardgate::app
