#include "audit/event_decode.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace wardgate::audit {
namespace {

constexpr int kMaxDepth = 3;  // event object, fields object, list of strings

bool fail(std::string* error, const std::string& why) {
  if (error != nullptr) *error = why;
  return false;
}

std::optional<Outcome> parse_outcome(const std::string& s) {
  for (auto o : {Outcome::kSuccess, Outcome::kWarning, Outcome::kFailure, Outcome::kDenied}) {
    if (s == to_string(o)) return o;
  }
  return std::nullopt;
}

std::optional<Severity> parse_severity(const std::string& s) {
  for (auto v : {Severity::kInfo, Severity::kNotice, Severity::kWarning, Severity::kAlert}) {
    if (s == to_string(v)) return v;
  }
  return std::nullopt;
}

bool read_field(const std::string& key, const nlohmann::json& v, Fields& out, std::string* error) {
  if (v.is_string()) {
    out.set(key, v.get<std::string>());
  } else if (v.is_boolean()) {
    out.set(key, v.get<bool>());
  } else if (v.is_number_unsigned()) {
    out.set(key, v.get<std::uint64_t>());
  } else if (v.is_number_integer()) {
    out.set(key, v.get<std::int64_t>());
  } else if (v.is_number_float()) {
    out.set(key, v.get<double>());
  } else if (v.is_null()) {
    // to_json writes a non-finite double as null.
    out.set(key, std::numeric_limits<double>::quiet_NaN());
  } else if (v.is_array()) {
    std::vector<std::string> list;
    for (const auto& item : v) {
      if (!item.is_string()) return fail(error, "field " + key + ": list item is not a string");
      list.push_back(item.get<std::string>());
    }
    out.set(key, std::move(list));
  } else {
    return fail(error, "field " + key + ": unexpected type");
  }
  return true;
}

int digits(std::string_view s, std::size_t pos, std::size_t n, bool& ok) {
  int v = 0;
  if (pos + n > s.size()) {
    ok = false;
    return 0;
  }
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') ok = false;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::int64_t to_unix_us(std::chrono::system_clock::time_point time) {
  // floor, not duration_cast (which rounds toward zero): before 1970 the store's time_us column
  // must still equal the time the canonical record says.
  return std::chrono::floor<std::chrono::microseconds>(time.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_unix_us(std::int64_t us) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::microseconds(us)));
}

std::optional<std::chrono::system_clock::time_point> parse_time(std::string_view s) {
  bool ok = true;
  const int year = digits(s, 0, 4, ok);
  if (!ok || s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  const int month = digits(s, 5, 2, ok);
  const int day = digits(s, 8, 2, ok);
  if (!ok) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  auto t = std::chrono::sys_days(ymd).time_since_epoch();
  std::chrono::microseconds us = std::chrono::duration_cast<std::chrono::microseconds>(t);
  if (s.size() > 10) {
    if (s.size() < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s.back() != 'Z') {
      return std::nullopt;
    }
    const int h = digits(s, 11, 2, ok);
    const int m = digits(s, 14, 2, ok);
    const int sec = digits(s, 17, 2, ok);
    if (!ok || h > 23 || m > 59 || sec > 60) return std::nullopt;
    us += std::chrono::hours(h) + std::chrono::minutes(m) + std::chrono::seconds(sec);
    std::string_view rest = s.substr(19, s.size() - 20);
    if (!rest.empty()) {
      if (rest[0] != '.' || rest.size() < 2 || rest.size() > 7) return std::nullopt;
      const int frac = digits(rest, 1, rest.size() - 1, ok);
      if (!ok) return std::nullopt;
      int scale = 1;
      for (std::size_t i = rest.size() - 1; i < 6; ++i) scale *= 10;
      us += std::chrono::microseconds(static_cast<std::int64_t>(frac) * scale);
    }
  }
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(us));
}

std::optional<Event> event_from_json(std::string_view canonical, std::string* error) {
  if (canonical.size() > kMaxCanonicalBytes) {
    fail(error, "record longer than " + std::to_string(kMaxCanonicalBytes) + " bytes");
    return std::nullopt;
  }
  bool too_deep = false;
  const nlohmann::json::parser_callback_t depth_cap =
      [&too_deep](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        if (depth > kMaxDepth) too_deep = true;
        return !too_deep;
      };
  const nlohmann::json j = nlohmann::json::parse(canonical, depth_cap, false);
  if (too_deep) {
    fail(error, "nested deeper than an event");
    return std::nullopt;
  }
  if (j.is_discarded() || !j.is_object()) {
    fail(error, "not a JSON object");
    return std::nullopt;
  }
  if (j.size() != 8) {
    fail(error, "not the eight members of an event");
    return std::nullopt;
  }
  Event e;
  for (const char* key :
       {"action", "appliance", "category", "device", "outcome", "severity", "time"}) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
      fail(error, std::string("member ") + key + " missing or not a string");
      return std::nullopt;
    }
  }
  const auto time = parse_time(j["time"].get_ref<const std::string&>());
  const auto outcome = parse_outcome(j["outcome"].get<std::string>());
  const auto severity = parse_severity(j["severity"].get<std::string>());
  if (!time || !outcome || !severity) {
    fail(error, "time, outcome or severity not as an event writes them");
    return std::nullopt;
  }
  e.time = *time;
  e.outcome = *outcome;
  e.severity = *severity;
  e.appliance_id = j["appliance"].get<std::string>();
  e.device = j["device"].get<std::string>();
  e.category = j["category"].get<std::string>();
  e.action = j["action"].get<std::string>();
  const auto fields = j.find("fields");
  if (fields == j.end() || !fields->is_object()) {
    fail(error, "member fields missing or not an object");
    return std::nullopt;
  }
  for (const auto& [key, value] : fields->items()) {
    if (!read_field(key, value, e.fields, error)) return std::nullopt;
  }
  return e;
}

}  // namespace wardgate::audit
