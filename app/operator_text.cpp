#include "app/operator_text.h"

#include <unistd.h>

#include <cstdlib>

#include "audit/event_decode.h"

namespace wardgate::app {

bool printable_operator_text(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') return false;
    const std::size_t n = audit::utf8_sequence_length(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string check_operator_text(const std::string& text, std::size_t max_bytes,
                                const std::string& option) {
  if (text.empty()) return option + " is required";
  if (text.size() > max_bytes) {
    return option + " may be at most " + std::to_string(max_bytes) + " bytes";
  }
  if (!printable_operator_text(text)) {
    return option + " must be printable UTF-8 without quotes, backslashes or control characters";
  }
  return {};
}

std::string operator_name() {
  for (const char* var : {"SUDO_USER", "LOGNAME", "USER"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0' && std::string(v).size() <= 64) return v;
  }
  return "uid " + std::to_string(::getuid());
}

}  // namespace wardgate::app
