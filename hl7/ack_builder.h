#pragma once
// wardgate's own HL7 acknowledgements: when a device's message is refused by policy, wardgate
// answers it in place of the receiver (HL7 v2.5.1 section 2.9, acknowledgment messages), so the
// sender stops waiting and records a rejection instead of retrying forever.
//
// The ACK is built from the refused message's MSH exactly as sent: its separators, its character
// set (MSH-18 is echoed), sender and receiver swapped, its own trigger event and version, so any
// sender that can read its receiver's ACKs reads wardgate's.
#include <string>
#include <string_view>

#include "hl7/model.h"

namespace wardgate::hl7 {

struct Refusal {
  AckCode code = AckCode::kAR;  // kAR (original mode) or kCR (enhanced mode commit reject)
  // HL7 table 0357 (message error condition codes): "200" unsupported message type, "201"
  // unsupported event code, "207" application internal error. ASCII, no separators.
  std::string_view error_code;
  std::string_view error_text;  // e.g. "Unsupported message type"
  std::string_view text;        // MSA-3, for the sender's operator; ASCII, no separators
};

// The code a sender expects for a refusal: CR in enhanced acknowledgement mode (MSH-15 present),
// AR in original mode.
AckCode refusal_code(const Message& message);

// The MLLP frame (<SB> ACK <EB><CR>) refusing the message whose MSH is `header` (as sent, see
// Message::header). `double_byte`: the message's character set has lead bytes (GB 18030), whose
// trail bytes may look like separators. `timestamp`: MSH-7, e.g. "20261122083015+0000";
// `control_id`: MSH-10 of the ACK (at most 20 characters). Empty if `header` is not an MSH.
std::string build_refusal_ack(std::string_view header, bool double_byte, const Refusal& refusal,
                              std::string_view timestamp, std::string_view control_id);

}  // namespace wardgate::hl7
