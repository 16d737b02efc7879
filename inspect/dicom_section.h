#pragma once
// Reads and validates the `dicom` section of the configuration (docs/configuration.md): whether
// the DICOM inspector enforces devices[].dicom rules, and the decoder's limits. Throws
// common::ConfigError naming the key by its full path.
#include <nlohmann/json.hpp>

#include "dicom/decoder.h"

namespace wardgate::inspect {

struct DicomSection {
  bool enforce = true;  // false: violations are audited, the traffic goes on untouched
  dicom::DecoderLimits limits;
};

// The defaults when the section is absent.
DicomSection read_dicom_section(const nlohmann::json* section);

}  // namespace wardgate::inspect
