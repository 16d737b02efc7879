#include "export/export_section.h"

#include <algorithm>
#include <set>

#include "common/json_reader.h"

namespace wardgate::exporter {
namespace {

using common::ObjectReader;
using common::shown;

constexpr std::size_t kMaxExportDestinations = 16;
constexpr std::int64_t kMaxPort = 65535;
constexpr std::uint32_t kDefaultEnterpriseNumber = 32473;  // as documented for audit.export[]
constexpr std::size_t kAtnaMessageBytes = 32768;           // DICOM PS3.15 A.6

bool valid_host(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == ':';
  });
}

void read_tls(ObjectReader& r, TransportOptions& t) {
  t.tls.certificate = r.string("client_cert", "");
  t.tls.private_key = r.string("client_key", "");
  t.tls.ca_bundle = r.string("ca_bundle", "");
  for (const auto& [k, v] :
       {std::pair<std::string, const std::string*>{"client_cert", &t.tls.certificate},
        {"client_key", &t.tls.private_key},
        {"ca_bundle", &t.tls.ca_bundle}}) {
    if (v->empty()) r.fail(k, "is required with transport tls (mutual authentication)");
    r.require_absolute_path(k, *v);
  }
  t.tls.crl_file = r.string("crl_file", "");
  if (!t.tls.crl_file.empty()) r.require_absolute_path("crl_file", t.tls.crl_file);
  t.server_name = r.string("server_name", "");
  if (!t.server_name.empty() && !valid_host(t.server_name)) {
    r.fail("server_name", "must be a host name or IP address");
  }
  const std::string pin = r.string("pinned_sha256", "");
  for (char ch : pin) {
    if (ch == ':') continue;
    const bool hex =
        (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
    if (!hex) r.fail("pinned_sha256", "must be 64 hex digits, ':' separators allowed");
    t.pinned_sha256 += static_cast<char>(ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch);
  }
  if (!pin.empty() && t.pinned_sha256.size() != 64) {
    r.fail("pinned_sha256", "must be 64 hex digits (a SHA-256 fingerprint), got " +
                                std::to_string(t.pinned_sha256.size()));
  }
}

}  // namespace

ExporterOptions read_export_destination(const nlohmann::json& object, const std::string& path) {
  ObjectReader r(object, path);
  ExporterOptions o;
  TransportOptions& t = o.transport;
  o.name = r.string("name", "");
  if (!common::valid_name(o.name, 32)) {
    r.fail("name", "must be 1 to 32 letters, digits, '-', '_' or '.'");
  }
  t.kind = r.choice("transport", {TransportKind::kUdp, TransportKind::kTcp, TransportKind::kTls},
                    TransportKind::kTls);
  const bool tls = t.kind == TransportKind::kTls;
  t.host = r.string("host", "");
  if (!valid_host(t.host)) {
    r.fail("host", "is required: the collector's host name or IP address (got " +
                       shown(nlohmann::json(t.host)) + ")");
  }
  t.port = static_cast<std::uint16_t>(
      r.integer("port", 1, kMaxPort, tls ? kSyslogTlsPort : kSyslogPort));
  o.format = r.choice("format", {ExportFormat::kRfc5424, ExportFormat::kAtna}, o.format);
  const bool atna = o.format == ExportFormat::kAtna;
  o.syslog.facility =
      r.choice("facility",
               {Facility::kAuth, Facility::kAuthPriv, Facility::kLogAudit, Facility::kLocal0,
                Facility::kLocal1, Facility::kLocal2, Facility::kLocal3, Facility::kLocal4,
                Facility::kLocal5, Facility::kLocal6, Facility::kLocal7},
               atna ? Facility::kAuthPriv : Facility::kLogAudit);
  if (atna && o.syslog.facility != Facility::kAuthPriv) {
    r.fail("facility", "must be authpriv with format atna (DICOM PS3.15 A.6: facility 10)");
  }
  if (tls) {
    read_tls(r, t);
  } else {
    for (const char* k :
         {"client_cert", "client_key", "ca_bundle", "crl_file", "server_name", "pinned_sha256"}) {
      if (r.member(k) != nullptr) r.fail(k, "is only for transport tls");
    }
  }
  o.syslog.max_message_bytes = static_cast<std::size_t>(
      r.integer("max_message_bytes", static_cast<std::int64_t>(kMinMessageBytes),
                static_cast<std::int64_t>(kMaxMessageBytes),
                static_cast<std::int64_t>(atna ? kAtnaMessageBytes : o.syslog.max_message_bytes)));
  if (atna && o.syslog.max_message_bytes < kAtnaMessageBytes) {
    r.fail("max_message_bytes", "must be at least 32768 with format atna (DICOM PS3.15 A.6)");
  }
  o.syslog.enterprise_number = static_cast<std::uint32_t>(
      r.integer("enterprise_number", 1, 0xffffffffLL, kDefaultEnterpriseNumber));
  o.enterprise_site_id = r.string("enterprise_site_id", "");
  if (o.enterprise_site_id.size() > 64) r.fail("enterprise_site_id", "must be at most 64 bytes");
  t.connect_timeout = std::chrono::milliseconds(
      r.integer("connect_timeout_ms", 100, 600000, t.connect_timeout.count()));
  t.write_timeout = std::chrono::milliseconds(
      r.integer("write_timeout_ms", 100, 600000, t.write_timeout.count()));
  o.confirm_delay =
      std::chrono::milliseconds(r.integer("confirm_delay_ms", 0, 60000, o.confirm_delay.count()));
  o.max_unconfirmed = static_cast<std::size_t>(
      r.integer("max_unconfirmed", 1, 10000000, static_cast<std::int64_t>(o.max_unconfirmed)));
  o.backoff_max = std::chrono::seconds(
      r.integer("backoff_max_s", 1, 3600,
                std::chrono::duration_cast<std::chrono::seconds>(o.backoff_max).count()));
  r.reject_unknown_keys();
  return o;
}

std::vector<ExporterOptions> read_export_section(const nlohmann::json* section) {
  const std::string path = "audit.export";
  std::vector<ExporterOptions> out;
  if (section == nullptr) return out;
  const auto fail = [&path](const std::string& key, const std::string& reason) {
    throw common::ConfigError(path + key + ": " + reason);
  };
  if (!section->is_array()) fail("", "must be an array of syslog destinations");
  if (section->size() > kMaxExportDestinations) {
    fail("", "at most " + std::to_string(kMaxExportDestinations) + " destinations");
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < section->size(); ++i) {
    const std::string key = "[" + std::to_string(i) + "]";
    if (!(*section)[i].is_object()) fail(key, "must be an object");
    auto d = read_export_destination((*section)[i], path + key);
    if (!names.insert(d.name).second) {
      fail(key + ".name", "destination \"" + d.name + "\" is listed twice");
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace wardgate::exporter
