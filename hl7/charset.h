#pragma once
// Character sets of HL7 v2 text (MSH-18, HL7 table 0211 in the spellings the table uses, plus
// names seen in practice) and their conversion to UTF-8. ASCII, ISO 8859-1 and UTF-8 are handled
// here; the other sets through glibc's iconv, one cached conversion descriptor per set. Bytes
// that do not decode are written as "\x{hh}" so nothing is silently lost.
#include <iconv.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace wardgate::hl7 {

// How delimiters are found among the bytes of a character set.
enum class Multibyte : std::uint8_t {
  kNone,  // every byte below 0x80 is the ASCII character (UTF-8, EUC-KR, EUC-TW: trail bytes
          // are 0x80 or above)
  // GB 18030/GBK and Big5: trail bytes (0x40-0xFE) may equal HL7 delimiters, so delimiter scans
  // skip the byte after a lead byte (0x81-0xFE).
  kLeadByte,
  // ISO 2022 (JIS X 0208 "ISO IR87", JIS X 0212 "ISO IR159"): after ESC $ ... two-byte
  // characters of 7-bit bytes, which may equal HL7 delimiters, until ESC ( ... shifts back.
  kIso2022,
};

// UTF-16 and UTF-32 encode the whole message, delimiters included; the parser converts such a
// frame to UTF-8 before it reads it (message_parser.h).
enum class WideEncoding : std::uint8_t { kNone, kUtf16, kUtf32 };

struct Charset {
  enum class Kind : std::uint8_t { kAscii, kLatin1, kUtf8, kIconv };
  Kind kind = Kind::kAscii;
  std::string iconv_name;  // kIconv only
  Multibyte multibyte = Multibyte::kNone;
  // kLeadByte, kept for the users that only know lead bytes (hl7/ack_builder, frame_gate).
  bool double_byte_lead = false;
  WideEncoding wide = WideEncoding::kNone;
  std::string name;  // canonical (table 0211) name reported in Message::charset_used
};

// Resolves an MSH-18 value (case, spaces, '-' and '_' ignored); nullopt when unknown. An empty
// value is ASCII (the HL7 default). Every value of HL7 table 0211 (v2.5.1-v2.9) is known: ASCII,
// 8859/1-9, 8859/15, ISO IR14, ISO IR87, ISO IR159, GB 18030-2000, KS X 1001, CNS 11643-1992,
// BIG-5, UNICODE, UNICODE UTF-8, UNICODE UTF-16, UNICODE UTF-32; and common other spellings
// (ISO-8859-1, UTF-8, GBK, GB2312, EUC-KR, BIG5, ISO-2022-JP, ...).
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
