#pragma once
// DICOM constants the decoder relies on, written out with the section of the standard they come
// from (PS3.8 Upper Layer, PS3.7 DIMSE, PS3.5 data encoding, PS3.6 data dictionary). Nothing
// here is computed: a reader can check every value against the standard.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wardgate::dicom::spec {

// ---- PS3.8 9.3: PDU structure ---------------------------------------------------------------
// Every PDU: PDU-type (1), reserved (1), PDU-length (4, big endian, bytes after this field).
inline constexpr std::size_t kPduHeaderLength = 6;

enum PduType : std::uint8_t {
  kAssociateRq = 0x01,  // PS3.8 9.3.2
  kAssociateAc = 0x02,  // PS3.8 9.3.3
  kAssociateRj = 0x03,  // PS3.8 9.3.4
  kPDataTf = 0x04,      // PS3.8 9.3.5
  kReleaseRq = 0x05,    // PS3.8 9.3.6
  kReleaseRp = 0x06,    // PS3.8 9.3.7
  kAbort = 0x07,        // PS3.8 9.3.8
};

// The names PS3.8 9.3 gives the PDU types, for messages.
inline const char* pdu_name(std::uint8_t type) {
  switch (type) {
    case kAssociateRq:
      return "A-ASSOCIATE-RQ";
    case kAssociateAc:
      return "A-ASSOCIATE-AC";
    case kAssociateRj:
      return "A-ASSOCIATE-RJ";
    case kPDataTf:
      return "P-DATA-TF";
    case kReleaseRq:
      return "A-RELEASE-RQ";
    case kReleaseRp:
      return "A-RELEASE-RP";
    case kAbort:
      return "A-ABORT";
    default:
      return "PDU";
  }
}

// PS3.8 9.3.4, 9.3.6, 9.3.7, 9.3.8: A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and A-ABORT carry 4 bytes.
inline constexpr std::uint32_t kFixedPduLength = 4;

// PS3.8 9.3.2 (RQ) and 9.3.3 (AC) fixed fields after the PDU header: protocol-version (2),
// reserved (2), called AE title (16), calling AE title (16), reserved (32); then the items.
inline constexpr std::size_t kAssociateFixedLength = 68;
inline constexpr std::size_t kProtocolVersionOffset = 0;
inline constexpr std::size_t kCalledAeOffset = 4;
inline constexpr std::size_t kCallingAeOffset = 20;
inline constexpr std::size_t kAeTitleLength = 16;

// PS3.8 9.3.4 A-ASSOCIATE-RJ body: reserved (1), result (1), source (1), reason/diag. (1).
// PS3.8 9.3.8 A-ABORT body: reserved (1), reserved (1), source (1), reason/diag. (1).
inline constexpr std::size_t kRejectResultOffset = 1;
inline constexpr std::size_t kRejectSourceOffset = 2;
inline constexpr std::size_t kRejectReasonOffset = 3;
inline constexpr std::size_t kAbortSourceOffset = 2;
inline constexpr std::size_t kAbortReasonOffset = 3;

// ---- PS3.8 9.3.2-9.3.3 and Annex D, PS3.7 Annex D.3.3: items ---------------------------------
// Every item: item-type (1), reserved (1), item-length (2, big endian, bytes after this field).
inline constexpr std::size_t kItemHeaderLength = 4;

