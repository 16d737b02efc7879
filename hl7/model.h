#pragma once
// What the HL7 decoder reports: MLLP frames and HL7 v2 message headers (HL7 v2.5.1 chapter 2),
// as plain values. Text is UTF-8 (converted from the message's character set, escape sequences
// decoded); bytes that cannot be decoded appear as "\x{hh}", never dropped.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wardgate::hl7 {

// The side of the TCP connection a frame came from: the client is the one that connected (the
// HL7 sender, e.g. a modality or monitor); the server answers with ACKs.
enum class Side : std::uint8_t { kClient, kServer };

// MSA-1 acknowledgment code (HL7 table 0008): original mode A*, enhanced mode C*.
enum class AckCode : std::uint8_t { kAA, kAE, kAR, kCA, kCE, kCR, kUnknown };
const char* to_string(AckCode code);
AckCode parse_ack_code(std::string_view text);

struct PatientIdentifier {          // one repetition of PID-3 (CX)
  std::string id;                   // CX.1
  std::string assigning_authority;  // CX.4, subcomponents joined with '&'
  std::string identifier_type;      // CX.5
};

struct Acknowledgment {
  AckCode code = AckCode::kUnknown;
  std::string code_text;   // MSA-1 as sent
  std::string control_id;  // MSA-2: MSH-10 of the acknowledged message
  std::string text;        // MSA-3
  std::size_t error_segments = 0;
  std::string error_code;  // first ERR: ERR-3.1 (v2.5+), else ERR-1.4.1 (v2.3/2.4)
  std::string error_text;  // first ERR: ERR-3.2, else ERR-1.4.2
};

// Composite values (HD, XPN) keep all their components, decoded, joined with '^' (and
// subcomponents with '&') whatever separators the message used.
struct Message {
  std::string sending_application;    // MSH-3
  std::string sending_facility;       // MSH-4
  std::string receiving_application;  // MSH-5
  std::string receiving_facility;     // MSH-6
  std::string date_time;              // MSH-7
  std::string security;               // MSH-8
  std::string message_type;           // MSH-9.1, e.g. ORU
  std::string trigger_event;          // MSH-9.2, e.g. R01
  std::string message_structure;      // MSH-9.3, e.g. ORU_R01
  std::string control_id;             // MSH-10
  std::string processing_id;          // MSH-11
  std::string version;                // MSH-12
  std::string accept_ack_type;        // MSH-15
  std::string application_ack_type;   // MSH-16
  // MSH-18 as declared (may be empty): its first repetition, or the ISO 2022 set of a later one
  // when the first is ASCII ("~ISO IR87").
  std::string character_set;
  std::string charset_used;  // what the text was decoded as (declared or default)
  std::vector<PatientIdentifier> patient_identifiers;  // PID-3, all repetitions
  std::string patient_name;           // PID-5, first repetition; raw: the caller applies its policy
  std::optional<Acknowledgment> ack;  // when an MSA segment is present
  std::size_t segment_count = 0;      // MSH included
  std::size_t obx_count = 0;
  std::size_t z_segment_count = 0;  // Z-segments are passed through, only counted
  std::size_t size = 0;             // bytes of this message (its segments and terminators)
  bool in_batch = false;            // split out of an FHS/BHS batch
  // Oddities worth an audit note that are not errors: "\n" segment terminators, an unknown
  // MSH-18, undecodable bytes. At most one note of each kind per message.
  std::vector<std::string> notes;
  // The MSH segment exactly as sent (its charset and separators), without the terminator. Valid
  // only during the on_message callback: wardgate's own acknowledgements are built from it.
  std::string_view header;
  // MSH-9 and MSH-5 as a receiving engine reads them, for policy: bytes as sent (escape sequences
  // not decoded, no charset conversion), the whole field cut only at MSH-2's component separator
  // (kept in `component_separator`, -1 if none). Valid only during on_message, like `header`.
  std::string_view raw_message_type;           // MSH-9.1
  std::string_view raw_trigger_event;          // MSH-9.2
  std::string_view raw_receiving_application;  // MSH-5
  std::string_view raw_receiving_namespace;    // MSH-5.1
  int component_separator = -1;
};

}  // namespace wardgate::hl7
