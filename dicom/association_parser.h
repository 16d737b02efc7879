#pragma once
// Parses the bodies of the association PDUs (PS3.8 9.3.2-9.3.4, 9.3.8) once the framer buffered
// them whole: the fixed fields and every item and sub-item, counted against the limits. User
// identity items keep only their type and flag, never the credential bytes.
#include <optional>
#include <span>

#include "dicom/decoder.h"
#include "dicom/failure.h"
#include "dicom/model.h"

namespace wardgate::dicom {

// `body` is the PDU after its 6-byte header; `accept` selects A-ASSOCIATE-AC rules over -RQ.
std::optional<Failure> parse_associate(std::span<const std::byte> body, bool accept,
                                       const DecoderLimits& limits, Associate& out);

// Bodies of exactly spec::kFixedPduLength bytes (the framer checked the length).
AssociateReject parse_reject(std::span<const std::byte> body);
Abort parse_abort(std::span<const std::byte> body);

}  // namespace wardgate::dicom
