#include "audit/event.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace wardgate::audit {
namespace {

// RFC 8785 section 3.2.2.2: '"' and '\' escaped, the five short control escapes, other control
// characters as \u00xx (lower-case hex), everything else as is (UTF-8).
void append_escaped_char(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      break;
  }
  if (c < 0x20) {
    constexpr std::string_view kHex = "0123456789abcdef";
    out += "\\u00";
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
    return;
  }
  out += static_cast<char>(c);
}

void append_string(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      append_escaped_char(out, c);
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(s, i);
    if (len == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  out += '"';
}

template <typename Int>
void append_integer(std::string& out, Int n) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), n);
  out.append(buf.data(), r.ptr);
}

// ECMAScript Number::toString (ECMA-262 section 6.1.6.1.20), which RFC 8785 section 3.2.2.3
// prescribes: the shortest digits that round-trip, laid out in fixed notation for 1e-7 <= |v| <
// 1e21 and in exponent notation ("1e+21", "1.5e-7") otherwise.
void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  if (v == 0) {  // also -0
    out += '0';
    return;
  }
  if (v < 0) {
    out += '-';
    v = -v;
  }
  std::array<char, 32> buf{};
  const auto r =
      std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::scientific);
  const std::string_view sci(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));
  const std::size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits += c;
  }
  int exponent = 0;
  const std::string_view exp_text = sci.substr(e_pos + 1);
  std::from_chars(exp_text.data() + (exp_text[0] == '+' ? 1 : 0), exp_text.data() + exp_text.size(),
                  exponent);
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;  // v = 0.d1d2...dk x 10^n
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<std::size_t>(n));
    out += '.';
    out.append(digits, static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += (n - 1 < 0) ? "e-" : "e+";
    append_integer(out, std::abs(n - 1));
  }
}

void append_value(std::string& out, const FieldValue& value) {
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          append_string(out, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          append_double(out, v);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          out += '[';
          for (std::size_t i = 0; i < v.size(); ++i) {
            if (i > 0) out += ',';
            append_string(out, v[i]);
          }
          out += ']';
        } else {
          append_integer(out, v);
        }
      },
      value);
}

// What append_string writes for the character at s[i]: its bytes in `s` and, without the
// quotes, in the encoding.
struct CharCost {
  std::size_t raw;
  std::size_t encoded;
};

CharCost char_cost(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    switch (c) {
      case '"':
      case '\\':
      case '\b':
      case '\f':
      case '\n':
      case '\r':
      case '\t':
        return {1, 2};
      default:
        return {1, c < 0x20 ? std::size_t{6} : std::size_t{1}};
    }
  }
  const std::size_t len = utf8_sequence_length(s, i);
  return len == 0 ? CharCost{1, 3} : CharCost{len, len};  // U+FFFD is 3 bytes
}

std::size_t encoded_size(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size();) {
    const CharCost c = char_cost(s, i);
    n += c.encoded;
    i += c.raw;
  }
  return n;
}

// Length of the longest prefix of `s` made of whole characters (a byte that is not UTF-8 counts
// as one) whose raw bytes (`encoded` false) or encoding (`encoded` true) take at most `budget`.
std::size_t prefix_length(std::string_view s, std::size_t budget, bool encoded) {
  std::size_t used = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const CharCost c = char_cost(s, i);
    const std::size_t cost = encoded ? c.encoded : c.raw;
    if (used + cost > budget) break;
    used += cost;
    i += c.raw;
  }
  return i;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = utf8_sequence_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

// `s` as the canonical record decodes it: each byte that is not UTF-8 replaced by U+FFFD.
std::string as_decoded(std::string_view s) {
  if (valid_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = utf8_sequence_length(s, i);
    if (len == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string original_size(const FieldValue& v) {
  if (const auto* list = std::get_if<std::vector<std::string>>(&v)) {
    std::size_t bytes = 0;
    for (const auto& item : *list) bytes += item.size();
    return std::to_string(bytes) + ":" + std::to_string(list->size());
  }
  return std::to_string(std::get<std::string>(v).size());
}

// The fixed-size stand-in for an event that cannot be made to fit: who, when, and what it was.
Event oversized(const Event& e, std::size_t original_bytes) {
  constexpr std::size_t kNameBytes = 256;
  constexpr std::size_t kTypeBytes = 64;
  const auto cut = [](std::string_view s, std::size_t n) {
    return as_decoded(s.substr(0, prefix_length(s, n, false)));
  };
  Event out;
  out.time = e.time;
  out.appliance_id = cut(e.appliance_id, kNameBytes);
  out.device = cut(e.device, kNameBytes);
  out.category = "audit";
  out.action = "record-oversized";
  out.outcome = Outcome::kFailure;
  out.severity = Severity::kAlert;
  out.fields.set("original_category", cut(e.category, kTypeBytes));
  out.fields.set("original_action", cut(e.action, kTypeBytes));
  out.fields.set("original_bytes", original_bytes);
  out.fields.set("original_fields", e.fields.size());
  return out;
}

}  // namespace

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return len;
}

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kSuccess:
      return "success";
    case Outcome::kWarning:
      return "warning";
    case Outcome::kFailure:
      return "failure";
    case Outcome::kDenied:
      return "denied";
  }
  return "unknown";
}