enum ItemType : std::uint8_t {
  kApplicationContext = 0x10,                 // PS3.8 9.3.2.1
  kPresentationContextRq = 0x20,              // PS3.8 9.3.2.2
  kPresentationContextAc = 0x21,              // PS3.8 9.3.3.2
  kAbstractSyntax = 0x30,                     // PS3.8 9.3.2.2.1
  kTransferSyntax = 0x40,                     // PS3.8 9.3.2.2.2, 9.3.3.2.1
  kUserInformation = 0x50,                    // PS3.8 9.3.2.3, 9.3.3.3
  kMaximumLength = 0x51,                      // PS3.8 D.1
  kImplementationClassUid = 0x52,             // PS3.7 D.3.3.2
  kAsynchronousOperationsWindow = 0x53,       // PS3.7 D.3.3.3
  kRoleSelection = 0x54,                      // PS3.7 D.3.3.4
  kImplementationVersionName = 0x55,          // PS3.7 D.3.3.2
  kSopClassExtendedNegotiation = 0x56,        // PS3.7 D.3.3.5
  kSopClassCommonExtendedNegotiation = 0x57,  // PS3.7 D.3.3.6 (recognised, not reported)
  kUserIdentityRq = 0x58,                     // PS3.7 D.3.3.7.1
  kUserIdentityAc = 0x59,                     // PS3.7 D.3.3.7.2
};

// PS3.8 9.3.2.2 / 9.3.3.2: presentation context item body: context-id (1), reserved (1),
// reserved (RQ) or result/reason (AC) (1), reserved (1); then sub-items.
inline constexpr std::size_t kPresentationContextFixedLength = 4;
inline constexpr std::size_t kPresentationContextResultOffset = 2;
inline constexpr std::uint8_t kPresentationContextAccepted = 0;  // PS3.8 Table 9-18

// PS3.8 D.1: Maximum Length Received, 4 bytes; PS3.7 D.3.3.3: two 2-byte counts.
inline constexpr std::size_t kMaximumLengthItemLength = 4;
inline constexpr std::size_t kAsynchronousOperationsWindowItemLength = 4;

// ---- PS3.8 9.3.5.1 and Annex E: P-DATA-TF presentation data values ---------------------------
// PDV item: item-length (4, big endian, counts the context id, the message control header and the
// fragment), presentation-context-ID (1), message control header (1), fragment.
inline constexpr std::size_t kPdvLengthFieldLength = 4;
inline constexpr std::size_t kPdvHeaderLength = 6;
inline constexpr std::uint32_t kPdvContextAndControlLength = 2;
// PS3.8 E.2: bit 0 set = command information, clear = data set; bit 1 set = last fragment.
inline constexpr std::uint8_t kMchCommand = 0x01;
inline constexpr std::uint8_t kMchLastFragment = 0x02;

// ---- PS3.7 E.1 (Table E.1-1), 9.1, 10.1: DIMSE command set --------------------------------
// Command sets are always Implicit VR Little Endian (PS3.7 6.3.1).
enum CommandField : std::uint16_t {
  kCStoreRq = 0x0001,
  kCStoreRsp = 0x8001,
  kCGetRq = 0x0010,
  kCGetRsp = 0x8010,
  kCFindRq = 0x0020,
  kCFindRsp = 0x8020,
  kCMoveRq = 0x0021,
  kCMoveRsp = 0x8021,
  kCEchoRq = 0x0030,
  kCEchoRsp = 0x8030,
  kNEventReportRq = 0x0100,
  kNEventReportRsp = 0x8100,
  kNGetRq = 0x0110,
  kNGetRsp = 0x8110,
  kNSetRq = 0x0120,
  kNSetRsp = 0x8120,
  kNActionRq = 0x0130,
  kNActionRsp = 0x8130,
  kNCreateRq = 0x0140,
  kNCreateRsp = 0x8140,
  kNDeleteRq = 0x0150,
  kNDeleteRsp = 0x8150,
  kCCancelRq = 0x0FFF,  // no response: it names the operation it cancels (PS3.7 9.3.2.3)
};
inline constexpr std::uint16_t kResponseBit = 0x8000;  // PS3.7 E.1: responses have bit 15 set
constexpr bool is_response(std::uint16_t command_field) {
  return (command_field & kResponseBit) != 0;
}

