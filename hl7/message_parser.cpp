#include "hl7/message_parser.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

#include "hl7/byte_scan.h"
#include "hl7/spec.h"

namespace wardgate::hl7 {
namespace {

constexpr int kNone = kNoSeparator;

bool is_lead(unsigned char c) { return c >= 0x81 && c <= 0xFE; }

// Finds the bytes of one string that can be delimiters: in a multi-byte set, the bytes of a
// character after its first (and, in ISO 2022, every byte of a two-byte run and of the escape
// sequences that shift in and out of it) never are. A string cut at a delimiter starts unshifted:
// delimiters are only read unshifted.
class CharScanner {
 public:
  explicit CharScanner(Multibyte mb) : mb_(mb) {}

  // How many bytes from s[i] on belong to a character that holds no delimiter; 0 when s[i] is
  // a one-byte ASCII character, which may be one.
  std::size_t skip(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (mb_) {
      case Multibyte::kNone:
        return 0;
      case Multibyte::kLeadByte:
        return is_lead(c) ? std::min<std::size_t>(2, s.size() - i) : 0;
      case Multibyte::kIso2022:
        break;
    }
    if (c == kEsc) {
      // ESC, intermediate bytes (0x20-0x2F), a final byte: "ESC $ B" and "ESC $ ( D" shift to
      // two bytes per character, "ESC ( B" and "ESC ( J" back to one.
      std::size_t j = i + 1;
      while (j < s.size() && s[j] >= 0x20 && s[j] <= 0x2F) ++j;
      shifted_ = i + 1 < s.size() && s[i + 1] == '$';
      return std::min(j + 1, s.size()) - i;
    }
    return shifted_ && c >= 0x21 && c <= 0x7E ? std::min<std::size_t>(2, s.size() - i) : 0;
  }

  static constexpr unsigned char kEsc = 0x1B;

 private:
  Multibyte mb_;
  bool shifted_ = false;
};

// The index-th piece of `s` cut at `sep`; bytes of multi-byte characters are never separators.
// Empty when there are fewer pieces.
std::string_view piece(std::string_view s, int sep, Multibyte mb, std::size_t index) {
  if (sep == kNone) return index == 0 ? s : std::string_view{};
  if (mb == Multibyte::kNone) {
    for (std::size_t start = 0, count = 0;; ++count) {
      const void* hit =
          start < s.size() ? std::memchr(s.data() + start, sep, s.size() - start) : nullptr;
      const std::size_t end =
          hit == nullptr ? s.size()
                         : static_cast<std::size_t>(static_cast<const char*>(hit) - s.data());
      if (count == index) return s.substr(start, end - start);
      if (hit == nullptr) return {};
      start = end + 1;
    }
  }
  std::size_t start = 0;
  std::size_t count = 0;
  CharScanner scanner(mb);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (const std::size_t n = scanner.skip(s, i); n > 0) {
      i += n - 1;
      continue;
    }
    if (static_cast<unsigned char>(s[i]) == sep) {
      if (count == index) return s.substr(start, i - start);
      ++count;
      start = i + 1;
    }
  }
  return count == index ? s.substr(start) : std::string_view{};
}

// Iterates over the pieces of `s` cut at `sep` in one pass.
class Pieces {
 public:
  Pieces(std::string_view s, int sep, Multibyte mb) : s_(s), sep_(sep), scanner_(mb) {}

  bool next(std::string_view& out) {
    if (done_) return false;
    for (std::size_t i = pos_; i < s_.size(); ++i) {
      if (const std::size_t n = scanner_.skip(s_, i); n > 0) {
        i += n - 1;
        continue;
      }
      if (sep_ != kNone && static_cast<unsigned char>(s_[i]) == sep_) {
        out = s_.substr(pos_, i - pos_);
        pos_ = i + 1;
        return true;
      }
    }
    out = s_.substr(std::min(pos_, s_.size()));
    done_ = true;
    return true;
  }

