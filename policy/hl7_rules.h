#pragma once
// Per-device HL7 rules (configuration: devices[].hl7) and the check the HL7 inspector applies to
// every message a device sends. Acknowledgements are never refused: they answer the other side.
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

// One message a device sends (not an acknowledgement): its type, then its receiving application.
// `receiving_application` is MSH-5 with its components joined by '^' (hl7::Message's form).
Decision check_message(const Hl7Rules& rules, std::string_view device, std::string_view type,
                       std::string_view trigger, std::string_view receiving_application);

}  // namespace wardgate::policy
