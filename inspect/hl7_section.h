#pragma once
// Reads and validates the `hl7` section of the configuration (docs/configuration.md): whether
// the HL7 inspector enforces devices[].hl7 rules, the decoder's limit and the acknowledgement
// timeout. Throws common::ConfigError naming the key by its full path.
#include <chrono>
#include <nlohmann/json.hpp>

#include "hl7/decoder.h"

namespace wardgate::inspect {

struct Hl7Section {
  // false: a message the rules refuse is audited as a security alert and relayed; true: wardgate
  // answers the device with an AR (or CR) acknowledgement and drops the message.
  bool enforce = false;
  hl7::DecoderLimits limits;  // default_charset: per device (devices[].hl7), not read here
  std::chrono::seconds ack_timeout{30};  // a message without an acknowledgement by then is reported
};

// The defaults when the section is absent.
Hl7Section read_hl7_section(const nlohmann::json* section);

}  // namespace wardgate::inspect