 private:
  std::string_view s_;
  int sep_;
  CharScanner scanner_;
  std::size_t pos_ = 0;
  bool done_ = false;
};

// The first `count` fields of a segment (fewer if it has fewer). MSH needs up to MSH-18.
constexpr std::size_t kMshFields = 19;
constexpr std::size_t kPidFields = 6;  // PID-3, PID-5
constexpr std::size_t kAckFields = 4;  // MSA-1..3, ERR-1..3
// PID-3 repetitions kept (memory stays bounded whatever a message holds).
constexpr std::size_t kMaxPatientIdentifiers = 64;
void split(std::string_view s, int sep, Multibyte mb, std::size_t count,
           std::vector<std::string_view>& out) {
  out.clear();
  if (mb == Multibyte::kNone && sep != kNone && count > 0) {
    std::size_t start = 0;
    detail::for_each_byte(s.data(), s.size(), static_cast<char>(sep), [&](std::size_t i) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
      return out.size() < count;
    });
    if (out.size() < count) out.push_back(s.substr(start));
    return;
  }
  Pieces pieces(s, sep, mb);
  std::string_view p;
  while (out.size() < count && pieces.next(p)) out.push_back(p);
}

bool contains(std::string_view s, int c) {
  return c != kNone && !s.empty() && std::memchr(s.data(), c, s.size()) != nullptr;
}

struct Segment {
  std::string_view text;
  bool line_feed = false;  // terminated by \n or \r\n
};

// The segments of a frame, each cut at \r, \n or \r\n.
class Segments {
 public:
  explicit Segments(std::string_view s) : s_(s) {}

  bool done() const { return pos_ >= s_.size(); }
  std::size_t pos() const { return pos_; }

