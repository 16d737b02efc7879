#pragma once
// Protocol constants, verbatim from the standards.
#include <cstdint>

namespace wardgate::hl7::spec {

// MLLP release 1 and 2 (HL7 v2.5.1 Implementation Guide, Appendix C "Lower Layer Protocols",
// C.4.3 block format): <SB> message <EB><CR>.
inline constexpr std::uint8_t kStartBlock = 0x0B;      // <VT>
inline constexpr std::uint8_t kEndBlock = 0x1C;        // <FS>
inline constexpr std::uint8_t kCarriageReturn = 0x0D;  // <CR>, also the HL7 segment terminator
inline constexpr std::uint8_t kLineFeed = 0x0A;
// MLLP release 2 (HL7 Transport Specification MLLP Release 2, section 3): commit acknowledgments
// are frames whose content is a single <ACK> or <NAK>.
inline constexpr std::uint8_t kCommitAck = 0x06;
inline constexpr std::uint8_t kCommitNak = 0x15;

// HL7 v2.5.1 section 2.7: escape sequences (after the escape character).
inline constexpr char kEscField = 'F';
inline constexpr char kEscComponent = 'S';
inline constexpr char kEscSubcomponent = 'T';
inline constexpr char kEscRepetition = 'R';
inline constexpr char kEscEscape = 'E';
inline constexpr char kEscHex = 'X';
inline constexpr char kEscHighlightStart = 'H';
inline constexpr char kEscHighlightEnd = 'N';

}  // namespace wardgate::hl7::spec
