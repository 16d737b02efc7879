// Fuzz target: configuration parsing and validation. Any input must end in a Config or a
// ConfigError; any other exception, crash or sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "app/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)wardgate::app::parse_config(text, "fuzz.json");
  } catch (const wardgate::app::ConfigError&) {
  }
  return 0;
}
