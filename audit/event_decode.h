#pragma once
// Reading events back from their canonical encoding (to_json), as the store keeps them. Only
// what to_json writes is accepted: the eight top-level members, fields of the five value types.
// Integers come back as int64 if negative, else uint64; a double with an integral value comes back
// as an integer. Either way to_json() of the result gives back the same bytes.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "audit/event.h"

namespace wardgate::audit {

// Nullopt (with `error` set when given) if `canonical` is not an event as to_json writes it, or
// is longer than kMaxCanonicalBytes.
std::optional<Event> event_from_json(std::string_view canonical, std::string* error = nullptr);

// "2026-11-22T02:03:04.123456Z" (format_time's form); also accepts fewer or no fraction digits,
// "2026-11-22T02:03:04Z" and a date alone ("2026-11-22", midnight UTC).
std::optional<std::chrono::system_clock::time_point> parse_time(std::string_view text);

// Microseconds since the Unix epoch (rounded down, as format_time() writes them), and back.
std::int64_t to_unix_us(std::chrono::system_clock::time_point time);
std::chrono::system_clock::time_point from_unix_us(std::int64_t us);

}  // namespace wardgate::audit
