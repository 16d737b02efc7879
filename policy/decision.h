#pragma once
// The answer of every policy check (DICOM and HL7 rules): allowed, or denied by one named rule
// with a reason an operator can act on. The rule's name is its configuration key, so an audit
// event says which line of devices[] to change.
#include <cstdint>
#include <string>

namespace wardgate::policy {

enum class Rule : std::uint8_t {
  kNone,
  // devices[].dicom
  kCallingAe,
  kCalledAe,
  kSopClass,
  kOperation,
  kMoveDestination,
  // devices[].hl7
  kMessageType,
  kReceivingApplication,
};
// The configuration key: "allowed_calling_ae", "allowed_message_types", ...; "none" for kNone.
const char* to_string(Rule rule);

struct Decision {
  bool allowed = true;
  Rule rule = Rule::kNone;  // kNone when allowed
  std::string reason;       // for operators: "calling AE title CT99 is not allowed for device ct-1"

  static Decision allow() { return {}; }
  static Decision deny(Rule rule, std::string reason) { return {false, rule, std::move(reason)}; }
  bool operator==(const Decision&) const = default;
};

}  // namespace wardgate::policy