  Segment next() {
    const std::size_t end = detail::find_either(s_.data(), pos_, s_.size(), '\r', '\n');
    Segment seg{s_.substr(pos_, end - pos_), false};
    if (end == s_.size()) {
      pos_ = end;
    } else if (s_[end] == '\r' && end + 1 < s_.size() && s_[end + 1] == '\n') {
      seg.line_feed = true;
      pos_ = end + 2;
    } else {
      seg.line_feed = s_[end] == '\n';
      pos_ = end + 1;
    }
    return seg;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

bool is_alnum(int c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Decodes values of one message into strings it is given (their capacity is reused). The `set_`
// functions replace the string's content.
class Text {
 public:
  Text(const Separators& sep, const Charset& charset, TextConverter& converter,
       std::string& scratch, bool& clean)
      : sep_(sep),
        charset_(charset),
        converter_(converter),
        scratch_(scratch),
        clean_(clean),
        mb_(charset.multibyte),
        // Joining pieces with '^' and '&' gives back the raw text: without escapes (and
        // double-byte characters) a value needs no splitting, only conversion.
        plain_components_(sep.component == '^' || sep.component == kNone),
        plain_subcomponents_(sep.subcomponent == '&' || sep.subcomponent == kNone) {}

  Multibyte mb() const { return mb_; }

  // One subcomponent (or any value without separators): escapes decoded, then to UTF-8.
  void set_value(std::string_view raw, std::string& out) {
    out.clear();
    if (plain_prefix(raw, kNone) == raw.size()) {
      out.append(raw);
      return;
    }
    append_value(raw, out);
  }
  // A component: its subcomponents decoded and joined with '&'.
  void set_component(std::string_view raw, std::string& out) {
    out.clear();
    if (plain_subcomponents_ && plain_prefix(raw, kNone) == raw.size()) {
      out.append(raw);
      return;
    }
    append_component(raw, out);
  }
  // The first repetition of a field, components joined with '^'.
  void set_composite(std::string_view field, std::string& out) {
    out.clear();
    if (plain_components_ && plain_subcomponents_) {
      const std::size_t n = plain_prefix(field, sep_.repetition);
      if (n == field.size() || static_cast<unsigned char>(field[n]) == sep_.repetition) {
        out.append(field.substr(0, n));
        return;
      }
    }
    const std::string_view rep = piece(field, sep_.repetition, mb_, 0);
    if (mb_ == Multibyte::kNone && plain_components_ && plain_subcomponents_ &&
        !contains(rep, sep_.escape)) {
      convert(rep, out);
      return;
    }
    Pieces comps(rep, sep_.component, mb_);
    std::string_view comp;
    for (bool first = true; comps.next(comp); first = false) {
      if (!first) out += '^';
      append_component(comp, out);
    }
  }

  std::string_view nth_component(std::string_view field, std::size_t index) const {
    return piece(piece(field, sep_.repetition, mb_, 0), sep_.component, mb_, index);
  }
  // The first `count` components of the first repetition of a field, in one pass.
  void components(std::string_view field, std::size_t count,
                  std::vector<std::string_view>& out) const {
    split(piece(field, sep_.repetition, mb_, 0), sep_.component, mb_, count, out);
  }

 private:
  // The length of the prefix of `s` up to `stop` that is plain ASCII without escapes: text the
  // same in every charset, whatever the multi-byte rules (lead bytes are not ASCII, ISO 2022
  // shifts start with ESC).
  std::size_t plain_prefix(std::string_view s, int stop) const {
    std::size_t i = 0;
    for (; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x80 || c == CharScanner::kEsc || c == sep_.escape || c == stop) break;
    }
    return i;
  }

  void convert(std::string_view bytes, std::string& out) {
    if (!converter_.append_utf8(charset_, bytes, out)) clean_ = false;
  }

  void append_value(std::string_view raw, std::string& out) {
    if (mb_ == Multibyte::kNone && !contains(raw, sep_.escape)) {
      convert(raw, out);
      return;
    }
    scratch_.clear();
    unescape(raw, scratch_);
    convert(scratch_, out);
  }

  void append_component(std::string_view raw, std::string& out) {
    if (mb_ == Multibyte::kNone && plain_subcomponents_ && !contains(raw, sep_.escape)) {
      convert(raw, out);
      return;
    }
    Pieces subs(raw, sep_.subcomponent, mb_);
    std::string_view sub;
    for (bool first = true; subs.next(sub); first = false) {
      if (!first) out += '&';
      append_value(sub, out);
    }
  }

  // HL7 v2.5.1 section 2.7: \F\ \S\ \T\ \R\ \E\ \Xhh..\ \.br\; highlighting (\H\ \N\) dropped;
  // anything else (\Cxxyy\, \Mxxyyzz\, \Z..\, empty, unterminated) kept verbatim.
  void unescape(std::string_view raw, std::string& out) const {
    if (mb_ == Multibyte::kNone &&
        (sep_.escape == kNone || raw.find(static_cast<char>(sep_.escape)) == raw.npos)) {
      out.append(raw);
      return;
    }
    CharScanner scanner(mb_);
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const auto c = static_cast<unsigned char>(raw[i]);
      if (const std::size_t n = scanner.skip(raw, i); n > 0) {
        out += raw.substr(i, n);
        i += n - 1;
        continue;
      }
      if (sep_.escape == kNone || c != sep_.escape) {
        out += raw[i];
        continue;
      }
      // An escape sequence holds no shifted text (HL7 v2.5.1 2.7): its scan does not change
      // the state of the text around it.
      std::size_t j = i + 1;
      CharScanner inner(mb_ == Multibyte::kLeadByte ? mb_ : Multibyte::kNone);
      while (j < raw.size() && static_cast<unsigned char>(raw[j]) != sep_.escape) {
        j += std::max<std::size_t>(1, inner.skip(raw, j));
      }
      if (j >= raw.size()) {
        out += raw.substr(i);
        return;
      }
      const std::string_view seq = raw.substr(i + 1, j - i - 1);
      if (!expand(seq, out)) out += raw.substr(i, j - i + 1);
      i = j;
    }
  }

  bool expand(std::string_view seq, std::string& out) const {
    if (seq.empty()) return false;  // "\\": no sequence at all, kept as sent
    if (seq.size() == 1) {
      int ch = kNone;
      switch (seq[0]) {
        case spec::kEscField:
          ch = sep_.field;
          break;
        case spec::kEscComponent:
          ch = sep_.component;
          break;
        case spec::kEscSubcomponent:
          ch = sep_.subcomponent;
          break;
        case spec::kEscRepetition:
          ch = sep_.repetition;
          break;
        case spec::kEscEscape:
          ch = sep_.escape;
          break;
        case spec::kEscHighlightStart:
        case spec::kEscHighlightEnd:
          return true;
        default:
          return false;
      }
      if (ch == kNone) return false;
      out += static_cast<char>(ch);
      return true;
    }
    if (seq == ".br") {
      out += '\n';
      return true;
    }
    if (seq[0] == spec::kEscHex && seq.size() % 2 == 1) {
      for (std::size_t k = 1; k < seq.size(); ++k) {
        if (!is_hex(seq[k])) return false;
      }
      for (std::size_t k = 1; k < seq.size(); k += 2) {
        out += static_cast<char>(hex_value(seq[k]) * 16 + hex_value(seq[k + 1]));
      }
      return true;
    }
    return false;
  }

  const Separators& sep_;
  const Charset& charset_;
  TextConverter& converter_;
  std::string& scratch_;  // unescaped bytes before conversion
  bool& clean_;
  Multibyte mb_;
  bool plain_components_;
  bool plain_subcomponents_;
};

bool is_batch_segment(std::string_view id) {
  return id == "FHS" || id == "BHS" || id == "BTS" || id == "FTS";
}

std::string_view segment_id(std::string_view segment) { return segment.substr(0, 3); }

bool plain_id(std::string_view id, int field_separator) {
  for (const char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || u == field_separator) return false;
  }
  return true;
}

