#include "hl7/message_parser.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

#include "hl7/spec.h"

namespace wardgate::hl7 {
namespace {

constexpr int kNone = -1;

struct Separators {
  int field = kNone;
  int component = kNone;
  int repetition = kNone;
  int escape = kNone;
  int subcomponent = kNone;
};

bool is_lead(unsigned char c) { return c >= 0x81 && c <= 0xFE; }

// The index-th piece of `s` cut at `sep`; trail bytes of double-byte characters are never
// separators. Empty when there are fewer pieces.
std::string_view piece(std::string_view s, int sep, bool gb, std::size_t index) {
  if (sep == kNone) return index == 0 ? s : std::string_view{};
  std::size_t start = 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (gb && is_lead(c)) {
      ++i;
      continue;
    }
    if (c == sep) {
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
  Pieces(std::string_view s, int sep, bool gb) : s_(s), sep_(sep), gb_(gb) {}

  bool next(std::string_view& out) {
    if (done_) return false;
    for (std::size_t i = pos_; i < s_.size(); ++i) {
      const auto c = static_cast<unsigned char>(s_[i]);
      if (gb_ && is_lead(c)) {
        ++i;
        continue;
      }
      if (sep_ != kNone && c == sep_) {
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
  bool gb_;
  std::size_t pos_ = 0;
  bool done_ = false;
};

// The fields of a segment up to index kMaxFields - 2; the last element holds the rest. Only
// fields up to MSH-18 are ever needed.
constexpr std::size_t kMaxFields = 20;
// PID-3 repetitions kept (memory stays bounded whatever a message holds).
constexpr std::size_t kMaxPatientIdentifiers = 64;
void split(std::string_view s, int sep, bool gb, std::vector<std::string_view>& out) {
  out.clear();
  Pieces pieces(s, sep, gb);
  std::string_view p;
  while (out.size() + 1 < kMaxFields && pieces.next(p)) out.push_back(p);
}

struct Segment {
  std::string_view text;
  bool line_feed = false;  // terminated by \n or \r\n
};

// The segment at `pos`; advances `pos` past its terminator (\r, \n or \r\n).
Segment next_segment(std::string_view s, std::size_t& pos) {
  // memchr twice beats a byte loop looking for both (\n terminators are rare).
  const char* base = s.data() + pos;
  const std::size_t left = s.size() - pos;
  const void* cr = std::memchr(base, '\r', left);
  std::size_t end =
      cr == nullptr ? s.size() : static_cast<std::size_t>(static_cast<const char*>(cr) - s.data());
  if (const void* lf = std::memchr(base, '\n', end - pos); lf != nullptr) {
    end = static_cast<std::size_t>(static_cast<const char*>(lf) - s.data());
  }
  Segment seg{s.substr(pos, end - pos), false};
  if (end == s.size()) {
    pos = end;
  } else if (s[end] == '\r' && end + 1 < s.size() && s[end + 1] == '\n') {
    seg.line_feed = true;
    pos = end + 2;
  } else {
    seg.line_feed = s[end] == '\n';
    pos = end + 1;
  }
  return seg;
}

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

class Text {
 public:
  Text(const Separators& sep, const Charset& charset, TextConverter& converter)
      : sep_(sep), charset_(charset), converter_(converter), gb_(charset.double_byte_lead) {}

  bool gb() const { return gb_; }
  bool clean() const { return clean_; }
  const Separators& sep() const { return sep_; }

  // One subcomponent (or any value without separators): escapes decoded, then to UTF-8.
  std::string value(std::string_view raw) {
    bytes_.clear();
    unescape(raw, bytes_);
    std::string out;
    out.reserve(bytes_.size());
    if (!converter_.append_utf8(charset_, bytes_, out)) clean_ = false;
    return out;
  }

  // A component: its subcomponents decoded and joined with '&'.
  std::string component(std::string_view raw) {
    std::string out;
    Pieces subs(raw, sep_.subcomponent, gb_);
    std::string_view sub;
    for (bool first = true; subs.next(sub); first = false) {
      if (!first) out += '&';
      out += value(sub);
    }
    return out;
  }

  // The first repetition of a field, components joined with '^'.
  std::string composite(std::string_view field) {
    const std::string_view rep = piece(field, sep_.repetition, gb_, 0);
    std::string out;
    Pieces comps(rep, sep_.component, gb_);
    std::string_view comp;
    for (bool first = true; comps.next(comp); first = false) {
      if (!first) out += '^';
      out += component(comp);
    }
    return out;
  }

  std::string_view nth_component(std::string_view field, std::size_t index) const {
    return piece(piece(field, sep_.repetition, gb_, 0), sep_.component, gb_, index);
  }

 private:
  // HL7 v2.5.1 section 2.7: \F\ \S\ \T\ \R\ \E\ \Xhh..\ \.br\; highlighting (\H\ \N\) dropped;
  // anything else (\Cxxyy\, \Mxxyyzz\, \Z..\, unterminated) kept verbatim.
  void unescape(std::string_view raw, std::string& out) const {
    if (!gb_ && (sep_.escape == kNone || raw.find(static_cast<char>(sep_.escape)) == raw.npos)) {
      out.append(raw);
      return;
    }
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const auto c = static_cast<unsigned char>(raw[i]);
      if (gb_ && is_lead(c)) {
        out += raw.substr(i, 2);
        ++i;
        continue;
      }
      if (sep_.escape == kNone || c != sep_.escape) {
        out += raw[i];
        continue;
      }
      std::size_t j = i + 1;
      while (j < raw.size() && static_cast<unsigned char>(raw[j]) != sep_.escape) {
        if (gb_ && is_lead(static_cast<unsigned char>(raw[j]))) ++j;
        ++j;
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
  bool gb_;
  bool clean_ = true;
  std::string bytes_;
};

bool is_batch_segment(std::string_view id) {
  return id == "FHS" || id == "BHS" || id == "BTS" || id == "FTS";
}

std::string_view segment_id(std::string_view segment) { return segment.substr(0, 3); }

}  // namespace

MessageParser::MessageParser(std::string_view default_charset)
    : default_charset_(resolve_charset(default_charset).value_or(Charset{})) {}

std::string MessageParser::parse(std::string_view frame, MessageSink& sink) {
  std::string error;
  bool batch = false;
  bool any_message = false;
  constexpr std::size_t kNoMessage = SIZE_MAX;
  std::size_t first = kNoMessage;  // offset of the current message's MSH
  const auto finish = [&](std::size_t end) {
    if (first != kNoMessage) {
      parse_message(frame.substr(first, end - first), batch, sink, error);
      any_message = true;
    }
    first = kNoMessage;
  };
  for (std::size_t pos = 0; pos < frame.size();) {
    const std::size_t begin = pos;
    const Segment seg = next_segment(frame, pos);
    if (seg.text.empty()) continue;
    const std::string_view id = segment_id(seg.text);
    if (is_batch_segment(id)) {
      finish(begin);
      batch = true;
    } else if (id == "MSH") {
      finish(begin);
      first = begin;
    } else if (first == kNoMessage && error.empty()) {
      error = "segment '" + std::string(id) + "' outside a message";
    }
  }
  finish(frame.size());
  if (!any_message && !batch && error.empty()) error = "no MSH segment";
  return error;
}

void MessageParser::parse_message(std::string_view text, bool in_batch, MessageSink& sink,
                                  std::string& error) {
  std::size_t cursor = 0;
  const std::string_view msh = next_segment(text, cursor).text;
  const auto fail = [&](const char* why) {
    if (error.empty()) error = why;
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

  Message m;
  m.header = msh;
  m.in_batch = in_batch;
  std::vector<std::string_view> fields;
  // MSH-18 is ASCII, but a double-byte charset decides where the fields before it end: read it
  // with the default's rules, then again with the declared set's rules if they differ.
  const auto declared = [&](bool gb) {
    split(msh, sep.field, gb, fields);
    const std::string_view f = fields.size() > 17 ? fields[17] : std::string_view{};
    return piece(piece(f, sep.repetition, gb, 0), sep.component, gb, 0);
  };
  std::string_view name = declared(default_charset_.double_byte_lead);
  std::optional<Charset> charset = resolve_charset(name);
  if (charset && charset->double_byte_lead != default_charset_.double_byte_lead) {
    const std::string_view again = declared(charset->double_byte_lead);
    const std::optional<Charset> second = resolve_charset(again);
    if (second && second->double_byte_lead == charset->double_byte_lead) {
      name = again;
    } else {
      split(msh, sep.field, default_charset_.double_byte_lead, fields);
      charset.reset();
    }
  }
  const Charset ascii;
  {
    TextConverter plain;
    Text t(sep, ascii, plain);
    m.character_set = t.value(name);
  }
  if (name.empty() || !charset) {
    if (!name.empty()) {
      m.notes.push_back("unknown MSH-18 '" + m.character_set + "', decoded as " +
                        default_charset_.name);
    }
    charset = default_charset_;
  }
  m.charset_used = charset->name;
  Text t(sep, *charset, converter_);
  const auto msh_field = [&](std::size_t n) {
    return n - 1 < fields.size() ? fields[n - 1] : std::string_view{};
  };
  m.sending_application = t.composite(msh_field(3));
  m.sending_facility = t.composite(msh_field(4));
  m.receiving_application = t.composite(msh_field(5));
  m.receiving_facility = t.composite(msh_field(6));
  m.date_time = t.component(t.nth_component(msh_field(7), 0));
  m.security = t.composite(msh_field(8));
  m.message_type = t.component(t.nth_component(msh_field(9), 0));
  m.trigger_event = t.component(t.nth_component(msh_field(9), 1));
  m.message_structure = t.component(t.nth_component(msh_field(9), 2));
  m.control_id = t.composite(msh_field(10));
  m.processing_id = t.composite(msh_field(11));
  m.version = t.component(t.nth_component(msh_field(12), 0));
  m.accept_ack_type = t.composite(msh_field(15));
  m.application_ack_type = t.composite(msh_field(16));

  bool line_feed = false;
  bool seen_pid = false;
  m.size = text.size();
  for (std::size_t pos = 0; pos < text.size();) {
    const Segment seg = next_segment(text, pos);
    line_feed = line_feed || seg.line_feed;
    if (seg.text.empty()) continue;
    ++m.segment_count;
    const std::string_view id = piece(seg.text, sep.field, t.gb(), 0);
    if (id == "OBX") {
      ++m.obx_count;
    } else if (!id.empty() && id[0] == 'Z') {
      ++m.z_segment_count;
    } else if (id == "PID" && !seen_pid) {
      seen_pid = true;
      split(seg.text, sep.field, t.gb(), fields);
      if (fields.size() > 3) {
        Pieces reps(fields[3], sep.repetition, t.gb());
        std::string_view rep;
        while (reps.next(rep)) {
          if (rep.empty()) continue;
          if (m.patient_identifiers.size() == kMaxPatientIdentifiers) {
            m.notes.push_back("PID-3 identifiers beyond " + std::to_string(kMaxPatientIdentifiers) +
                              " not kept");
            break;
          }
          PatientIdentifier pi;
          pi.id = t.component(piece(rep, sep.component, t.gb(), 0));
          pi.assigning_authority = t.component(piece(rep, sep.component, t.gb(), 3));
          pi.identifier_type = t.component(piece(rep, sep.component, t.gb(), 4));
          m.patient_identifiers.push_back(std::move(pi));
        }
      }
      if (fields.size() > 5) m.patient_name = t.composite(fields[5]);
    } else if (id == "MSA" && !m.ack) {
      split(seg.text, sep.field, t.gb(), fields);
      Acknowledgment ack;
      const auto f = [&](std::size_t n) {
        return n < fields.size() ? fields[n] : std::string_view{};
      };
      ack.code_text = t.component(t.nth_component(f(1), 0));
      ack.code = parse_ack_code(ack.code_text);
      ack.control_id = t.composite(f(2));
      ack.text = t.composite(f(3));
      m.ack = std::move(ack);
    } else if (id == "ERR") {
      if (!m.ack) continue;  // ERR only matters in acknowledgments
      if (m.ack->error_segments++ == 0) {
        split(seg.text, sep.field, t.gb(), fields);
        const auto f = [&](std::size_t n) {
          return n < fields.size() ? fields[n] : std::string_view{};
        };
        m.ack->error_code = t.component(t.nth_component(f(3), 0));
        m.ack->error_text = t.component(t.nth_component(f(3), 1));
        if (m.ack->error_code.empty() && m.ack->error_text.empty()) {
          const std::string_view location = t.nth_component(f(1), 3);
          m.ack->error_code = t.value(piece(location, sep.subcomponent, t.gb(), 0));
          m.ack->error_text = t.value(piece(location, sep.subcomponent, t.gb(), 1));
        }
      }
    }
  }
  if (line_feed) m.notes.emplace_back(R"(segments terminated by \n or \r\n instead of \r)");
  if (!t.clean()) m.notes.emplace_back(R"(undecodable bytes shown as \x{hh})");
  sink.on_message(m);
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
