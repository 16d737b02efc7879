#include "common/json_reader.h"

#include <algorithm>

namespace wardgate::common {
ObjectReader::ObjectReader(const nlohmann::json& object, std::string path)
    : object_(object), path_(std::move(path)) {
  if (!object_.is_object()) {
    throw ConfigError((path_.empty() ? std::string("configuration") : path_) +
                      ": must be a JSON object (got " + shown(object_) + ")");
  }
}

std::string ObjectReader::path_of(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void ObjectReader::fail(const std::string& key, const std::string& reason) const {
  throw ConfigError(path_of(key) + ": " + reason);
}

const nlohmann::json* ObjectReader::member(const std::string& key) {
  known_.insert(key);
  auto it = object_.find(key);
  return it == object_.end() ? nullptr : &*it;
}

std::int64_t ObjectReader::integer(const std::string& key, std::int64_t min, std::int64_t max,
                                   std::int64_t fallback) {
  const nlohmann::json* v = member(key);
  if (v == nullptr) return fallback;
  const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!v->is_number_integer()) fail(key, "must be " + range + " (got " + shown(*v) + ")");
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    fail(key, "must be " + range + " (got " + shown(*v) + ")");
  }
  const auto n = v->get<std::int64_t>();
  if (n < min || n > max) fail(key, "must be " + range + " (got " + shown(*v) + ")");
  return n;
}

std::string ObjectReader::string(const std::string& key, const std::string& fallback) {
  const nlohmann::json* v = member(key);
  if (v == nullptr) return fallback;
  if (!v->is_string()) fail(key, "must be a string (got " + shown(*v) + ")");
  return v->get<std::string>();
}

std::string ObjectReader::choice(const std::string& key, const std::vector<std::string>& allowed,
                                 const std::string& fallback) {
  std::string s = string(key, fallback);
  for (const auto& a : allowed) {
    if (a == s) return s;
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  fail(key, "must be one of " + list + " (got \"" + s + "\")");
}

bool ObjectReader::boolean(const std::string& key, bool fallback) {
  const nlohmann::json* v = member(key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) fail(key, "must be true or false (got " + shown(*v) + ")");
  return v->get<bool>();
}

void ObjectReader::require_absolute_path(const std::string& key, const std::string& value) const {
  if (!absolute_path(value)) {
    fail(key, "must be the absolute path of a file (got " + shown(nlohmann::json(value)) + ")");
  }
}

void ObjectReader::reject_unknown_keys() const {
  for (const auto& [key, value] : object_.items()) {
    if (known_.count(key) == 0) fail(key, "unknown key");
  }
}

nlohmann::json parse_json(const std::string& text, const std::string& source_name) {
  if (text.size() > kMaxConfigBytes) {
    throw ConfigError(source_name + ": larger than " + std::to_string(kMaxConfigBytes) +
                      " bytes; not a wardgate configuration");
  }
  // No valid configuration nests deeper than a few levels; a cap keeps hostile input cheap.
  const auto depth_cap = [&](int depth, nlohmann::json::parse_event_t /*event*/,
                             nlohmann::json& /*parsed*/) {
    if (depth > kMaxConfigDepth) {
      throw ConfigError(source_name + ": nested deeper than " + std::to_string(kMaxConfigDepth) +
                        " levels");
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text, depth_cap);
  } catch (const nlohmann::json::parse_error& e) {
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string why = e.what();
    if (auto pos = why.find("parse error"); pos != std::string::npos) why = why.substr(pos);
    throw ConfigError(source_name + ": not valid JSON at line " + std::to_string(line) +
                      ", column " + std::to_string(column) + ": " + why);
  } catch (const nlohmann::json::exception& e) {
    // e.g. a number too large for any integer or double (out_of_range.406)
    std::string why = e.what();
    if (auto pos = why.find("] "); pos != std::string::npos) why = why.substr(pos + 2);
    throw ConfigError(source_name + ": not valid JSON: " + why);
  }
}

std::string shown(const nlohmann::json& value) {
  std::string s = value.dump();
  constexpr std::size_t kMaxShown = 60;
  if (s.size() > kMaxShown) s = s.substr(0, kMaxShown) + "...";
  return s;
}

bool absolute_path(const std::string& s) {
  if (s.size() < 2 || s[0] != '/' || s.back() == '/') return false;
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

bool valid_name(const std::string& s, std::size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

}  // namespace wardgate::common
