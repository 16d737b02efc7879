#include "export/atna_format.h"

#include <array>

namespace wardgate::exporter {
namespace {

constexpr std::string_view kBom = "\xef\xbb\xbf";

const std::string* string_field(const audit::Event& e, std::string_view key) {
  const audit::FieldValue* v = e.fields.find(key);
  if (v == nullptr) return nullptr;
  const auto* s = std::get_if<std::string>(v);
  return (s != nullptr && !s->empty()) ? s : nullptr;
}

std::string_view string_or(const audit::Event& e, std::string_view key, std::string_view fallback) {
  const std::string* s = string_field(e, key);
  return s != nullptr ? std::string_view(*s) : fallback;
}

bool action_is(const audit::Event& e, std::initializer_list<std::string_view> names) {
  for (auto n : names) {
    if (e.action == n) return true;
  }
  return false;
}

// XML 1.0 attribute or text content: markup characters as entities, characters XML 1.0 does not
// allow (C0 controls other than tab, LF, CR) and malformed UTF-8 as U+FFFD (via append_sd_value's
// UTF-8 check), at most kAtnaMaxValueBytes of input.
void append_xml(std::string& out, std::string_view value) {
  std::string clean;
  append_sd_value(clean, value.substr(0, kAtnaMaxValueBytes));
  for (std::size_t i = 0; i < clean.size(); ++i) {
    char c = clean[i];
    // append_sd_value escaped '"', '\' and ']' with a backslash: take the escaped character.
    if (c == '\\' && i + 1 < clean.size()) c = clean[++i];
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += "\xef\xbf\xbd";
        } else {
          out += c;
        }
    }
  }
}

void attr(std::string& out, std::string_view name, std::string_view value) {
  append_name_value(out, name, value, append_xml);
}

void coded(std::string& out, std::string_view element, std::string_view code,
           std::string_view system, std::string_view meaning) {
  out += '<';
  out += element;
  attr(out, "csd-code", code);
  attr(out, "codeSystemName", system);
  attr(out, "originalText", meaning);
  out += "/>";
}

void coded(std::string& out, std::string_view element, const AtnaCode& c) {
  coded(out, element, c.code, "DCM", c.meaning);
}

// PS3.15 A.5.1: 0 success, 4 minor failure, 8 serious failure, 12 major failure.
std::string_view outcome_indicator(audit::Outcome o) {
  switch (o) {
    case audit::Outcome::kSuccess:
      return "0";
    case audit::Outcome::kWarning:
      return "4";
    case audit::Outcome::kFailure:
    case audit::Outcome::kDenied:
      return "8";
  }
  return "8";
}

// "10.1.1.20:49152" -> "10.1.1.20".
std::string_view host_of(std::string_view endpoint) {
  const auto colon = endpoint.rfind(':');
  return colon == std::string_view::npos ? endpoint : endpoint.substr(0, colon);
}

void participant(std::string& out, std::string_view user, std::string_view ae, bool requestor,
                 std::string_view endpoint, const AtnaCode* role) {
  out += "<ActiveParticipant";
  attr(out, "UserID", user);
  if (!ae.empty()) attr(out, "AlternativeUserID", "AETITLES=" + std::string(ae));
  attr(out, "UserIsRequestor", requestor ? "true" : "false");
  if (!endpoint.empty()) {
    attr(out, "NetworkAccessPointID", host_of(endpoint));
    attr(out, "NetworkAccessPointTypeCode", "2");  // IP address
  }
  if (role != nullptr) {
    out += '>';
    coded(out, "RoleIDCode", *role);
    out += "</ActiveParticipant>";
  } else {
    out += "/>";
  }
}

constexpr AtnaCode kSourceRole{"110153", "Source Role ID"};
constexpr AtnaCode kDestinationRole{"110152", "Destination Role ID"};
constexpr AtnaCode kStudyUid{"110180", "Study Instance UID"};
constexpr AtnaCode kSopClassUid{"110181", "SOP Class UID"};

std::string base64(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < in.size()) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size())
      n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// The participant objects of a DICOM operation: study (with its SOP class), query, patient.