const char* to_string(Severity severity) {
  switch (severity) {
    case Severity::kInfo:
      return "info";
    case Severity::kNotice:
      return "notice";
    case Severity::kWarning:
      return "warning";
    case Severity::kAlert:
      return "alert";
  }
  return "unknown";
}

void Fields::set(std::string_view key, FieldValue value) {
  for (auto& f : fields_) {
    if (f.key == key) {
      f.value = std::move(value);
      return;
    }
  }
  fields_.push_back(Field{std::string(key), std::move(value)});
}

void Fields::set_untrusted(std::string_view key, std::string_view value, std::size_t max_bytes) {
  const std::size_t keep = prefix_length(value, max_bytes, false);
  set(key, std::string(value.substr(0, keep)));
  if (keep < value.size()) mark_truncated(key, std::to_string(value.size()));
}

void Fields::set_untrusted(std::string_view key, const std::vector<std::string>& items,
                           std::size_t max_items, std::size_t max_item_bytes) {
  std::vector<std::string> kept;
  kept.reserve(std::min(items.size(), max_items));
  bool cut = items.size() > max_items;
  for (std::size_t i = 0; i < items.size() && i < max_items; ++i) {
    const std::size_t keep = prefix_length(items[i], max_item_bytes, false);
    cut = cut || keep < items[i].size();
    kept.emplace_back(items[i].substr(0, keep));
  }
  if (cut) {
    mark_truncated(key, original_size(FieldValue(items)));
  }
  set(key, std::move(kept));
}

void Fields::cap_values(std::size_t max_bytes, std::size_t max_items, std::size_t max_item_bytes) {
  std::vector<std::pair<std::string, std::string>> cut;  // key, original size
  for (auto& f : fields_) {
    if (f.key == kTruncatedKey) continue;
    if (auto* s = std::get_if<std::string>(&f.value)) {
      if (s->size() <= max_bytes) continue;
      cut.emplace_back(f.key, original_size(f.value));
      s->resize(prefix_length(*s, max_bytes, false));
    } else if (auto* list = std::get_if<std::vector<std::string>>(&f.value)) {
      const bool long_item = std::any_of(list->begin(), list->end(), [&](const std::string& item) {
        return item.size() > max_item_bytes;
      });
      if (list->size() <= max_items && !long_item) continue;
      cut.emplace_back(f.key, original_size(f.value));
      if (list->size() > max_items) list->resize(max_items);
      for (auto& item : *list) item.resize(prefix_length(item, max_item_bytes, false));
    }
  }
  // After the loop: marking may add kTruncatedKey to fields_.
  for (const auto& [key, original] : cut) mark_truncated(key, original);
}

void Fields::mark_truncated(std::string_view key, std::string_view original) {
  std::string entry = std::string(key) + ':';
  for (auto& f : fields_) {
    if (f.key != kTruncatedKey) continue;
    auto* list = std::get_if<std::vector<std::string>>(&f.value);
    if (list == nullptr) {
      f.value = std::vector<std::string>{entry + std::string(original)};
      return;
    }
    for (const auto& listed : *list) {
      if (listed.starts_with(entry)) return;
    }
    list->push_back(entry + std::string(original));
    return;
  }
  fields_.push_back(
      Field{std::string(kTruncatedKey), std::vector<std::string>{entry + std::string(original)}});
}

const FieldValue* Fields::find(std::string_view key) const {
  for (const auto& f : fields_) {
    if (f.key == key) return &f.value;
  }
  return nullptr;
}

std::string format_time(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto us = floor<microseconds>(time.time_since_epoch());
  const auto day = floor<days>(us);
  const year_month_day date{sys_days{day}};
  const hh_mm_ss clock{us - day};
  std::array<char, 40> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
                static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()),
                static_cast<long long>(clock.subseconds().count()));
  return buf.data();
}

std::string to_json(const Event& event) {
  std::vector<const Field*> sorted;
  sorted.reserve(event.fields.size());
  for (const auto& f : event.fields) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(),
            [](const Field* a, const Field* b) { return a->key < b->key; });

  std::string out;
  out.reserve(256);
  // Top-level keys in sorted order, as RFC 8785 requires.
  out += "{\"action\":";
  append_string(out, event.action);
  out += ",\"appliance\":";
  append_string(out, event.appliance_id);
  out += ",\"category\":";
  append_string(out, event.category);
  out += ",\"device\":";
  append_string(out, event.device);
  out += ",\"fields\":{";
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) out += ',';
    append_string(out, sorted[i]->key);
    out += ':';
    append_value(out, sorted[i]->value);
  }
  out += "},\"outcome\":";
  append_string(out, to_string(event.outcome));
  out += ",\"severity\":";
  append_string(out, to_string(event.severity));
  out += ",\"time\":";
  append_string(out, format_time(event.time));
  out += '}';
  return out;
}

