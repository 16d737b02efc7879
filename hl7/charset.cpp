#include "hl7/charset.h"

#include <array>
#include <cerrno>
#include <cstring>

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
  if (n.empty() || n == "ASCII" || n == "USASCII") {
    cs.name = "ASCII";
    return cs;
  }
  if (n == "8859/1" || n == "ISO88591" || n == "LATIN1") {
    cs.kind = Charset::Kind::kLatin1;
    cs.name = "8859/1";
    return cs;
  }
  if (n == "UNICODEUTF8" || n == "UTF8" || n == "UNICODE") {
    cs.kind = Charset::Kind::kUtf8;
    cs.name = "UNICODE UTF-8";
    return cs;
  }
  if (n.size() == 6 && n.starts_with("8859/") && n[5] >= '2' && n[5] <= '9') {
    cs.kind = Charset::Kind::kIconv;
    cs.iconv_name = std::string("ISO-8859-") + n[5];
    cs.name = n;
    return cs;
  }
  // GB 18030 is a superset of GBK and GB 2312; "CHINESE" is what some Chinese HIS send.
  if (n == "GB18030" || n == "GBK" || n == "GB2312" || n == "CHINESE" || n == "ISOIR58") {
    cs.kind = Charset::Kind::kIconv;
    cs.iconv_name = "GB18030";
    cs.double_byte_lead = true;
    cs.name = "GB 18030";
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
  // ASCII runs need no conversion; iconv only sees the rest.
  while (pos < bytes.size()) {
    const auto u = static_cast<unsigned char>(bytes[pos]);
    if (u < 0x80) {
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
    iconv(cd, nullptr, nullptr, nullptr, nullptr);
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
