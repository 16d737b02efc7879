#include "app/config.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "app/tunnel_config_reader.h"
#include "hl7/charset.h"
#include "policy/hl7_rules.h"

namespace wardgate::app {
namespace {

constexpr std::int64_t kMaxPort = 65535;
constexpr std::size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1

bool valid_name(const std::string& s, std::size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> read_interfaces(ObjectReader& r) {
  std::vector<std::string> out;
  const nlohmann::json* v = r.member("interfaces");
  if (v == nullptr) return out;
  if (!v->is_array()) r.fail("interfaces", "must be an array of interface names");
  for (std::size_t i = 0; i < v->size(); ++i) {
    const auto& item = (*v)[i];
    const std::string key = "interfaces[" + std::to_string(i) + "]";
    if (!item.is_string() || !valid_name(item.get<std::string>(), kMaxInterfaceName)) {
      r.fail(key, "must be an interface name of 1 to 15 letters, digits, '-', '_' or '.'");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<ServiceConfig> read_services(ObjectReader& r) {
  const nlohmann::json* v = r.member("services");
  if (v == nullptr) r.fail("services", "is required: the TCP ports to intercept");
  if (!v->is_array() || v->empty()) {
    r.fail("services", "must be a non-empty array of {\"name\": ..., \"port\": ...}");
  }
  std::vector<ServiceConfig> out;
  std::set<std::uint16_t> ports;
  for (std::size_t i = 0; i < v->size(); ++i) {
    ObjectReader s((*v)[i], r.path_of("services[" + std::to_string(i) + "]"));
    ServiceConfig svc;
    svc.name = s.string("name", "");
    if (!valid_name(svc.name, 32)) {
      s.fail("name", "must be 1 to 32 letters, digits, '-', '_' or '.'");
    }
    const nlohmann::json* port = s.member("port");
    if (port == nullptr) s.fail("port", "is required");
    svc.port = static_cast<std::uint16_t>(s.integer("port", 1, kMaxPort, 0));
    svc.protocol = s.choice("protocol", {"dicom", "hl7", "tcp"}, svc.protocol);
    s.reject_unknown_keys();
    if (!ports.insert(svc.port).second)
      s.fail("port", "port " + std::to_string(svc.port) + " is listed twice");
    out.push_back(svc);
  }
  return out;
}

InterceptionConfig read_interception(const nlohmann::json& j) {
  ObjectReader r(j, "interception");
  InterceptionConfig c;
  c.interfaces = read_interfaces(r);
  c.services = read_services(r);
  c.listen_port = static_cast<std::uint16_t>(r.integer("listen_port", 1, kMaxPort, c.listen_port));
  for (const auto& s : c.services) {
    if (s.port == c.listen_port) {
      r.fail("listen_port", "must differ from every intercepted service port (" +
                                std::to_string(c.listen_port) + " is service \"" + s.name + "\")");
    }
  }
  c.fwmark = static_cast<std::uint32_t>(r.integer("fwmark", 1, 0xffffffffLL, c.fwmark));
  // Tables 253-255 are the kernel's default, main and local tables.
  c.route_table = static_cast<std::uint32_t>(r.integer("route_table", 1, 252, c.route_table));
  c.rule_priority =
      static_cast<std::uint32_t>(r.integer("rule_priority", 1, 32765, c.rule_priority));
  c.nft_table = r.string("nft_table", c.nft_table);
  if (!valid_name(c.nft_table, 64)) {
    r.fail("nft_table", "must be 1 to 64 letters, digits, '-', '_' or '.'");
  }
  r.reject_unknown_keys();
  return c;
}

ProxyConfig read_proxy(const nlohmann::json* j) {
  ProxyConfig c;
  if (j == nullptr) return c;
  ObjectReader r(*j, "proxy");
  c.threads = static_cast<unsigned>(r.integer("threads", 0, 256, c.threads));
  c.connect_timeout = std::chrono::milliseconds(
      r.integer("connect_timeout_ms", 100, 600000, c.connect_timeout.count()));
  c.idle_timeout =
      std::chrono::seconds(r.integer("idle_timeout_s", 1, 7 * 86400, c.idle_timeout.count()));
  c.drain_timeout =
      std::chrono::seconds(r.integer("drain_timeout_s", 0, 3600, c.drain_timeout.count()));
  c.max_connections =
      static_cast<std::uint32_t>(r.integer("max_connections", 1, 1000000, c.max_connections));
  c.max_connections_per_device = static_cast<std::uint32_t>(
      r.integer("max_connections_per_device", 1, 1000000, c.max_connections_per_device));
  c.chunk_bytes =
      static_cast<std::uint32_t>(r.integer("chunk_bytes", 4096, 16 << 20, c.chunk_bytes));
  c.socket_buffer_bytes = static_cast<std::uint32_t>(
      r.integer("socket_buffer_bytes", 0, 256 << 20, c.socket_buffer_bytes));
  c.congestion_control = r.string("congestion_control", "");
  c.zero_copy = r.boolean("zero_copy", c.zero_copy);
  if (!c.congestion_control.empty() && !valid_name(c.congestion_control, 15)) {
    r.fail("congestion_control", "must be a congestion control name such as \"bbr\" or \"cubic\"");
  }
  r.reject_unknown_keys();
  if (c.max_connections_per_device > c.max_connections) {
    r.fail("max_connections_per_device", "must not exceed proxy.max_connections");
  }
  return c;
}

std::string host_name() {
  std::array<char, HOST_NAME_MAX + 1> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "wardgate";
  return buf.data();
}

std::string read_appliance_id(const nlohmann::json* j) {
  if (j == nullptr) return host_name();
  ObjectReader r(*j, "appliance");
  if (r.member("id") == nullptr) {
    r.reject_unknown_keys();
    return host_name();
  }
  std::string id = r.string("id", "");
  if (!valid_name(id, 64)) r.fail("id", "must be 1 to 64 letters, digits, '-', '_' or '.'");
  r.reject_unknown_keys();
  return id;
}

AuditStoreConfig read_audit_store(const nlohmann::json* j) {
  AuditStoreConfig c;
  if (j == nullptr) return c;
  ObjectReader r(*j, "audit.store");
  c.path = r.string("path", c.path);
  if (!absolute_path(c.path)) {
    r.fail("path",
           "must be the absolute path of a file (got " + shown(nlohmann::json(c.path)) + ")");
  }
  c.retention_days =
      static_cast<std::uint32_t>(r.integer("retention_days", 1, 36500, c.retention_days));
  c.group_commit_ms =
      static_cast<std::uint32_t>(r.integer("group_commit_ms", 1, 1000, c.group_commit_ms));
  c.checkpoint_every_records = static_cast<std::uint32_t>(
      r.integer("checkpoint_every_records", 0, 10000000, c.checkpoint_every_records));
  c.checkpoint_every_s =
      static_cast<std::uint32_t>(r.integer("checkpoint_every_s", 0, 86400, c.checkpoint_every_s));
  if (c.checkpoint_every_records == 0 && c.checkpoint_every_s == 0) {
    r.fail("checkpoint_every_s",
           "and checkpoint_every_records cannot both be 0: records would never be signed");
  }
  c.signing_key_file = r.string("signing_key_file", c.signing_key_file);
  if (!absolute_path(c.signing_key_file)) {
    r.fail("signing_key_file", "must be the absolute path of a file (got " +
                                   shown(nlohmann::json(c.signing_key_file)) + ")");
  }
  c.on_failure = r.choice("on_failure", {"fail-open", "fail-closed"}, c.on_failure);
  c.min_free_mb = static_cast<std::uint32_t>(r.integer("min_free_mb", 0, 1 << 20, c.min_free_mb));
  r.reject_unknown_keys();
  return c;
}

constexpr std::size_t kMaxExportDestinations = 16;

bool valid_host(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == ':';
  });
}

void require_absolute(ObjectReader& r, const std::string& key, const std::string& value) {
  if (!absolute_path(value)) {
    r.fail(key, "must be the absolute path of a file (got " + shown(nlohmann::json(value)) + ")");
  }
}

ExportDestinationConfig read_export(const nlohmann::json& j, const std::string& path) {
  ObjectReader r(j, path);
  ExportDestinationConfig c;
  c.name = r.string("name", "");
  if (!valid_name(c.name, 32)) r.fail("name", "must be 1 to 32 letters, digits, '-', '_' or '.'");
  c.transport = r.choice("transport", {"udp", "tcp", "tls"}, c.transport);
  const bool tls = c.transport == "tls";
  c.host = r.string("host", "");
  if (!valid_host(c.host)) {
    r.fail("host", "is required: the collector's host name or IP address (got " +
                       shown(nlohmann::json(c.host)) + ")");
  }
  c.port = static_cast<std::uint16_t>(r.integer("port", 1, kMaxPort, tls ? 6514 : 514));
  c.format = r.choice("format", {"rfc5424", "atna"}, c.format);
  const bool atna = c.format == "atna";
  c.facility = r.choice("facility",
                        {"auth", "authpriv", "audit", "local0", "local1", "local2", "local3",
                         "local4", "local5", "local6", "local7"},
                        atna ? "authpriv" : c.facility);
  if (atna && c.facility != "authpriv") {
    r.fail("facility", "must be authpriv with format atna (DICOM PS3.15 A.6: facility 10)");
  }
  const std::vector<std::string> tls_keys{"client_cert", "client_key",  "ca_bundle",
                                          "crl_file",    "server_name", "pinned_sha256"};
  if (!tls) {
    for (const auto& k : tls_keys) {
      if (r.member(k) != nullptr) r.fail(k, "is only for transport tls");
    }
  } else {
    c.client_cert = r.string("client_cert", "");
    c.client_key = r.string("client_key", "");
    c.ca_bundle = r.string("ca_bundle", "");
    for (const auto& [k, v] :
         {std::pair<std::string, const std::string*>{"client_cert", &c.client_cert},
          {"client_key", &c.client_key},
          {"ca_bundle", &c.ca_bundle}}) {
      if (v->empty()) r.fail(k, "is required with transport tls (mutual authentication)");
      require_absolute(r, k, *v);
    }
    c.crl_file = r.string("crl_file", "");
    if (!c.crl_file.empty()) require_absolute(r, "crl_file", c.crl_file);
    c.server_name = r.string("server_name", "");
    if (!c.server_name.empty() && !valid_host(c.server_name)) {
      r.fail("server_name", "must be a host name or IP address");
    }
    const std::string pin = r.string("pinned_sha256", "");
    for (char ch : pin) {
      if (ch == ':') continue;
      const bool hex =
          (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
      if (!hex) r.fail("pinned_sha256", "must be 64 hex digits, ':' separators allowed");
      c.pinned_sha256 += static_cast<char>(ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch);
    }
    if (!pin.empty() && c.pinned_sha256.size() != 64) {
      r.fail("pinned_sha256", "must be 64 hex digits (a SHA-256 fingerprint), got " +
                                  std::to_string(c.pinned_sha256.size()));
    }
  }
  c.max_message_bytes = static_cast<std::uint32_t>(
      r.integer("max_message_bytes", 1024, 65536, atna ? 32768 : c.max_message_bytes));
  if (atna && c.max_message_bytes < 32768) {
    r.fail("max_message_bytes", "must be at least 32768 with format atna (DICOM PS3.15 A.6)");
  }
  c.enterprise_number = static_cast<std::uint32_t>(
      r.integer("enterprise_number", 1, 0xffffffffLL, c.enterprise_number));
  c.enterprise_site_id = r.string("enterprise_site_id", "");
  if (c.enterprise_site_id.size() > 64) r.fail("enterprise_site_id", "must be at most 64 bytes");
  c.connect_timeout = std::chrono::milliseconds(
      r.integer("connect_timeout_ms", 100, 600000, c.connect_timeout.count()));
  c.write_timeout = std::chrono::milliseconds(
      r.integer("write_timeout_ms", 100, 600000, c.write_timeout.count()));
  c.confirm_delay =
      std::chrono::milliseconds(r.integer("confirm_delay_ms", 0, 60000, c.confirm_delay.count()));
  c.max_unconfirmed =
      static_cast<std::uint32_t>(r.integer("max_unconfirmed", 1, 10000000, c.max_unconfirmed));
  c.backoff_max = std::chrono::seconds(r.integer("backoff_max_s", 1, 3600, c.backoff_max.count()));
  r.reject_unknown_keys();
  return c;
}

std::vector<ExportDestinationConfig> read_exports(ObjectReader& r) {
  std::vector<ExportDestinationConfig> out;
  const nlohmann::json* v = r.member("export");
  if (v == nullptr) return out;
  if (!v->is_array()) r.fail("export", "must be an array of syslog destinations");
  if (v->size() > kMaxExportDestinations) {
    r.fail("export", "at most " + std::to_string(kMaxExportDestinations) + " destinations");
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const std::string key = "export[" + std::to_string(i) + "]";
    if (!(*v)[i].is_object()) r.fail(key, "must be an object");
    auto d = read_export((*v)[i], r.path_of(key));
    if (!names.insert(d.name).second) {
      r.fail(key + ".name", "destination \"" + d.name + "\" is listed twice");
    }
    out.push_back(std::move(d));
  }
  return out;
}

AuditConfig read_audit(const nlohmann::json* j) {
  AuditConfig c;
  if (j == nullptr) return c;
  ObjectReader r(*j, "audit");
  c.log = r.string("log", c.log);
  if (c.log != "stderr" && c.log != "off" && !absolute_path(c.log)) {
    r.fail("log", "must be \"stderr\", \"off\" or the absolute path of a file (got " +
                      shown(nlohmann::json(c.log)) + ")");
  }
  c.store = read_audit_store(r.member("store"));
  const std::string policy =
      r.choice("patient_data", {"plain", "keyed-hash", "omit"}, audit::to_string(c.patient_data));
  c.patient_data = *audit::parse_patient_data_policy(policy);
  c.secret_file = r.string("secret_file", c.secret_file);
  if (!absolute_path(c.secret_file)) {
    r.fail("secret_file", "must be the absolute path of a file (got " +
                              shown(nlohmann::json(c.secret_file)) + ")");
  }
  c.exports = read_exports(r);
  r.reject_unknown_keys();
  return c;
}

// PS3.5 6.2, VR AE: at most 16 characters of the Default Character Repertoire (printable ASCII
// here) without backslash or control characters, not only spaces. Leading and trailing spaces
// are not significant and are removed.
std::optional<std::string> ae_title(const std::string& s) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  for (char c : s) {
    if (c < 0x20 || c > 0x7e || c == '\\') return std::nullopt;
  }
  const std::string_view trimmed = policy::trim_ae_title(s);
  if (trimmed.empty()) return std::nullopt;
  return std::string(trimmed);
}

// PS3.5 9.1: components of digits separated by '.', no leading zero in a component, at most 64
// characters.
std::optional<std::string> uid(const std::string& s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  std::size_t start = 0;
  while (true) {
    std::size_t end = s.find('.', start);
    if (end == std::string::npos) end = s.size();
    if (end == start) return std::nullopt;
    if (end - start > 1 && s[start] == '0') return std::nullopt;
    for (std::size_t i = start; i < end; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
    }
    if (end == s.size()) return s;
    start = end + 1;
  }
}

std::optional<std::string> operation(const std::string& s) {
  const auto names = policy::operation_names();
  if (std::find(names.begin(), names.end(), s) == names.end()) return std::nullopt;
  return s;
}

std::optional<std::string> message_type(const std::string& s) {
  if (!policy::valid_message_type_pattern(s)) return std::nullopt;
  return s;
}

// An HD value as MSH-5 carries it (components joined by '^'): printable, no field separator.
std::optional<std::string> application(const std::string& s) {
  if (s.empty() || s.size() > 227) return std::nullopt;
  for (const unsigned char c : s) {
    if (c < 0x20 || c == 0x7F || c == '|') return std::nullopt;
  }
  return s;
}

// An optional list of strings, each checked (and normalised) by `check`; `what` says what an
// item must be. Repeated items are refused.
std::optional<std::vector<std::string>> read_list(
    ObjectReader& r, const std::string& key,
    std::optional<std::string> (*check)(const std::string&), const std::string& what) {
  const nlohmann::json* v = r.member(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_array()) r.fail(key, "must be an array (got " + shown(*v) + ")");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const auto& item = (*v)[i];
    const std::string item_key = key + "[" + std::to_string(i) + "]";
    std::optional<std::string> value;
    if (item.is_string()) value = check(item.get<std::string>());
    if (!value) r.fail(item_key, "must be " + what + " (got " + shown(item) + ")");
    if (std::find(out.begin(), out.end(), *value) != out.end()) {
      r.fail(item_key, *value + " is listed twice");
    }
    out.push_back(std::move(*value));
  }
  return out;
}

policy::DicomRules read_dicom_rules(const nlohmann::json& j, const std::string& path) {
  ObjectReader r(j, path);
  const std::string ae =
      "an AE title: 1 to 16 printable ASCII characters, no backslash, not only spaces";
  std::string operations;
  for (auto name : policy::operation_names()) {
    operations += (operations.empty() ? "" : ", ") + std::string(name);
  }
  policy::DicomRules rules;
  rules.allowed_calling_ae = read_list(r, "allowed_calling_ae", ae_title, ae);
  rules.allowed_called_ae = read_list(r, "allowed_called_ae", ae_title, ae);
  rules.allowed_sop_classes = read_list(
      r, "allowed_sop_classes", uid,
      "a UID: up to 64 digits and dots, no empty component, no leading zero in a component");
  rules.allowed_operations = read_list(r, "allowed_operations", operation, "one of " + operations);
  rules.allowed_move_destinations = read_list(r, "allowed_move_destinations", ae_title, ae);
  r.reject_unknown_keys();
  return rules;
}

policy::Hl7Rules read_hl7_rules(const nlohmann::json& j, const std::string& path) {
  ObjectReader r(j, path);
  policy::Hl7Rules rules;
  rules.allowed_message_types =
      read_list(r, "allowed_message_types", message_type,
                "a message type and trigger such as \"ORU^R01\", or \"ADT\" / \"ADT^*\" for every "
                "trigger of a type");
  rules.allowed_receiving_applications =
      read_list(r, "allowed_receiving_applications", application,
                "an MSH-5 value or its first component: 1 to 227 printable characters, no '|'");
  rules.default_charset = r.string("default_charset", "");
  if (!rules.default_charset.empty() && !hl7::resolve_charset(rules.default_charset)) {
    r.fail("default_charset",
           "must be an MSH-18 character set such as \"ASCII\", \"8859/1\", \"UNICODE UTF-8\", "
           "\"GB 18030\" (got " +
               shown(nlohmann::json(rules.default_charset)) + ")");
  }
  r.reject_unknown_keys();
  return rules;
}

std::vector<policy::Device> read_devices(ObjectReader& root) {
  std::vector<policy::Device> out;
  const nlohmann::json* v = root.member("devices");
  if (v == nullptr) return out;
  if (!v->is_array()) root.fail("devices", R"(must be an array of {"name", "address", "type"})");
  std::map<std::string, std::string> names;      // name -> its key path
  std::map<std::uint32_t, std::string> holders;  // address -> device name
  for (std::size_t i = 0; i < v->size(); ++i) {
    const std::string path = root.path_of("devices[" + std::to_string(i) + "]");
    ObjectReader r((*v)[i], path);
    policy::Device d;
    if (r.member("name") == nullptr) r.fail("name", "is required");
    d.name = r.string("name", "");
    if (!valid_name(d.name, 64)) r.fail("name", "must be 1 to 64 letters, digits, '-', '_' or '.'");
    if (r.member("address") == nullptr) r.fail("address", "is required");
    const std::string address = r.string("address", "");
    const auto parsed = policy::parse_ipv4(address);
    if (!parsed) {
      r.fail("address", "must be an IPv4 address such as \"10.1.1.20\" (got " +
                            shown(nlohmann::json(address)) + ")");
    }
    d.address = *parsed;
    if (r.member("type") == nullptr) {
      r.fail("type", "is required: modality, monitor, workstation or other");
    }
    d.type = *policy::parse_device_type(
        r.choice("type", {"modality", "monitor", "workstation", "other"}, ""));
    if (const nlohmann::json* dicom = r.member("dicom")) {
      d.dicom = read_dicom_rules(*dicom, r.path_of("dicom"));
    }
    if (const nlohmann::json* hl7 = r.member("hl7")) d.hl7 = read_hl7_rules(*hl7, r.path_of("hl7"));
    r.reject_unknown_keys();
    if (const auto [it, fresh] = names.emplace(d.name, path); !fresh) {
      r.fail("name", d.name + " is already the name of " + it->second);
    }
    if (const auto [it, fresh] = holders.emplace(d.address, d.name); !fresh) {
      r.fail("address", address + " is already the address of device " + it->second);
    }
    out.push_back(std::move(d));
  }
  return out;
}

DicomConfig read_dicom(const nlohmann::json* j) {
  DicomConfig c;
  if (j == nullptr) return c;
  ObjectReader r(*j, "dicom");
  c.enforce = r.boolean("enforce", c.enforce);
  c.peek_bytes = static_cast<std::uint32_t>(r.integer("peek_bytes", 0, 1 << 20, c.peek_bytes));
  c.pdu_slack = static_cast<std::uint32_t>(r.integer("pdu_slack", 0, 16 << 20, c.pdu_slack));
  c.max_pdu_length =
      static_cast<std::uint32_t>(r.integer("max_pdu_length", 16384, 1 << 30, c.max_pdu_length));
  r.reject_unknown_keys();
  return c;
}

Hl7Config read_hl7(const nlohmann::json* j) {
  Hl7Config c;
  if (j == nullptr) return c;
  ObjectReader r(*j, "hl7");
  c.enforce = r.boolean("enforce", c.enforce);
  c.max_message_size = static_cast<std::uint32_t>(
      r.integer("max_message_size", 1024, std::int64_t{256} << 20, c.max_message_size));
  c.ack_timeout = std::chrono::seconds(r.integer("ack_timeout_s", 1, 86400, c.ack_timeout.count()));
  r.reject_unknown_keys();
  return c;
}

}  // namespace

Config parse_config(const std::string& json_text, const std::string& source_name) {
  const nlohmann::json doc = parse_json(json_text, source_name);
  ObjectReader root(doc, "");
  Config c;
  c.log_level = root.choice(
      "log_level", {"trace", "debug", "info", "warn", "error", "critical", "off"}, c.log_level);
  const nlohmann::json* interception = root.member("interception");
  if (interception == nullptr) root.fail("interception", "is required");
  c.interception = read_interception(*interception);
  c.proxy = read_proxy(root.member("proxy"));
  c.appliance_id = read_appliance_id(root.member("appliance"));
  c.audit = read_audit(root.member("audit"));
  c.devices = read_devices(root);
  c.dicom = read_dicom(root.member("dicom"));
  c.hl7 = read_hl7(root.member("hl7"));
  c.tunnel = read_tunnel(root.member("tunnel"));
  root.reject_unknown_keys();
  return c;
}

Config load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return parse_config(text.str(), path);
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    // Key paths get the file name in front; JSON syntax errors already carry it.
    if (what.rfind(path, 0) == 0) throw;
    throw ConfigError(path + ": " + what);
  }
}

}  // namespace wardgate::app