// Strings kept from message to message keep at most this much capacity.
constexpr std::size_t kKeptCapacity = 1024;
void release_if_large(std::string& s) {
  if (s.capacity() <= kKeptCapacity) return;
  s.clear();
  s.shrink_to_fit();
}

std::string_view field(const std::vector<std::string_view>& fields, std::size_t n) {
  return n < fields.size() ? fields[n] : std::string_view{};
}

}  // namespace

MessageParser::MessageParser(std::string_view default_charset)
    : default_charset_(resolve_charset(default_charset).value_or(Charset{})),
      has_default_(!default_charset.empty() && resolve_charset(default_charset).has_value()),
      utf8_(*resolve_charset("UNICODE UTF-8")) {
  // A UTF-16 or UTF-32 default cannot read a frame that is not: such frames are recognised by
  // their bytes (see parse()), the default then only names the set.
  if (default_charset_.wide != WideEncoding::kNone) default_charset_ = utf8_;
}

namespace {

// The iconv name of a frame in UTF-16 or UTF-32 (its byte order mark, `bom` bytes long, or NULs
// around the first ASCII letters: "M\0S\0H\0"); null for any other frame.
const char* wide_encoding(std::string_view f, WideEncoding& wide, std::size_t& bom) {
  using namespace std::string_view_literals;
  const auto zero = [&](std::size_t i) { return i < f.size() && f[i] == '\0'; };
  const auto other = [&](std::size_t i) { return i < f.size() && f[i] != '\0'; };
  bom = 0;
  wide = WideEncoding::kUtf32;
  if (f.starts_with("\xFF\xFE\0\0"sv)) {
    bom = 4;
    return "UTF-32LE";
  }
  if (f.starts_with("\0\0\xFE\xFF"sv)) {
    bom = 4;
    return "UTF-32BE";
  }
  if (other(0) && zero(1) && zero(2) && zero(3) && other(4)) return "UTF-32LE";
  if (zero(0) && zero(1) && zero(2) && other(3)) return "UTF-32BE";
  wide = WideEncoding::kUtf16;
  if (f.starts_with("\xFF\xFE"sv)) {
    bom = 2;
    return "UTF-16LE";
  }
  if (f.starts_with("\xFE\xFF"sv)) {
    bom = 2;
    return "UTF-16BE";
  }
  if (other(0) && zero(1) && other(2) && zero(3)) return "UTF-16LE";
  if (zero(0) && other(1) && zero(2) && other(3)) return "UTF-16BE";
  wide = WideEncoding::kNone;
  return nullptr;
}

// The bytes UTF-8 `text` takes in `wide`.
std::size_t wide_size(std::string_view text, WideEncoding wide) {
  std::size_t size = 0;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u & 0xC0) == 0x80) continue;  // continuation byte
    size += wide == WideEncoding::kUtf32 || u >= 0xF0 ? 4 : 2;
  }
  return size;
}

}  // namespace