void dicom_objects(std::string& out, const audit::Event& e, const AtnaMapping& m) {
  const std::string* sop_class = string_field(e, "sop_class_uid");
  if (m.event_id == atna::kQuery && sop_class != nullptr) {
    out += "<ParticipantObjectIdentification";
    attr(out, "ParticipantObjectID", *sop_class);
    attr(out, "ParticipantObjectTypeCode", "2");
    attr(out, "ParticipantObjectTypeCodeRole", "3");
    out += '>';
    coded(out, "ParticipantObjectIDTypeCode", kSopClassUid);
    // wardgate never records query values, only which keys were asked (docs/audit-events.md):
    // the query is the base64 of those keywords separated by '\'.
    std::string keys;
    if (const audit::FieldValue* v = e.fields.find("query_keys")) {
      if (const auto* list = std::get_if<std::vector<std::string>>(v)) {
        for (const auto& k : *list) {
          if (!keys.empty()) keys += '\\';
          keys += k;
        }
      }
    }
    out += "<ParticipantObjectQuery>" + base64(keys) + "</ParticipantObjectQuery>";
    if (const std::string* level = string_field(e, "query_level")) {
      out += "<ParticipantObjectDetail";
      attr(out, "type", "QueryRetrieveLevel");
      attr(out, "value", base64(*level));
      out += "/>";
    }
    out += "</ParticipantObjectIdentification>";
  }
  if (const std::string* study = string_field(e, "study_instance_uid")) {
    out += "<ParticipantObjectIdentification";
    attr(out, "ParticipantObjectID", *study);
    attr(out, "ParticipantObjectTypeCode", "2");      // system object
    attr(out, "ParticipantObjectTypeCodeRole", "3");  // report
    out += '>';
    coded(out, "ParticipantObjectIDTypeCode", kStudyUid);
    if (sop_class != nullptr && m.event_id != atna::kQuery) {
      out += "<ParticipantObjectDescription><SOPClass";
      attr(out, "UID", *sop_class);
      attr(out, "NumberOfInstances", "1");
      out += "/></ParticipantObjectDescription>";
    }
    out += "</ParticipantObjectIdentification>";
  }
  if (const std::string* patient = string_field(e, "patient_id")) {
    out += "<ParticipantObjectIdentification";
    attr(out, "ParticipantObjectID", *patient);       // as audit.patient_data protected it
    attr(out, "ParticipantObjectTypeCode", "1");      // person
    attr(out, "ParticipantObjectTypeCodeRole", "1");  // patient
    out += '>';
    coded(out, "ParticipantObjectIDTypeCode", "2", "RFC-3881", "Patient Number");
    out += "</ParticipantObjectIdentification>";
  }
}

std::string build_xml(const audit::Event& e, const AtnaMapping& m, const AtnaOptions& options,
                      bool with_objects) {
  std::string out;
  out.reserve(1024);
  out += R"(<?xml version="1.0" encoding="UTF-8"?><AuditMessage><EventIdentification)";
  attr(out, "EventActionCode", std::string_view(&m.action_code, 1));
  attr(out, "EventDateTime", audit::format_time(e.time));
  attr(out, "EventOutcomeIndicator", outcome_indicator(e.outcome));
  out += '>';
  coded(out, "EventID", m.event_id);
  if (m.event_type) coded(out, "EventTypeCode", *m.event_type);
  if (e.outcome != audit::Outcome::kSuccess) {
    const std::string_view why =
        string_or(e, "reason", string_or(e, "detail", string_or(e, "error", to_string(e.outcome))));
    out += "<EventOutcomeDescription>";
    append_xml(out, why);
    out += "</EventOutcomeDescription>";
  }
  out += "</EventIdentification>";

  const bool dicom = e.category == "dicom";
  if (dicom) {
    const std::string_view client = string_or(e, "client", e.device);
    const std::string_view server = string_or(e, "server", "");
    const std::string_view calling = string_or(e, "calling_ae", "");
    const std::string_view called = string_or(e, "called_ae", "");
    const bool by_server = string_or(e, "requested_by", "device") == "server";
    const bool transfer = m.event_id == atna::kInstancesTransferred;
    // A C-STORE moves instances from the requestor to the other side.
    const AtnaCode* device_role =
        transfer ? (by_server ? &kDestinationRole : &kSourceRole) : nullptr;
    const AtnaCode* server_role =
        transfer ? (by_server ? &kSourceRole : &kDestinationRole) : nullptr;
    participant(out, calling.empty() ? client : calling, calling, !by_server, client, device_role);
    if (!server.empty() || !called.empty()) {
      participant(out, called.empty() ? server : called, called, by_server, server, server_role);
    }
  } else if (!e.device.empty()) {
    const std::string_view user = string_or(e, "user", e.device);
    participant(out, user, "", true, string_or(e, "client", ""), nullptr);
  }

  out += "<AuditSourceIdentification";
  if (!options.enterprise_site_id.empty()) {
    attr(out, "AuditEnterpriseSiteID", options.enterprise_site_id);
  }
  attr(out, "AuditSourceID", e.appliance_id.empty() ? "wardgate" : e.appliance_id);
  out += '>';
  coded(out, "AuditSourceTypeCode", "6", "DCM", "Security Server");  // RFC 3881 5.4: 6
  out += "</AuditSourceIdentification>";

  if (with_objects && dicom) dicom_objects(out, e, m);
  out += "</AuditMessage>";
  return out;
}

}  // namespace