// PS3.7 E.1 (Command Data Set Type): 0x0101 means "no data set"; any other value: a data set.
inline constexpr std::uint16_t kNoDataSet = 0x0101;
// ---- PS3.7 Annex C: status classes -----------------------------------------------------------
inline constexpr std::uint16_t kStatusSuccess = 0x0000;         // C.1.1
inline constexpr std::uint16_t kStatusPending = 0xFF00;         // C.3: keeps the operation open
inline constexpr std::uint16_t kStatusPendingWarning = 0xFF01;  // C.3: optional keys unsupported
inline constexpr std::uint16_t kStatusCancel = 0xFE00;          // C.4
// C.2 Warning: 0x0001, 0x0107, 0x0116 and the range 0xB000-0xBFFF; everything else is a failure
// (C.5, including the 0xA000-0xAFFF and 0xC000-0xCFFF ranges).
inline constexpr std::uint16_t kStatusWarningAttributeListError = 0x0107;
inline constexpr std::uint16_t kStatusWarningAttributeValueOutOfRange = 0x0116;
inline constexpr std::uint16_t kStatusWarningRequestedOptionalAttributes = 0x0001;
inline constexpr std::uint16_t kStatusWarningFirst = 0xB000;
inline constexpr std::uint16_t kStatusWarningLast = 0xBFFF;

enum class StatusClass : std::uint8_t { kSuccess, kPending, kCancel, kWarning, kFailure };

constexpr StatusClass status_class(std::uint16_t status) {
  if (status == kStatusSuccess) return StatusClass::kSuccess;
  if (status == kStatusPending || status == kStatusPendingWarning) return StatusClass::kPending;
  if (status == kStatusCancel) return StatusClass::kCancel;
  if (status == kStatusWarningRequestedOptionalAttributes ||
      status == kStatusWarningAttributeListError ||
      status == kStatusWarningAttributeValueOutOfRange ||
      (status >= kStatusWarningFirst && status <= kStatusWarningLast)) {
    return StatusClass::kWarning;
  }
  return StatusClass::kFailure;
}

// The class names audit records carry.
constexpr const char* to_string(StatusClass c) {
  switch (c) {
    case StatusClass::kSuccess:
      return "success";
    case StatusClass::kPending:
      return "pending";
    case StatusClass::kCancel:
      return "cancel";
    case StatusClass::kWarning:
      return "warning";
    case StatusClass::kFailure:
      return "failure";
  }
  return "failure";
}

// PS3.4 A.4: the Verification SOP Class, used only by C-ECHO.
inline constexpr std::string_view kVerificationSopClass = "1.2.840.10008.1.1";

// PS3.4 H.3: Print Management Meta SOP Classes, whose contexts carry their component classes'
// commands (Basic Film Session, Basic Film Box, ...). Basic Grayscale, Basic Color.
inline constexpr std::string_view kGrayscalePrintMeta = "1.2.840.10008.5.1.1.9";
inline constexpr std::string_view kColorPrintMeta = "1.2.840.10008.5.1.1.18";
constexpr bool is_meta_sop_class(std::string_view uid) {
  return uid == kGrayscalePrintMeta || uid == kColorPrintMeta;
}

// Data element tags as (group << 16 | element).
constexpr std::uint32_t tag(std::uint16_t group, std::uint16_t element) {
  return (std::uint32_t{group} << 16) | element;
}

