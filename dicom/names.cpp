#include "dicom/names.h"

namespace wardgate::dicom {

std::optional<std::string> ae_title(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  for (const char c : text) {
    if (c < 0x20 || c > 0x7e || c == '\\') return std::nullopt;
  }
  const auto first = text.find_first_not_of(' ');
  if (first == std::string_view::npos) return std::nullopt;
  const auto last = text.find_last_not_of(' ');
  return std::string(text.substr(first, last - first + 1));
}

bool valid_uid(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t end = text.find('.', start);
    if (end == std::string_view::npos) end = text.size();
    if (end == start) return false;
    if (end - start > 1 && text[start] == '0') return false;
    for (std::size_t i = start; i < end; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
    }
    if (end == text.size()) return true;
    start = end + 1;
  }
}

}  // namespace wardgate::dicom
