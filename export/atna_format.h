#pragma once
// IHE ATNA export: DICOM PS3.15 A.5 AuditMessage XML (the DICOM schema, coded values as
// csd-code / codeSystemName / originalText) in an RFC 5424 message with facility 10 and MSGID
// "IHE+RFC-3881" (IHE ITI TF-2a 3.20.4.2; DICOM PS3.15 A.6). docs/audit-export.md has the
// mapping of wardgate's events to the audit message types.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "export/syslog_format.h"

namespace wardgate::exporter {

// DICOM PS3.16 CID 400 (Audit Event ID) and CID 401 (Audit Event Type Code), DCM scheme.
struct AtnaCode {
  std::string_view code;
  std::string_view meaning;
  bool operator==(const AtnaCode&) const = default;
};
namespace atna {
constexpr AtnaCode kApplicationActivity{"110100", "Application Activity"};
constexpr AtnaCode kBeginTransferring{"110102", "Begin Transferring DICOM Instances"};
constexpr AtnaCode kInstancesTransferred{"110104", "DICOM Instances Transferred"};
constexpr AtnaCode kNetworkEntry{"110108", "Network Entry"};
constexpr AtnaCode kQuery{"110112", "Query"};
constexpr AtnaCode kSecurityAlert{"110113", "Security Alert"};
constexpr AtnaCode kUserAuthentication{"110114", "User Authentication"};
constexpr AtnaCode kApplicationStart{"110120", "Application Start"};
constexpr AtnaCode kApplicationStop{"110121", "Application Stop"};
constexpr AtnaCode kLogin{"110122", "Login"};
constexpr AtnaCode kLogout{"110123", "Logout"};
constexpr AtnaCode kAttach{"110124", "Attach"};
constexpr AtnaCode kDetach{"110125", "Detach"};
constexpr AtnaCode kNodeAuthentication{"110126", "Node Authentication"};
constexpr AtnaCode kSecurityConfiguration{"110129", "Security Configuration"};
constexpr AtnaCode kUseOfRestrictedFunction{"110132", "Use of Restricted Function"};
}  // namespace atna

// IHE ITI TF-2a 3.20.4.2.1 / DICOM PS3.15 A.6.
constexpr std::string_view kAtnaMsgId = "IHE+RFC-3881";
constexpr std::size_t kAtnaMaxMessageBytes = 32768;
constexpr std::size_t kAtnaMaxValueBytes = 256;  // any one attribute value, cut beyond

struct AtnaMapping {
  AtnaCode event_id;
  std::optional<AtnaCode> event_type;
  char action_code = 'E';  // PS3.15 A.5.1 EventActionCode: C R U D E
};

// Which audit message an event becomes, or nullopt for events ATNA has no message for (they
// are skipped by an ATNA destination and counted; the RFC 5424 format carries every event).
std::optional<AtnaMapping> atna_mapping(const audit::Event& event);

struct AtnaOptions {
  SyslogOptions syslog;            // facility is forced to authpriv (10)
  std::string enterprise_site_id;  // AuditEnterpriseSiteID; empty: left out
};

// The AuditMessage XML of an event (with its XML declaration), or nullopt if unmapped.
std::optional<std::string> atna_xml(const audit::Event& event, const AtnaOptions& options);

// The complete RFC 5424 message carrying the XML, at most kAtnaMaxMessageBytes (when the XML
// would not fit, the participant objects are left out and the message says so in wardgate@PEN
// truncated="participants"); nullopt if the event has no ATNA message.
std::optional<std::string> format_atna(const store::StoredRecord& record,
                                       const AtnaOptions& options);

}  // namespace wardgate::exporter
