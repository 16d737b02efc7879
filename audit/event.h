#pragma once
// The audit event: what every inspector reports and what the durable store (store/) keeps. One
// record carries at least date and time, subject (appliance + device), event type (category +
// action), success or failure (outcome), which is the minimum of GB/T 22239-2019 (等保 2.0), plus
// protocol detail as typed fields. docs/audit-events.md describes the schema and every action.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace wardgate::audit {

// The longest canonical record (to_json) the store keeps and its reader, `audit verify` and the
// exporters accept; the store reduces a longer event to fit (fit_for_store) before it is written.
constexpr std::size_t kMaxCanonicalBytes = 1u << 20;

// Caps of values a device controls (docs/audit-events.md, "Values a device controls"): a string,
// a list's number of items and each item, in bytes of the value before encoding. JSON escaping
// grows a control byte up to six times, so one capped value stays below 6 KiB encoded.
constexpr std::size_t kMaxValueBytes = 1024;
constexpr std::size_t kMaxListItems = 128;  // a DICOM association proposes at most 128 contexts
constexpr std::size_t kMaxListItemBytes = 256;
// The field that lists the values that were cut, one entry per field: "<key>:<original bytes>"
// for a string, "<key>:<original bytes>:<original items>" for a list (bytes summed over items).
constexpr std::string_view kTruncatedKey = "truncated_fields";

enum class Outcome : std::uint8_t { kSuccess, kWarning, kFailure, kDenied };
enum class Severity : std::uint8_t { kInfo, kNotice, kWarning, kAlert };

// The names used in the canonical encoding: "success", "warning", "failure", "denied" and
// "info", "notice", "warning", "alert".
const char* to_string(Outcome outcome);
const char* to_string(Severity severity);

using FieldValue =
    std::variant<std::string, std::int64_t, std::uint64_t, double, bool, std::vector<std::string>>;

struct Field {
  std::string key;
  FieldValue value;
  bool operator==(const Field&) const = default;
};

// Protocol detail of an event: keys are unique (set() replaces), kept in the order first set.
// Keys are ASCII snake_case ("calling_ae"); values keep their type so the store can index them.
class Fields {
 public:
  void set(std::string_view key, FieldValue value);
  void set(std::string_view key, std::string value) { set(key, FieldValue(std::move(value))); }
  void set(std::string_view key, std::string_view value) { set(key, std::string(value)); }
  void set(std::string_view key, const char* value) { set(key, std::string(value)); }
  void set(std::string_view key, bool value) { set(key, FieldValue(value)); }
  void set(std::string_view key, double value) { set(key, FieldValue(value)); }
  void set(std::string_view key, std::vector<std::string> value) {
    set(key, FieldValue(std::move(value)));
  }
  // Any other integer: signed ones are kept as int64, unsigned ones as uint64.
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) void set(std::string_view key,
                                                                       T value) {
    if constexpr (std::is_signed_v<T>) {
      set(key, FieldValue(static_cast<std::int64_t>(value)));
    } else {
      set(key, FieldValue(static_cast<std::uint64_t>(value)));
    }
  }

  // A value a device controls: cut to at most `max_bytes` (at a UTF-8 character boundary) and,
  // when cut, listed in kTruncatedKey with its original size.
  void set_untrusted(std::string_view key, std::string_view value,
                     std::size_t max_bytes = kMaxValueBytes);
  // A list a device controls: at most `max_items` items of at most `max_item_bytes` each; when
  // anything was cut, listed in kTruncatedKey with the original bytes and items.
  void set_untrusted(std::string_view key, const std::vector<std::string>& items,
                     std::size_t max_items = kMaxListItems,
                     std::size_t max_item_bytes = kMaxListItemBytes);
  // Applies set_untrusted()'s caps to every string and list value already set (kTruncatedKey
  // aside): what an inspector records before it is emitted, whatever a peer sent.
  void cap_values(std::size_t max_bytes = kMaxValueBytes, std::size_t max_items = kMaxListItems,
                  std::size_t max_item_bytes = kMaxListItemBytes);
  // Lists `key` in kTruncatedKey with `original` ("<bytes>" or "<bytes>:<items>") unless it is
  // listed already: a value cut twice keeps the size it had first.
  void mark_truncated(std::string_view key, std::string_view original);

  // The value of `key`, or null.
  const FieldValue* find(std::string_view key) const;

  std::size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }
  bool operator==(const Fields&) const = default;

 private:
  std::vector<Field> fields_;
};

struct Event {
  std::chrono::system_clock::time_point time;
  std::string appliance_id;
  std::string device;    // configured device name, else its address ("10.1.1.20")
  std::string category;  // "dicom", "hl7", "proxy", "policy", "tunnel", "admin"
  std::string action;    // e.g. "association-accepted", "operation", "security-alert"
  Outcome outcome = Outcome::kSuccess;
  Severity severity = Severity::kInfo;
  Fields fields;
  bool operator==(const Event&) const = default;
};

// An event stamped now (system clock), without fields: what every module's own events start from.
Event make_event(std::string appliance_id, std::string device, std::string category,
                 std::string action, Outcome outcome, Severity severity);

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF; 1 for ASCII), or 0 if it is not one. i < s.size().
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

// "2026-11-22T02:03:04.123456Z": UTC, always six fraction digits (truncated, not rounded).
std::string format_time(std::chrono::system_clock::time_point time);

// The canonical encoding (docs/audit-events.md): RFC 8785 (JCS) JSON, i.e. no whitespace, object
// keys sorted, shortest round-trip numbers, minimal string escapes; the same event always gives
// the same bytes. The store hashes exactly these bytes. Invalid UTF-8 in a string is replaced by
// U+FFFD per byte; a non-finite double is written as null. Never throws except std::bad_alloc.
std::string to_json(const Event& event);

// Whether the store may keep `event` as it is, `canonical` being to_json(event): at most
// kMaxCanonicalBytes, and appliance, device, category and action valid UTF-8 (the store's
// columns repeat them and must equal what the record decodes to).
bool fits_store(const Event& event, std::string_view canonical);

// `event` as the store keeps it when fits_store() says no: top-level strings with U+FFFD for
// bytes that are not UTF-8; lists of more than kMaxListItems items cut, then the longest string
// values and list items cut evenly (in encoded bytes) until the record fits, each cut value
// listed in kTruncatedKey. An event that cannot fit that way (its keys alone are too long)
// becomes a fixed-size "record-oversized" alert of category "audit" naming what it was. The
// result always fits; nothing is dropped silently.
Event fit_for_store(const Event& event);

}  // namespace wardgate::audit
