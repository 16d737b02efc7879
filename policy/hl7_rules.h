#pragma once
// Per-device HL7 rules (configuration: devices[].hl7) and the check the HL7 inspector applies to
// every message a device sends, acknowledgements included: what a message holds does not make
// it an answer.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/decision.h"

namespace wardgate::policy {

struct Hl7Rules {
  // nullopt: no restriction. An empty list allows nothing.
  // "ORU^R01" (message type and trigger event, MSH-9.1 and MSH-9.2), or "ADT" / "ADT^*" (every
  // trigger of that type).
  std::optional<std::vector<std::string>> allowed_message_types;
  // MSH-5 as a whole ("PACS^1.2.3^ISO") or its first component, the namespace ID ("PACS").
  std::optional<std::vector<std::string>> allowed_receiving_applications;
  // Character set (an MSH-18 name, e.g. "GB 18030") of the device's messages that do not declare
  // MSH-18; empty: ASCII, as the standard says.
  std::string default_charset;
  bool operator==(const Hl7Rules&) const = default;
};

// An allowed_message_types entry: three letters or digits for the type, then optionally '^' and
// a trigger of three letters or digits, or '*'.
bool valid_message_type_pattern(std::string_view pattern);

// What the rules look at in one message, as the receiving engine reads it: values as sent (escape
// sequences not decoded, "HL7ENGINE\S\X" is not "HL7ENGINE"; no charset conversion), cut at the
// message's own component separator (MSH-2). `shown_*`: the decoded values (UTF-8), for reasons.
struct Hl7Addressing {
  std::string_view message_type;           // MSH-9.1
  std::string_view trigger_event;          // MSH-9.2
  std::string_view receiving_application;  // MSH-5, the whole field
  std::string_view receiving_namespace;    // MSH-5.1, the namespace ID
  int component_separator = '^';           // MSH-2's first character; -1: none
  std::string_view shown_message_type;
  std::string_view shown_trigger_event;
  std::string_view shown_receiving_application;
};

// One message a device sends: its type, then its receiving application. An allowed application
// written with components ("LIS^1.2.3^ISO") matches MSH-5 component by component, with the
// message's component separator; one without ("HL7ENGINE") matches the namespace ID.
Decision check_message(const Hl7Rules& rules, std::string_view device, const Hl7Addressing& m);

}  // namespace wardgate::policy
