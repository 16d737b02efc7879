#pragma once
// RFC 5424 syslog messages for stored audit records (docs/audit-export.md):
//
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [meta ...][origin ...][timeQuality ...]
//   [wardgate@PEN ...][wardgateFields@PEN ...] BOM{canonical JSON of the event}
//
// The MSG is the record's canonical JSON (the bytes the store hashes), so a collector keeps the
// complete record; the structured data repeats the searchable parts. Spec constants carry their
// RFC 5424 section.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/record_source.h"

namespace wardgate::exporter {

// RFC 5424 section 6.2.1, table 1 (the facilities wardgate may be configured with).
enum class Facility : std::uint8_t {
  kAuth = 4,
  kAuthPriv = 10,  // "security/authorization"; IHE ATNA (DICOM PS3.15 A.6) requires it
  kLogAudit = 13,  // "log audit": wardgate's default for RFC 5424 export
  kLocal0 = 16,
  kLocal1 = 17,
  kLocal2 = 18,
  kLocal3 = 19,
  kLocal4 = 20,
  kLocal5 = 21,
  kLocal6 = 22,
  kLocal7 = 23,
};

// "auth", "authpriv", "audit", "local0".."local7".
const char* to_string(Facility facility);
std::optional<Facility> parse_facility(std::string_view name);

// RFC 5424 section 6.2.1, table 2.
enum class SyslogSeverity : std::uint8_t {
  kEmergency = 0,
  kAlert = 1,
  kCritical = 2,
  kError = 3,
  kWarning = 4,
  kNotice = 5,
  kInformational = 6,
  kDebug = 7,
};

// docs/audit-events.md: info 6, notice 5, warning 4, alert 1.
SyslogSeverity syslog_severity(audit::Severity severity);

// PRI = facility * 8 + severity (RFC 5424 section 6.2.1).
constexpr unsigned syslog_pri(Facility facility, SyslogSeverity severity) {
  return static_cast<unsigned>(facility) * 8U + static_cast<unsigned>(severity);
}

// wardgate has no IANA Private Enterprise Number yet: the SD-IDs use 32473, the number IANA
// reserves for documentation (RFC 5612), until one is assigned; configurable per destination.
constexpr std::uint32_t kDocumentationEnterpriseNumber = 32473;

// RFC 5424 sections 6.1 and 6.2 (header field lengths), 6.3.3 (SD-NAME).
constexpr std::size_t kMaxHostname = 255;
constexpr std::size_t kMaxAppName = 48;
constexpr std::size_t kMaxProcId = 128;
constexpr std::size_t kMaxMsgId = 32;
constexpr std::size_t kMaxSdName = 32;
// RFC 5424 section 7.3.1: sequenceId runs from 1 to 2147483647, then wraps to 1.
constexpr std::uint64_t kMaxSequenceId = 2147483647;
// Message size bounds a destination may be configured with. RFC 5426 section 3.2 lets a UDP
// receiver accept as little as 480 octets, but wardgate's header and core structured data need
// up to ~900 (a 255-octet host name), so 1024 is the floor; DICOM PS3.15 A.6 (ATNA) needs 32 768.
constexpr std::size_t kMinMessageBytes = 1024;
constexpr std::size_t kDefaultMessageBytes = 8192;  // RFC 5425 section 4.3.1 "SHOULD 8192"
constexpr std::size_t kMaxMessageBytes = 65536;

struct SyslogOptions {
  Facility facility = Facility::kLogAudit;
  std::string app_name = "wardgate";
  std::string procid;  // empty: "-"
  std::uint32_t enterprise_number = kDocumentationEnterpriseNumber;
  // origin (RFC 5424 section 7.2): the appliance's address as the collector should know it
  // (empty: no ip parameter), and the software version.
  std::string origin_ip;
  std::string software = "wardgate";
  std::string sw_version;
  // timeQuality (RFC 5424 section 7.1): tzKnown is always 1 (timestamps are UTC); isSynced as
  // the exporter last found the kernel clock (clock_synchronized()).
  bool clock_synced = false;
  // Whole message (header, structured data, MSG) in octets; clamped to
  // [kMinMessageBytes, kMaxMessageBytes].
  std::size_t max_message_bytes = kDefaultMessageBytes;
  bool operator==(const SyslogOptions&) const = default;
};

// The header up to and including MSGID, with a custom MSGID (ATNA) or, for empty `msgid`,
// "<category>.<action>"; each header field is reduced to printable US-ASCII and its length cap
// ("-" when empty).
std::string syslog_header(const store::StoredRecord& record, const SyslogOptions& options,
                          SyslogSeverity severity, std::string_view msgid = {});

// The structured data of a record: meta, origin, timeQuality, wardgate@PEN (seq, appliance,
// device, category, action, outcome, severity) and, when `with_fields`, wardgateFields@PEN with
// one parameter per field whose key is a valid SD-NAME (a list repeats its parameter).
// A non-empty `truncated` becomes wardgate@PEN's truncated parameter (what was left out).
std::string syslog_structured_data(const store::StoredRecord& record, const SyslogOptions& options,
                                   bool with_fields, std::string_view truncated = {});

// The complete RFC 5424 message (no transport framing). Never longer than max_message_bytes:
// when too long, wardgateFields is dropped first (wardgate@PEN then says truncated="fields"),
// then the MSG is cut at a UTF-8 character boundary (truncated="msg"); the whole record is
// always in the store.
std::string format_rfc5424(const store::StoredRecord& record, const SyslogOptions& options);

// Appends `value` as an SD-PARAM value (RFC 5424 section 6.3.3): '"', '\' and ']' escaped with
// a backslash; bytes that are not well-formed UTF-8 replaced by U+FFFD.
void append_sd_value(std::string& out, std::string_view value);

// Appends ` name="value"`, the value written by `escape`: an RFC 5424 SD-PARAM and an XML
// attribute share this shape and differ only in their escaping.
template <typename Escape>
void append_name_value(std::string& out, std::string_view name, std::string_view value,
                       Escape escape) {
  out += ' ';
  out += name;
  out += "=\"";
  escape(out, value);
  out += '"';
}

// Whether the kernel reports its clock synchronised (adjtimex(2) state other than TIME_ERROR).
bool clock_synchronized();

}  // namespace wardgate::exporter