bool fits_store(const Event& event, std::string_view canonical) {
  return canonical.size() <= kMaxCanonicalBytes && valid_utf8(event.appliance_id) &&
         valid_utf8(event.device) && valid_utf8(event.category) && valid_utf8(event.action);
}

Event fit_for_store(const Event& event) {
  Event e = event;
  for (std::string* s : {&e.appliance_id, &e.device, &e.category, &e.action}) *s = as_decoded(*s);

  // The values that may be cut, copied; the list of cut values is kept apart and goes first so
  // that marking a value never replaces it.
  const FieldValue* listed = event.fields.find(kTruncatedKey);
  std::vector<Field> work;
  for (const auto& f : event.fields) {
    if (f.key != kTruncatedKey) work.push_back(f);
  }
  const auto assemble = [&](bool empty_pieces) {
    Fields out;
    if (listed != nullptr) out.set(kTruncatedKey, *listed);
    for (const auto& f : work) {
      const auto* list = std::get_if<std::vector<std::string>>(&f.value);
      if (empty_pieces && std::holds_alternative<std::string>(f.value)) {
        out.set(f.key, std::string());
      } else if (empty_pieces && list != nullptr) {
        out.set(f.key, std::vector<std::string>(list->size()));
      } else {
        out.set(f.key, f.value);
      }
    }
    return out;
  };

  // Every string value and list item is a piece that may be cut. The record's size is that of
  // its skeleton (every piece empty) plus the pieces' encoded sizes, so the multi-megabyte
  // record is never encoded.
  struct Piece {
    std::string* value;
    std::string_view key;
    std::size_t encoded;
  };
  std::vector<Piece> pieces;
  std::size_t pieces_bytes = 0;
  std::size_t largest = 0;
  std::size_t reserve = kTruncatedKey.size() + 8;  // ,"truncated_fields":[] if it is new
  constexpr std::size_t kEntryBytes = 2 * std::numeric_limits<std::uint64_t>::digits10 + 8;
  const auto measure = [&] {
    pieces.clear();
    pieces_bytes = 0;
    largest = 0;
    reserve = kTruncatedKey.size() + 8;
    for (auto& f : work) {
      const std::size_t before = pieces.size();
      if (auto* s = std::get_if<std::string>(&f.value)) {
        pieces.push_back({s, f.key, encoded_size(*s)});
      } else if (auto* list = std::get_if<std::vector<std::string>>(&f.value)) {
        for (auto& item : *list) pieces.push_back({&item, f.key, encoded_size(item)});
      }
      if (pieces.size() > before) reserve += encoded_size(f.key) + kEntryBytes;
    }
    for (const auto& p : pieces) {
      pieces_bytes += p.encoded;
      largest = std::max(largest, p.encoded);
    }
    Event skeleton = e;
    skeleton.fields = assemble(true);
    return to_json(skeleton).size();
  };
  const std::size_t original_bytes = measure() + pieces_bytes;
  if (original_bytes <= kMaxCanonicalBytes) return e;

  // Lists longer than kMaxListItems are cut to that many items first.
  std::vector<std::string> changed;  // keys of the values cut
  for (auto& f : work) {
    auto* list = std::get_if<std::vector<std::string>>(&f.value);
    if (list != nullptr && list->size() > kMaxListItems) {
      list->resize(kMaxListItems);
      changed.push_back(f.key);
    }
  }
  // Room for one kTruncatedKey entry per field that holds pieces.
  const std::size_t fixed = measure() + reserve;
  if (fixed > kMaxCanonicalBytes) return oversized(event, original_bytes);

  // The largest per-piece cap (in encoded bytes) under which everything fits.
  const auto total = [&](std::size_t cap) {
    std::size_t n = fixed;
    for (const auto& p : pieces) n += std::min(p.encoded, cap);
    return n;
  };
  std::size_t lo = 0;  // fits: total(0) == fixed
  std::size_t hi = largest;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo + 1) / 2;
    if (total(mid) <= kMaxCanonicalBytes) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  for (const auto& p : pieces) {
    if (p.encoded <= lo) continue;
    p.value->resize(prefix_length(*p.value, lo, true));
    if (std::find(changed.begin(), changed.end(), p.key) == changed.end()) {
      changed.emplace_back(p.key);
    }
  }
  e.fields = assemble(false);
  for (const auto& key : changed) {
    e.fields.mark_truncated(key, original_size(*event.fields.find(key)));
  }
  if (to_json(e).size() > kMaxCanonicalBytes) return oversized(event, original_bytes);
  return e;
}

Event make_event(std::string appliance_id, std::string device, std::string category,
                 std::string action, Outcome outcome, Severity severity) {
  Event e;
  e.time = std::chrono::system_clock::now();
  e.appliance_id = std::move(appliance_id);
  e.device = std::move(device);
  e.category = std::move(category);
  e.action = std::move(action);
  e.outcome = outcome;
  e.severity = severity;
  return e;
}

}  // namespace wardgate::audit
