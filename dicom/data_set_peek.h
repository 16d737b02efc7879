#pragma once
// Reads the identifying attributes out of the bounded prefix of a data set (PS3.6 attributes of
// groups 0008-0020) with DCMTK dcmdata, decoding with the transfer syntax the presentation context
// accepted. The prefix may end anywhere: only whole elements before the cut are read, and for
// objects other than query identifiers the walk stops at the first element beyond group 0020, so
// pixel data (encapsulated or not) is never parsed.
#include <span>
#include <string_view>

#include "dicom/model.h"
#include "dicom/transfer_syntax.h"

namespace wardgate::dicom {

struct PeekInput {
  std::span<const std::byte> prefix;
  DataSetCoding coding = DataSetCoding::kUnknown;
  std::string_view transfer_syntax;
  bool query = false;  // a C-FIND/C-MOVE/C-GET identifier: list the keys present
  bool whole = false;  // the prefix is the entire data set
};

DataSetIdentifiers peek_data_set(const PeekInput& input);

}  // namespace wardgate::dicom