std::optional<AtnaMapping> atna_mapping(const audit::Event& e) {
  if (action_is(e, {"security-alert", "protocol-violation"})) {
    return AtnaMapping{atna::kSecurityAlert, atna::kUseOfRestrictedFunction, 'E'};
  }
  if (e.category == "dicom" && e.action == "association-rejected" &&
      string_or(e, "rejected_by", "") == "wardgate") {
    return AtnaMapping{atna::kSecurityAlert, atna::kUseOfRestrictedFunction, 'E'};
  }
  if (e.category == "dicom" && e.action == "operation") {
    const std::string_view command = string_or(e, "command", "");
    // wardgate sees a transfer in transit and cannot know whether the receiver held copies
    // already (PS3.15 A.5.3.4: C or U): it reports R, the instances were read from the sender.
    if (command == "C-STORE") return AtnaMapping{atna::kInstancesTransferred, std::nullopt, 'R'};
    if (command == "C-MOVE" || command == "C-GET") {
      return AtnaMapping{atna::kBeginTransferring, std::nullopt, 'E'};
    }
    if (command == "C-FIND") return AtnaMapping{atna::kQuery, std::nullopt, 'E'};
    return std::nullopt;
  }
  if (e.category == "audit" && action_is(e, {"export-handshake-failed"})) {
    return AtnaMapping{atna::kSecurityAlert, atna::kNodeAuthentication, 'E'};
  }
  if (e.category == "audit" && action_is(e, {"export-certificate-expiring"})) {
    return AtnaMapping{atna::kSecurityAlert, atna::kSecurityConfiguration, 'E'};
  }
  if (e.category == "tunnel" && action_is(e, {"peer-up", "peer-connected"})) {
    return AtnaMapping{atna::kNetworkEntry, atna::kAttach, 'E'};
  }
  if (e.category == "tunnel" && action_is(e, {"peer-down", "peer-disconnected"})) {
    return AtnaMapping{atna::kNetworkEntry, atna::kDetach, 'E'};
  }
  if (action_is(e, {"started", "application-start"})) {
    return AtnaMapping{atna::kApplicationActivity, atna::kApplicationStart, 'E'};
  }
  if (action_is(e, {"stopped", "application-stop"})) {
    return AtnaMapping{atna::kApplicationActivity, atna::kApplicationStop, 'E'};
  }
  if (e.category == "admin" && action_is(e, {"login", "login-failed"})) {
    return AtnaMapping{atna::kUserAuthentication, atna::kLogin, 'E'};
  }
  if (e.category == "admin" && e.action == "logout") {
    return AtnaMapping{atna::kUserAuthentication, atna::kLogout, 'E'};
  }
  return std::nullopt;
}

std::optional<std::string> atna_xml(const audit::Event& event, const AtnaOptions& options) {
  const auto m = atna_mapping(event);
  if (!m) return std::nullopt;
  return build_xml(event, *m, options, true);
}

std::optional<std::string> format_atna(const store::StoredRecord& record,
                                       const AtnaOptions& options) {
  const auto m = atna_mapping(record.event);
  if (!m) return std::nullopt;
  SyslogOptions so = options.syslog;
  so.facility = Facility::kAuthPriv;
  // PS3.15 A.6: severity 5 (notice) for most messages, 4 (warning) where appropriate.
  const bool warn = record.event.outcome != audit::Outcome::kSuccess ||
                    record.event.severity == audit::Severity::kWarning ||
                    record.event.severity == audit::Severity::kAlert;
  std::string out =
      syslog_header(record, so, warn ? SyslogSeverity::kWarning : SyslogSeverity::kNotice,
                    kAtnaMsgId) +
      ' ';
  const std::size_t header_size = out.size();
  out += syslog_structured_data(record, so, false);
  out += ' ';
  out += kBom;
  out += build_xml(record.event, *m, options, true);
  if (out.size() <= kAtnaMaxMessageBytes) return out;
  out.resize(header_size);
  out += syslog_structured_data(record, so, false, "participants");
  out += ' ';
  out += kBom;
  out += build_xml(record.event, *m, options, false);
  return out;
}

}  // namespace wardgate::exporter
