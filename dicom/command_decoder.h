#pragma once
// Decodes one complete DIMSE command set (PS3.7 6.3.1, Annex E) with DCMTK dcmdata. Command sets
// are always Implicit VR Little Endian whatever the presentation context negotiated.
#include <cstdint>
#include <optional>
#include <span>

#include "dicom/failure.h"
#include "dicom/model.h"

namespace wardgate::dicom {

// Fills `out` from `bytes`; a Failure (kCommandUndecodable) if the bytes are not a well-formed
// command set or lack the Command Field. A Failure that does not lose sync (loses_sync(): a
// duplicate element, a request without Message ID) comes with `out` filled all the same.
std::optional<Failure> decode_command(std::span<const std::byte> bytes, std::uint8_t context_id,
                                      Command& out);

}  // namespace wardgate::dicom
