#include "hl7/charset.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <utility>

namespace wardgate::hl7 {
namespace {

const iconv_t kNoHandle = reinterpret_cast<iconv_t>(-1);  // NOLINT: iconv's own error value

std::string normalise(std::string_view name) {
  std::string out;
  for (const char c : name) {
    if (c == ' ' || c == '-' || c == '_') continue;
    out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return out;
}

void append_code_point(std::uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Length of the valid UTF-8 sequence at s[i], 0 if invalid (overlongs, surrogates, > U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  std::size_t n = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
  } else {
    return 0;
  }
  if (s.size() - i < n) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
  }
  if (c == 0xE0 && b(1) < 0xA0) return 0;
  if (c == 0xED && b(1) >= 0xA0) return 0;
  if (c == 0xF0 && b(1) < 0x90) return 0;
  if (c == 0xF4 && b(1) >= 0x90) return 0;
  return n;
}

}  // namespace

void append_escaped_byte(unsigned char byte, std::string& out) {
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  out += "\\x{";
  out += kHex[byte >> 4];
  out += kHex[byte & 0xF];
  out += '}';
}

std::optional<Charset> resolve_charset(std::string_view hl7_name) {
  const std::string n = normalise(hl7_name);
  Charset cs;
  const auto via_iconv = [&](const char* iconv_name, const char* name,
                             Multibyte multibyte = Multibyte::kNone) {
    cs.kind = Charset::Kind::kIconv;
    cs.iconv_name = iconv_name;
    cs.multibyte = multibyte;
    cs.double_byte_lead = multibyte == Multibyte::kLeadByte;
    cs.name = name;
    return cs;
  };
  const auto is = [&](std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  // The DICOM names (ISO_IR 6, ISO_IR 100, ...) are what imaging devices that also speak HL7 send.
  if (is({"", "ASCII", "USASCII", "ISOIR6", "ISO646"})) {
    cs.name = "ASCII";
    return cs;
  }
  if (is({"8859/1", "ISO8859/1", "ISO88591", "LATIN1", "ISOIR100"})) {
    cs.kind = Charset::Kind::kLatin1;
    cs.name = "8859/1";
    return cs;
  }
  // "UNICODE" (ISO/IEC 10646, withdrawn from the table) is sent for UTF-8 in practice.
  if (is({"UNICODEUTF8", "UTF8", "UNICODE", "ISOIR192"})) {
    cs.kind = Charset::Kind::kUtf8;
    cs.name = "UNICODE UTF-8";
    return cs;
  }
  // ISO 8859 parts: "8859/N", "ISO-8859-N", and the DICOM ISO_IR numbers.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kIsoIr = {{
      {"ISOIR101", "2"},
      {"ISOIR109", "3"},
      {"ISOIR110", "4"},
      {"ISOIR144", "5"},
      {"ISOIR127", "6"},
      {"ISOIR126", "7"},
      {"ISOIR138", "8"},
      {"ISOIR148", "9"},
      {"ISOIR203", "15"},
  }};
  std::string part;
  for (const auto& [dicom, number] : kIsoIr) {
    if (n == dicom) part = number;
  }
  for (const std::string_view prefix : {"8859/", "ISO8859/", "ISO8859"}) {
    if (part.empty() && n.starts_with(prefix)) part = n.substr(prefix.size());
  }
  if ((part.size() == 1 && part[0] >= '2' && part[0] <= '9') || part == "15") {
    cs.kind = Charset::Kind::kIconv;
    cs.iconv_name = "ISO-8859-" + part;
    cs.name = "8859/" + part;
    return cs;
  }
  if (n == "LATIN9") return via_iconv("ISO-8859-15", "8859/15");
  // JIS X 0201: one byte, Roman and half-width katakana (0xA1-0xDF), a subset of Shift_JIS.
  if (is({"ISOIR14", "ISOIR13", "JISX0201"})) return via_iconv("SJIS", "ISO IR14");
  // JIS X 0208 and JIS X 0212 reached by ISO 2022 escape sequences. ISO-2022-JP-3 also knows
  // JIS X 0201 katakana (ESC ( I); ISO-2022-JP-2 is the one that knows JIS X 0212.
  if (is({"ISOIR87", "ISO2022IR87", "JISX0208", "ISO2022JP", "JIS"})) {
    return via_iconv("ISO-2022-JP-3", "ISO IR87", Multibyte::kIso2022);
  }
  if (is({"ISOIR159", "ISO2022IR159", "JISX0212", "ISO2022JP2", "ISO2022JP1"})) {
    return via_iconv("ISO-2022-JP-2", "ISO IR159", Multibyte::kIso2022);
  }
  // GB 18030 is a superset of GBK and GB 2312; "CHINESE" is what some Chinese HIS send.
  if (is({"GB180302000", "GB180302005", "GB18030", "GBK", "GB2312", "EUCCN", "CHINESE", "ISOIR58",
          "CP936"})) {
    return via_iconv("GB18030", "GB 18030", Multibyte::kLeadByte);
  }
  // KS X 1001 in its EUC form (both bytes 0xA1-0xFE), as Korean systems send it.
  if (is({"KSX1001", "KSC5601", "EUCKR", "ISOIR149", "KOREAN"})) {
    return via_iconv("EUC-KR", "KS X 1001");
  }
  // CNS 11643 in its EUC form: every byte of a character is 0x8E or above.
  if (is({"CNS116431992", "CNS11643", "EUCTW"})) return via_iconv("EUC-TW", "CNS 11643-1992");
  if (is({"BIG5", "BIG5HKSCS", "CP950"})) return via_iconv("BIG5", "BIG-5", Multibyte::kLeadByte);
  if (is({"UNICODEUTF16", "UTF16", "UTF16LE", "UTF16BE", "UCS2"})) {
    cs.kind = Charset::Kind::kUtf8;
    cs.wide = WideEncoding::kUtf16;
    cs.name = "UNICODE UTF-16";
    return cs;
  }
  if (is({"UNICODEUTF32", "UTF32", "UTF32LE", "UTF32BE", "UCS4"})) {
    cs.kind = Charset::Kind::kUtf8;
    cs.wide = WideEncoding::kUtf32;
    cs.name = "UNICODE UTF-32";
    return cs;
  }
  return std::nullopt;
}

