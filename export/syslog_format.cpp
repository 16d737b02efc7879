#include "export/syslog_format.h"

#include <sys/timex.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <type_traits>

namespace wardgate::exporter {
namespace {

constexpr std::string_view kBom = "\xef\xbb\xbf";  // RFC 5424 section 6.4: MSG-UTF8 = BOM ...
constexpr std::string_view kNil = "-";

// RFC 5424 section 6: header fields are PRINTUSASCII (33..126); anything else becomes '_'.
void append_header_field(std::string& out, std::string_view value, std::size_t cap) {
  if (value.empty()) {
    out += kNil;
    return;
  }
  const std::size_t n = std::min(value.size(), cap);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    out += (c >= 33 && c <= 126) ? static_cast<char>(c) : '_';
  }
}

// SD-NAME (RFC 5424 section 6.3.3): 1 to 32 PRINTUSASCII except '=', SP, ']', '"'.
bool valid_sd_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxSdName) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 33 && c <= 126 && c != '=' && c != ']' && c != '"';
  });
}

void append_param(std::string& out, std::string_view name, std::string_view value) {
  append_name_value(out, name, value, append_sd_value);
}

template <typename T>
std::string number(T v) {
  std::array<char, 32> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), r.ptr);
}

void append_field(std::string& out, const audit::Field& field) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          append_param(out, field.key, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          append_param(out, field.key, v ? "true" : "false");
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          for (const auto& item : v) append_param(out, field.key, item);
        } else {
          append_param(out, field.key, number(v));
        }
      },
      field.value);
}

// The longest prefix of `s` of at most `cap` bytes that ends at a UTF-8 character boundary.
std::string_view utf8_prefix(std::string_view s, std::size_t cap) {
  if (s.size() <= cap) return s;
  std::size_t end = cap;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
  return s.substr(0, end);
}

std::string structured_data(const store::StoredRecord& record, const SyslogOptions& options,
                            bool with_fields, std::string_view truncated) {
  const std::string pen = number(options.enterprise_number);
  const audit::Event& e = record.event;
  std::string out;
  out.reserve(512);
  out += "[meta";
  append_param(out, "sequenceId", number((record.seq - 1) % kMaxSequenceId + 1));
  out += "][origin";
  if (!options.origin_ip.empty()) append_param(out, "ip", options.origin_ip);
  append_param(out, "software", options.software.substr(0, kMaxAppName));
  if (!options.sw_version.empty()) {
    append_param(out, "swVersion", options.sw_version.substr(0, kMaxAppName));
  }
  append_param(out, "enterpriseId", pen);
  out += "][timeQuality";
  append_param(out, "tzKnown", "1");
  append_param(out, "isSynced", options.clock_synced ? "1" : "0");
  out += "][wardgate@" + pen;
  append_param(out, "seq", number(record.seq));
  // Bounded like the header's HOSTNAME, so the core structured data always fits a message; cut
  // between characters, so that the value read back is a prefix of the stored one.
  append_param(out, "appliance", utf8_prefix(e.appliance_id, kMaxHostname));
  append_param(out, "device", utf8_prefix(e.device, kMaxHostname));
  append_param(out, "category", e.category);
  append_param(out, "action", e.action);
  append_param(out, "outcome", to_string(e.outcome));
  append_param(out, "severity", to_string(e.severity));
  if (!truncated.empty()) append_param(out, "truncated", truncated);
  out += ']';
  if (with_fields && !e.fields.empty()) {
    out += "[wardgateFields@" + pen;
    for (const auto& field : e.fields) {
      if (valid_sd_name(field.key)) append_field(out, field);
    }
    out += ']';
  }
  return out;
}

}  // namespace

namespace {

constexpr std::array<std::pair<std::string_view, Facility>, 11> kFacilityNames{{
    {"auth", Facility::kAuth},
    {"authpriv", Facility::kAuthPriv},
    {"audit", Facility::kLogAudit},
    {"local0", Facility::kLocal0},
    {"local1", Facility::kLocal1},
    {"local2", Facility::kLocal2},
    {"local3", Facility::kLocal3},
    {"local4", Facility::kLocal4},
    {"local5", Facility::kLocal5},
    {"local6", Facility::kLocal6},
    {"local7", Facility::kLocal7},
}};

}  // namespace