// PS3.7 E.1: command group 0000.
inline constexpr std::uint32_t kAffectedSopClassUid = tag(0x0000, 0x0002);
inline constexpr std::uint32_t kRequestedSopClassUid = tag(0x0000, 0x0003);
inline constexpr std::uint32_t kCommandFieldTag = tag(0x0000, 0x0100);
inline constexpr std::uint32_t kMessageId = tag(0x0000, 0x0110);
inline constexpr std::uint32_t kMessageIdBeingRespondedTo = tag(0x0000, 0x0120);
inline constexpr std::uint32_t kMoveDestination = tag(0x0000, 0x0600);
inline constexpr std::uint32_t kPriority = tag(0x0000, 0x0700);
inline constexpr std::uint32_t kCommandDataSetType = tag(0x0000, 0x0800);
inline constexpr std::uint32_t kStatus = tag(0x0000, 0x0900);
inline constexpr std::uint32_t kErrorComment = tag(0x0000, 0x0902);
inline constexpr std::uint32_t kAffectedSopInstanceUid = tag(0x0000, 0x1000);
inline constexpr std::uint32_t kRequestedSopInstanceUid = tag(0x0000, 0x1001);
inline constexpr std::uint32_t kEventTypeId = tag(0x0000, 0x1002);
inline constexpr std::uint32_t kActionTypeId = tag(0x0000, 0x1008);
inline constexpr std::uint32_t kNumberOfRemainingSuboperations = tag(0x0000, 0x1020);
inline constexpr std::uint32_t kNumberOfCompletedSuboperations = tag(0x0000, 0x1021);
inline constexpr std::uint32_t kNumberOfFailedSuboperations = tag(0x0000, 0x1022);
inline constexpr std::uint32_t kNumberOfWarningSuboperations = tag(0x0000, 0x1023);
// PS3.7 9.1.1.1: a C-STORE-RQ sent as a sub-operation of a C-MOVE names the retrieve's requester
// and its Message ID.
inline constexpr std::uint32_t kMoveOriginatorAeTitle = tag(0x0000, 0x1030);
inline constexpr std::uint32_t kMoveOriginatorMessageId = tag(0x0000, 0x1031);

// PS3.6 Table 6-1: identifying attributes peeked from data sets; all in groups 0008-0020.
inline constexpr std::uint32_t kSopClassUid = tag(0x0008, 0x0016);
inline constexpr std::uint32_t kSopInstanceUid = tag(0x0008, 0x0018);
inline constexpr std::uint32_t kAccessionNumber = tag(0x0008, 0x0050);
inline constexpr std::uint32_t kQueryRetrieveLevel = tag(0x0008, 0x0052);
inline constexpr std::uint32_t kModality = tag(0x0008, 0x0060);
inline constexpr std::uint32_t kPatientId = tag(0x0010, 0x0020);
inline constexpr std::uint32_t kStudyInstanceUid = tag(0x0020, 0x000D);
inline constexpr std::uint32_t kSeriesInstanceUid = tag(0x0020, 0x000E);
inline constexpr std::uint16_t kLastIdentifyingGroup = 0x0020;

// ---- PS3.5 7.1, 7.5: data element encoding ----------------------------------------------------
inline constexpr std::uint32_t kUndefinedLength = 0xFFFFFFFF;
inline constexpr std::uint16_t kItemGroup = 0xFFFE;  // PS3.5 7.5: item and delimiters
inline constexpr std::uint16_t kItemElement = 0xE000;
inline constexpr std::uint16_t kItemDelimitationElement = 0xE00D;
inline constexpr std::uint16_t kSequenceDelimitationElement = 0xE0DD;

// ---- PS3.5 Annex A, PS3.6 Table A-1: transfer syntaxes ---------------------------------------
inline constexpr std::string_view kImplicitVrLittleEndian = "1.2.840.10008.1.2";
inline constexpr std::string_view kExplicitVrLittleEndian = "1.2.840.10008.1.2.1";
inline constexpr std::string_view kExplicitVrBigEndian = "1.2.840.10008.1.2.2";  // retired
inline constexpr std::string_view kDeflatedExplicitVrLittleEndian = "1.2.840.10008.1.2.1.99";
inline constexpr std::string_view kJpipReferencedDeflate = "1.2.840.10008.1.2.4.95";
// PS3.5 A.4: every other standard transfer syntax encodes the data set in Explicit VR Little
// Endian (only the pixel data is encapsulated); they all share this root.
inline constexpr std::string_view kStandardTransferSyntaxRoot = "1.2.840.10008.1.2.";

}  // namespace wardgate::dicom::spec