TextConverter::~TextConverter() {
  for (auto& [name, handle] : handles_) {
    if (handle != kNoHandle) iconv_close(handle);
  }
}

// Runs of bytes that need no conversion are appended whole: most HL7 text is plain ASCII.
bool TextConverter::append_utf8(const Charset& charset, std::string_view bytes, std::string& out) {
  bool clean = true;
  std::size_t run = 0;  // start of the bytes not yet appended
  const auto flush = [&](std::size_t end) {
    if (end > run) out.append(bytes.data() + run, end - run);
  };
  switch (charset.kind) {
    case Charset::Kind::kAscii:
      for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto u = static_cast<unsigned char>(bytes[i]);
        if (u < 0x80) continue;
        flush(i);
        append_escaped_byte(u, out);
        clean = false;
        run = i + 1;
      }
      break;
    case Charset::Kind::kLatin1:
      for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto u = static_cast<unsigned char>(bytes[i]);
        if (u < 0x80) continue;
        flush(i);
        append_code_point(u, out);
        run = i + 1;
      }
      break;
    case Charset::Kind::kUtf8:
      for (std::size_t i = 0; i < bytes.size();) {
        const auto u = static_cast<unsigned char>(bytes[i]);
        if (u < 0x80) {
          ++i;
          continue;
        }
        const std::size_t n = utf8_sequence(bytes, i);
        if (n != 0) {
          i += n;
          continue;
        }
        flush(i);
        append_escaped_byte(u, out);
        clean = false;
        run = ++i;
      }
      break;
    case Charset::Kind::kIconv:
      return append_iconv(charset, bytes, out);
  }
  flush(bytes.size());
  return clean;
}

bool TextConverter::append_iconv(const Charset& charset, std::string_view bytes, std::string& out) {
  auto it = handles_.find(charset.iconv_name);
  if (it == handles_.end()) {
    it =
        handles_.emplace(charset.iconv_name, iconv_open("UTF-8", charset.iconv_name.c_str())).first;
  }
  const iconv_t cd = it->second;
  bool clean = true;
  std::size_t pos = 0;
  // ASCII runs need no conversion; iconv only sees the rest. In ISO 2022 text 7-bit bytes are
  // two-byte characters after an escape sequence, in UTF-16/32 halves of characters: iconv sees
  // everything.
  const bool shifts =
      charset.multibyte == Multibyte::kIso2022 || charset.wide != WideEncoding::kNone;
  if (shifts && cd != kNoHandle) iconv(cd, nullptr, nullptr, nullptr, nullptr);
  while (pos < bytes.size()) {
    const auto u = static_cast<unsigned char>(bytes[pos]);
    if (u < 0x80 && (!shifts || cd == kNoHandle)) {
      std::size_t end = pos + 1;
      while (end < bytes.size() && static_cast<unsigned char>(bytes[end]) < 0x80) ++end;
      out.append(bytes.data() + pos, end - pos);
      pos = end;
      continue;
    }
    if (cd == kNoHandle) {
      append_escaped_byte(u, out);
      clean = false;
      ++pos;
      continue;
    }
    if (!shifts) iconv(cd, nullptr, nullptr, nullptr, nullptr);
    std::array<char, 256> buffer{};
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): iconv's input is not const
    char* in = const_cast<char*>(bytes.data() + pos);
    std::size_t in_left = bytes.size() - pos;
    char* o = buffer.data();
    std::size_t out_left = buffer.size();
    const std::size_t r = iconv(cd, &in, &in_left, &o, &out_left);
    const int err = errno;
    out.append(buffer.data(), static_cast<std::size_t>(o - buffer.data()));
    const auto consumed = static_cast<std::size_t>(in - (bytes.data() + pos));
    pos += consumed;
    if (r != static_cast<std::size_t>(-1)) continue;
    if (err == E2BIG && consumed > 0) continue;
    // EILSEQ, EINVAL (truncated sequence) or no progress: escape one byte and go on.
    if (pos < bytes.size()) {
      append_escaped_byte(static_cast<unsigned char>(bytes[pos]), out);
      clean = false;
      ++pos;
    }
  }
  return clean;
}

}  // namespace wardgate::hl7
