#pragma once
// Character sets of HL7 v2 text (MSH-18, HL7 table 0211, plus names seen in practice) and their
// conversion to UTF-8. ASCII, ISO 8859-1 and UTF-8 are handled here; other sets through glibc's
// iconv, one cached conversion descriptor per set. Bytes that do not decode are written as
// "\x{hh}" so nothing is silently lost.
#include <iconv.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace wardgate::hl7 {

struct Charset {
  enum class Kind : std::uint8_t { kAscii, kLatin1, kUtf8, kIconv };
  Kind kind = Kind::kAscii;
  std::string iconv_name;  // kIconv only
  // GB 2312/GBK/GB 18030: trail bytes (0x40-0xFE) may equal HL7 delimiters, so delimiter scans
  // skip the byte after a lead byte (0x81-0xFE).
  bool double_byte_lead = false;
  std::string name;  // canonical name reported in Message::charset_used
};

// Resolves an MSH-18 value (case, spaces, '-' and '_' ignored); nullopt when unknown. An empty
// value is ASCII (the HL7 default).
std::optional<Charset> resolve_charset(std::string_view hl7_name);

class TextConverter {
 public:
  TextConverter() = default;
  ~TextConverter();
  TextConverter(const TextConverter&) = delete;
  TextConverter& operator=(const TextConverter&) = delete;

  // Appends `bytes`, in `charset`, to `out` as UTF-8. Returns false if some bytes were escaped.
  bool append_utf8(const Charset& charset, std::string_view bytes, std::string& out);

 private:
  bool append_iconv(const Charset& charset, std::string_view bytes, std::string& out);
  std::map<std::string, iconv_t, std::less<>> handles_;  // by iconv name; -1: unavailable
};

void append_escaped_byte(unsigned char byte, std::string& out);

}  // namespace wardgate::hl7