std::string MessageParser::parse(std::string_view frame, MessageSink& sink) {
  std::size_t bom = 0;
  const char* from = wide_encoding(frame, wide_, bom);
  if (from == nullptr) return parse_text(frame, sink);
  Charset source;
  source.kind = Charset::Kind::kIconv;
  source.iconv_name = from;
  source.wide = wide_;
  wide_text_.clear();
  converter_.append_utf8(source, frame.substr(bom), wide_text_);
  wide_charset_ = utf8_;
  wide_charset_.wide = wide_;
  wide_charset_.name = wide_ == WideEncoding::kUtf16 ? "UNICODE UTF-16" : "UNICODE UTF-32";
  std::string error = parse_text(wide_text_, sink);
  wide_ = WideEncoding::kNone;
  release_if_large(wide_text_);
  return error;
}

std::string MessageParser::parse_text(std::string_view frame, MessageSink& sink) {
  std::string error;
  bool batch = false;
  bool any_message = false;
  bool open = false;       // an MSH started a message
  bool usable = false;     // ... and it could be parsed
  bool line_feed = false;  // one of its segments ended with \n or \r\n
  std::size_t first = 0;   // offset of its MSH
  const auto finish = [&](std::size_t end) {
    if (!open) return;
    if (usable) {
      const std::size_t size = wide_ == WideEncoding::kNone
                                   ? end - first
                                   : wide_size(frame.substr(first, end - first), wide_);
      end_message(size, line_feed, sink);
    }
    any_message = true;
    open = false;
  };
  for (Segments segments(frame); !segments.done();) {
    const std::size_t begin = segments.pos();
    const Segment seg = segments.next();
    if (!seg.text.empty()) {
      const std::string_view id = segment_id(seg.text);
      if (is_batch_segment(id)) {
        finish(begin);
        batch = true;
        continue;
      }
      if (id == "MSH") {
        finish(begin);
        open = true;
        first = begin;
        line_feed = false;
        usable = begin_message(seg.text, batch, error);
      } else if (!open) {
        if (error.empty()) error = "segment '" + std::string(id) + "' outside a message";
        continue;
      } else if (usable) {
        message_segment(seg.text);
      }
    }
    if (open) line_feed = line_feed || seg.line_feed;
  }
  finish(frame.size());
  if (!any_message && !batch && error.empty()) error = "no MSH segment";
  return error;
}

const Charset* MessageParser::resolve(std::string_view name) {
  if (!resolved_valid_ || name != resolved_name_) {
    resolved_ = resolve_charset(name);
    // A long (bogus) name is not kept: it would stay allocated for nothing.
    resolved_valid_ = name.size() <= 64;
    if (resolved_valid_) resolved_name_.assign(name);
  }
  return resolved_ ? &*resolved_ : nullptr;
}