const char* to_string(Facility facility) {
  for (const auto& [n, f] : kFacilityNames) {
    if (f == facility) return n.data();
  }
  return "unknown";
}

std::optional<Facility> parse_facility(std::string_view name) {
  for (const auto& [n, f] : kFacilityNames) {
    if (n == name) return f;
  }
  return std::nullopt;
}

SyslogSeverity syslog_severity(audit::Severity severity) {
  switch (severity) {
    case audit::Severity::kInfo:
      return SyslogSeverity::kInformational;
    case audit::Severity::kNotice:
      return SyslogSeverity::kNotice;
    case audit::Severity::kWarning:
      return SyslogSeverity::kWarning;
    case audit::Severity::kAlert:
      return SyslogSeverity::kAlert;
  }
  return SyslogSeverity::kNotice;
}

void append_sd_value(std::string& out, std::string_view value) {
  for (std::size_t i = 0; i < value.size();) {
    const std::size_t len = audit::utf8_sequence_length(value, i);
    if (len == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
      continue;
    }
    if (len == 1 && (value[i] == '"' || value[i] == '\\' || value[i] == ']')) out += '\\';
    out.append(value.substr(i, len));
    i += len;
  }
}

std::string syslog_header(const store::StoredRecord& record, const SyslogOptions& options,
                          SyslogSeverity severity, std::string_view msgid) {
  const audit::Event& e = record.event;
  std::string out;
  out.reserve(160);
  out += '<';
  out += number(syslog_pri(options.facility, severity));
  out += ">1 ";  // VERSION 1, RFC 5424 section 6.2.2
  out += audit::format_time(e.time);
  out += ' ';
  append_header_field(out, e.appliance_id, kMaxHostname);
  out += ' ';
  append_header_field(out, options.app_name, kMaxAppName);
  out += ' ';
  append_header_field(out, options.procid, kMaxProcId);
  out += ' ';
  if (msgid.empty()) {
    append_header_field(out, e.category + "." + e.action, kMaxMsgId);
  } else {
    append_header_field(out, msgid, kMaxMsgId);
  }
  return out;
}

std::string syslog_structured_data(const store::StoredRecord& record, const SyslogOptions& options,
                                   bool with_fields, std::string_view truncated) {
  return structured_data(record, options, with_fields, truncated);
}

std::string format_rfc5424(const store::StoredRecord& record, const SyslogOptions& options) {
  const std::size_t cap = std::clamp(options.max_message_bytes, kMinMessageBytes, kMaxMessageBytes);
  const std::string canonical = record.canonical.empty() ? audit::to_json(record.event) : "";
  const std::string_view msg = record.canonical.empty() ? canonical : record.canonical;
  std::string out =
      syslog_header(record, options, syslog_severity(record.event.severity), {}) + ' ';
  const std::size_t header_size = out.size();
  // Whole, then without the typed fields (marked truncated), as long as the message still fits.
  for (const auto& [with_fields, truncated] :
       {std::pair<bool, std::string_view>{true, {}}, {false, "fields"}}) {
    out.resize(header_size);
    out += structured_data(record, options, with_fields, truncated);
    if (out.size() + 1 + kBom.size() + msg.size() <= cap) {
      out += ' ';
      out += kBom;
      out += msg;
      return out;
    }
  }
  out.resize(header_size);
  out += structured_data(record, options, false, "fields,msg");
  if (out.size() > cap) {
    // Only absurdly long appliance or device names get here: the header alone is kept whole.
    out.resize(header_size);
    out += '-';
    return out;
  }
  if (out.size() + 1 + kBom.size() < cap) {
    out += ' ';
    out += kBom;
    out += utf8_prefix(msg, cap - out.size());
  }
  return out;
}

bool clock_synchronized() {
  timex tx{};
  return ntp_adjtime(&tx) != TIME_ERROR;
}

}  // namespace wardgate::exporter
