#include "audit/event.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

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