bool MessageParser::begin_message(std::string_view msh, bool in_batch, std::string& error) {
  const auto fail = [&](const char* why) {
    if (error.empty()) error = why;
    return false;
  };
  if (msh.size() < 4) return fail("MSH segment too short");
  Separators sep;
  sep.field = static_cast<unsigned char>(msh[3]);
  if (is_alnum(sep.field) || sep.field == ' ') return fail("MSH-1 is not a valid field separator");
  std::array<int*, 4> encoding = {&sep.component, &sep.repetition, &sep.escape, &sep.subcomponent};
  std::size_t k = 4;
  for (int* slot : encoding) {
    if (k >= msh.size() || static_cast<unsigned char>(msh[k]) == sep.field) break;
    const int c = static_cast<unsigned char>(msh[k++]);
    if (is_alnum(c) || c == sep.field || c == sep.component || c == sep.repetition ||
        c == sep.escape) {
      return fail("MSH-2 encoding characters are invalid");
    }
    *slot = c;
  }
  sep_ = sep;

  Message& m = message_;
  m.sending_application.clear();
  m.sending_facility.clear();
  m.receiving_application.clear();
  m.receiving_facility.clear();
  m.date_time.clear();
  m.security.clear();
  m.message_type.clear();
  m.trigger_event.clear();
  m.message_structure.clear();
  m.control_id.clear();
  m.processing_id.clear();
  m.version.clear();
  m.accept_ack_type.clear();
  m.application_ack_type.clear();
  m.character_set.clear();
  m.charset_used.clear();
  m.patient_name.clear();
  if (m.ack) {
    spare_ack_ = std::move(*m.ack);
    m.ack.reset();
  }
  m.segment_count = 1;  // this MSH
  m.obx_count = 0;
  m.z_segment_count = 0;
  m.size = 0;
  m.in_batch = in_batch;
  m.notes.clear();
  m.header = msh;
  identifiers_ = 0;
  seen_pid_ = false;
  clean_ = true;

  // MSH-18 is ASCII, but a multi-byte charset decides where the fields before it end: read it
  // with the default's rules, then again with the declared set's rules if they differ.
  Multibyte rules = default_charset_.multibyte;
  const auto declared = [&](Multibyte mb) {
    rules = mb;
    split(msh, sep.field, mb, kMshFields, fields_);
    const std::string_view f = field(fields_, 17);
    const std::string_view first = piece(piece(f, sep.repetition, mb, 0), sep.component, mb, 0);
    const Charset* c = resolve(first);
    if (c == nullptr || c->kind != Charset::Kind::kAscii) return first;
    // ASCII switching to an ISO 2022 set by escape sequences: Japanese systems declare
    // "~ISO IR87" (HL7 v2.5.1 2.15.9.18, the first repetition the default, then alternates).
    Pieces reps(f, sep.repetition, mb);
    std::string_view rep;
    reps.next(rep);
    while (reps.next(rep)) {
      const std::string_view alternate = piece(rep, sep.component, mb, 0);
      const Charset* a = resolve(alternate);
      if (a != nullptr && a->multibyte == Multibyte::kIso2022) return alternate;
    }
    return first;
  };
  const Multibyte base = default_charset_.multibyte;
  std::string_view name = declared(base);
  const Charset* charset = resolve(name);
  // A multi-byte set declared after multi-byte text (a facility "東院": 東 is 0x96 0x7C, its
  // trail byte a '|') is found only when the MSH is read with that set's rules.
  if ((charset == nullptr || charset->multibyte == Multibyte::kNone) &&
      std::any_of(msh.begin(), msh.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x80 || u == CharScanner::kEsc;
      })) {
    bool found = false;
    for (const Multibyte mb : {Multibyte::kLeadByte, Multibyte::kIso2022}) {
      if (mb == base) continue;
      const std::string_view other = declared(mb);
      if (const Charset* c = resolve(other); c != nullptr && c->multibyte == mb) {
        name = other;
        charset = c;
        found = true;
        break;
      }
    }
    if (!found) {
      name = declared(base);
      charset = resolve(name);
    }
  }
  if (charset != nullptr && charset->multibyte != rules) {
    const Multibyte wanted = charset->multibyte;
    const std::string_view again = declared(wanted);
    const std::optional<Charset> second = resolve_charset(again);
    if (second && second->multibyte == wanted) {
      name = again;
      charset = resolve(name);
    } else {
      split(msh, sep.field, base, kMshFields, fields_);
      charset = nullptr;
    }
  }
  {
    bool ignored = true;
    Text ascii(sep_, ascii_, converter_, unescaped_, ignored);
    ascii.set_value(name, m.character_set);
  }
  if (wide_ != WideEncoding::kNone) {
    // The frame was UTF-16 or UTF-32 and is read as UTF-8 now, whatever MSH-18 says.
    if (charset == nullptr || charset->wide != wide_) {
      m.notes.push_back("MSH-18 '" + m.character_set + "' but the frame is encoded in " +
                        wide_charset_.name);
    }
    charset = &wide_charset_;
  } else if (charset != nullptr && charset->wide != WideEncoding::kNone) {
    charset = has_default_ ? &default_charset_ : &utf8_;
    m.notes.push_back("MSH-18 '" + m.character_set +
                      "' but the message is not encoded in it, decoded as " + charset->name);
  }
  if (name.empty() && charset != &wide_charset_) charset = &default_charset_;
  if (charset == nullptr) {
    // Unknown: the device's configured set, else UTF-8 where the bytes are UTF-8 (what most
    // devices that send an unregistered name use), the rest shown as \x{hh}.
    charset = has_default_ ? &default_charset_ : &utf8_;
    m.notes.push_back("unknown MSH-18 '" + m.character_set + "', decoded as " + charset->name +
                      (has_default_ ? " (the device's default)" : " (no default for the device)"));
  }
  // Points into resolved_ or at default_charset_: nothing resolves again until the next MSH.
  charset_ = charset;
  m.charset_used = charset->name;
  Text t(sep_, *charset_, converter_, unescaped_, clean_);
  const auto msh_field = [&](std::size_t n) { return field(fields_, n - 1); };
  t.set_composite(msh_field(3), m.sending_application);
  t.set_composite(msh_field(4), m.sending_facility);
  t.set_composite(msh_field(5), m.receiving_application);
  t.set_composite(msh_field(6), m.receiving_facility);
  t.set_component(t.nth_component(msh_field(7), 0), m.date_time);
  t.set_composite(msh_field(8), m.security);
  t.components(msh_field(9), 3, parts_);
  t.set_component(field(parts_, 0), m.message_type);
  t.set_component(field(parts_, 1), m.trigger_event);
  t.set_component(field(parts_, 2), m.message_structure);
  t.set_composite(msh_field(10), m.control_id);
  t.set_composite(msh_field(11), m.processing_id);
  t.set_component(t.nth_component(msh_field(12), 0), m.version);
  t.set_composite(msh_field(15), m.accept_ack_type);
  t.set_composite(msh_field(16), m.application_ack_type);
  // Whole fields, not their first repetition: MSH-5 and MSH-9 do not repeat, and an engine that
  // reads "ORU~ADT" as one type must not see the type checked be "ORU".
  m.raw_message_type = piece(msh_field(9), sep_.component, t.mb(), 0);
  m.raw_trigger_event = piece(msh_field(9), sep_.component, t.mb(), 1);
  m.raw_receiving_application = msh_field(5);
  m.raw_receiving_namespace = piece(msh_field(5), sep_.component, t.mb(), 0);
  m.component_separator = sep_.component;
  return true;
}

