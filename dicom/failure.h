#pragma once
// What a parsing stage hands back to the decoder when the stream violates the protocol: the kind
// (reported through DecoderCallbacks::on_violation) and a detail for the operator.
#include <string>

#include "dicom/decoder.h"

namespace wardgate::dicom {

struct Failure {
  Violation what;
  std::string detail;
};

}  // namespace wardgate::dicom
