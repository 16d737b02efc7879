#pragma once
// Strict reading of one JSON object of the configuration, shared by every module's section
// reader: every key must be known, every value of the right type and range. Errors name the key
// by its full path ("proxy.idle_timeout_s") and say why, so an operator can fix the file without
// reading the source.
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace wardgate::common {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ObjectReader {
 public:
  // `path` is the key path of this object ("" for the document root).
  ObjectReader(const nlohmann::json& object, std::string path);

  std::int64_t integer(const std::string& key, std::int64_t min, std::int64_t max,
                       std::int64_t fallback);
  std::string string(const std::string& key, const std::string& fallback);
  // A string that must be one of `allowed`.
  std::string choice(const std::string& key, const std::vector<std::string>& allowed,
                     const std::string& fallback);
  // One value of an enumeration, by the name its to_string() gives it: the spellings live next to
  // the enum only. `values` lists the accepted ones in the order an error message shows them.
  template <typename Enum>
  Enum choice(const std::string& key, std::initializer_list<Enum> values, Enum fallback) {
    std::vector<std::string> names;
    for (const Enum v : values) names.emplace_back(to_string(v));
    const std::string name = choice(key, names, to_string(fallback));
    for (const Enum v : values) {
      if (name == to_string(v)) return v;
    }
    return fallback;  // the fallback's own name, not among `values`
  }
  bool boolean(const std::string& key, bool fallback);
  // The member if present (marked as known), else null.
  const nlohmann::json* member(const std::string& key);
  // Fails on `key` unless `value`, read from it, is an absolute file path (absolute_path()).
  void require_absolute_path(const std::string& key, const std::string& value) const;
  // Throws on the first key that no accessor asked for.
  void reject_unknown_keys() const;

  std::string path_of(const std::string& key) const;
  [[noreturn]] void fail(const std::string& key, const std::string& reason) const;

 private:
  const nlohmann::json& object_;
  std::string path_;
  std::set<std::string> known_;
};

constexpr std::size_t kMaxConfigBytes = 1u << 20;
constexpr int kMaxConfigDepth = 16;

// Parses the text as JSON; syntax errors are reported with line and column. Caps: size and depth.
nlohmann::json parse_json(const std::string& text, const std::string& source_name);

// A value as it appears in the file, shortened: for error messages.
std::string shown(const nlohmann::json& value);
// An absolute file path without control characters, not ending in '/'.
bool absolute_path(const std::string& s);
// 1 to `max_len` letters, digits, '-', '_' or '.': the names of services, devices, destinations,
// tables and the appliance.
bool valid_name(const std::string& s, std::size_t max_len);

}  // namespace wardgate::common