void MessageParser::message_segment(std::string_view segment) {
  Message& m = message_;
  ++m.segment_count;
  // Nearly always three ASCII letters and the field separator.
  const bool simple = segment.size() >= 4 && static_cast<unsigned char>(segment[3]) == sep_.field &&
                      plain_id(segment.substr(0, 3), sep_.field);
  const std::string_view id =
      simple ? segment.substr(0, 3) : piece(segment, sep_.field, charset_->multibyte, 0);
  if (id == "OBX") {
    ++m.obx_count;
  } else if (!id.empty() && id[0] == 'Z') {
    ++m.z_segment_count;
  } else if (id == "PID" && !seen_pid_) {
    seen_pid_ = true;
    parse_pid(segment);
  } else if (id == "MSA" && !m.ack) {
    Text t(sep_, *charset_, converter_, unescaped_, clean_);
    split(segment, sep_.field, t.mb(), kAckFields, fields_);
    Acknowledgment& ack = m.ack.emplace(std::move(spare_ack_));
    t.set_component(t.nth_component(field(fields_, 1), 0), ack.code_text);
    ack.code = parse_ack_code(ack.code_text);
    t.set_composite(field(fields_, 2), ack.control_id);
    t.set_composite(field(fields_, 3), ack.text);
    ack.error_segments = 0;
    ack.error_code.clear();
    ack.error_text.clear();
  } else if (id == "ERR" && m.ack && m.ack->error_segments++ == 0) {
    // ERR only matters in acknowledgments; the first one is reported.
    Text t(sep_, *charset_, converter_, unescaped_, clean_);
    split(segment, sep_.field, t.mb(), kAckFields, fields_);
    const std::string_view err = field(fields_, 3);
    t.set_component(t.nth_component(err, 0), m.ack->error_code);
    t.set_component(t.nth_component(err, 1), m.ack->error_text);
    if (m.ack->error_code.empty() && m.ack->error_text.empty()) {
      const std::string_view location = t.nth_component(field(fields_, 1), 3);
      t.set_value(piece(location, sep_.subcomponent, t.mb(), 0), m.ack->error_code);
      t.set_value(piece(location, sep_.subcomponent, t.mb(), 1), m.ack->error_text);
    }
  }
}

