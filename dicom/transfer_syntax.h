#pragma once
// How a negotiated transfer syntax encodes the data sets of its presentation context (PS3.5
// 10 and Annex A): what the identifier peek can read and what it must leave alone.
#include <cstdint>
#include <string_view>

#include "dicom/element_scanner.h"

namespace wardgate::dicom {

enum class DataSetCoding : std::uint8_t {
  kImplicitLittle,
  kExplicitLittle,  // also every encapsulated (compressed pixel data) syntax, PS3.5 A.4
  kExplicitBig,
  kDeflated,  // the whole data set is deflated (PS3.5 A.5): not peeked
  kUnknown,   // a private or unknown syntax: not peeked
};

DataSetCoding classify_transfer_syntax(std::string_view uid);

// The element encoding of a peekable coding; only for the first three.
ElementEncoding element_encoding(DataSetCoding coding);

}  // namespace wardgate::dicom
