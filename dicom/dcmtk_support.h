#pragma once
// The few DCMTK (dcmdata) operations the decoder uses, wrapped so that no DCMTK exception, log
// line or type escapes: read a whole, pre-validated byte run into a DcmDataset, and read values
// back as plain C++ values. Only command_decoder.cpp and data_set_peek.cpp include this.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "dcmtk/config/osconfig.h"  // must come first (DCMTK convention)
#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcxfer.h"

namespace wardgate::dicom::dcmtk {

// Longest string value the decoder copies out of a command or data set; DICOM's own limits are
// far below (64 bytes for UI/LO), so this only bounds what hostile input can make us keep.
inline constexpr std::size_t kMaxValueLength = 1024;

// Quiets dcmdata's logger and loads its data dictionary (about 8 ms), once per process.
void prepare();

// Reads `bytes` into `out` with `xfer`. Returns an error text on failure (the elements read
// before the failure stay in `out`).
std::optional<std::string> read(std::span<const std::byte> bytes, E_TransferSyntax xfer,
                                DcmDataset& out);

// All values of a string-like element ('\' separated), without padding, cut at
// kMaxValueLength; empty if absent.
std::string string_value(DcmDataset& data, std::uint32_t tag);
std::optional<std::uint16_t> u16_value(DcmDataset& data, std::uint32_t tag);

// The data dictionary keyword of a tag ("PatientName"), or "(gggg,eeee)" if unknown.
std::string keyword(std::uint32_t tag);

}  // namespace wardgate::dicom::dcmtk