void MessageParser::parse_pid(std::string_view segment) {
  Message& m = message_;
  Text t(sep_, *charset_, converter_, unescaped_, clean_);
  split(segment, sep_.field, t.mb(), kPidFields, fields_);
  if (fields_.size() > 3) {
    Pieces reps(fields_[3], sep_.repetition, t.mb());
    std::string_view rep;
    while (reps.next(rep)) {
      if (rep.empty()) continue;
      if (identifiers_ == kMaxPatientIdentifiers) {
        m.notes.push_back("PID-3 identifiers beyond " + std::to_string(kMaxPatientIdentifiers) +
                          " not kept");
        break;
      }
      // The elements left from earlier messages are overwritten, their strings reused.
      if (identifiers_ == m.patient_identifiers.size()) m.patient_identifiers.emplace_back();
      PatientIdentifier& pi = m.patient_identifiers[identifiers_++];
      split(rep, sep_.component, t.mb(), 5, parts_);
      t.set_component(field(parts_, 0), pi.id);
      t.set_component(field(parts_, 3), pi.assigning_authority);
      t.set_component(field(parts_, 4), pi.identifier_type);
    }
  }
  if (fields_.size() > 5) t.set_composite(fields_[5], m.patient_name);
}

void MessageParser::end_message(std::size_t size, bool line_feed, MessageSink& sink) {
  Message& m = message_;
  m.size = size;
  m.patient_identifiers.resize(identifiers_);
  if (line_feed) m.notes.emplace_back(R"(segments terminated by \n or \r\n instead of \r)");
  if (!clean_) m.notes.emplace_back(R"(undecodable bytes shown as \x{hh})");
  sink.on_message(m);
  // Memory stays bounded as before the Message was reused: a large value does not keep its
  // buffer until the next message.
  m.header = {};
  m.raw_message_type = {};
  m.raw_trigger_event = {};
  m.raw_receiving_application = {};
  m.raw_receiving_namespace = {};
  m.notes.clear();
  for (std::string* text :
       {&m.sending_application, &m.sending_facility, &m.receiving_application,
        &m.receiving_facility, &m.date_time, &m.security, &m.message_type, &m.trigger_event,
        &m.message_structure, &m.control_id, &m.processing_id, &m.version, &m.accept_ack_type,
        &m.application_ack_type, &m.character_set, &m.charset_used, &m.patient_name, &unescaped_}) {
    release_if_large(*text);
  }
  for (PatientIdentifier& pi : m.patient_identifiers) {
    release_if_large(pi.id);
    release_if_large(pi.assigning_authority);
    release_if_large(pi.identifier_type);
  }
  if (m.ack) {
    release_if_large(m.ack->code_text);
    release_if_large(m.ack->control_id);
    release_if_large(m.ack->text);
    release_if_large(m.ack->error_code);
    release_if_large(m.ack->error_text);
  }
}

const char* to_string(AckCode code) {
  switch (code) {
    case AckCode::kAA:
      return "AA";
    case AckCode::kAE:
      return "AE";
    case AckCode::kAR:
      return "AR";
    case AckCode::kCA:
      return "CA";
    case AckCode::kCE:
      return "CE";
    case AckCode::kCR:
      return "CR";
    case AckCode::kUnknown:
      return "unknown";
  }
  return "unknown";
}

AckCode parse_ack_code(std::string_view text) {
  if (text == "AA") return AckCode::kAA;
  if (text == "AE") return AckCode::kAE;
  if (text == "AR") return AckCode::kAR;
  if (text == "CA") return AckCode::kCA;
  if (text == "CE") return AckCode::kCE;
  if (text == "CR") return AckCode::kCR;
  return AckCode::kUnknown;
}

}  // namespace wardgate::hl7
