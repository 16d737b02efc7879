#pragma once
// Errors of the audit store that reach its users at run time (the exporters reading records and
// saving cursors), one std::error_category ("audit-store"). Opening a store and the CLI's reads
// throw StoreError instead (start-up).
#include <system_error>

namespace wardgate::store {

enum class Errc {
  kReadFailed = 1,  // sqlite could not read the records or a cursor
  kWriteFailed,     // sqlite could not write a cursor
};

const std::error_category& store_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), store_category()};
}

}  // namespace wardgate::store

template <>
struct std::is_error_code_enum<wardgate::store::Errc> : std::true_type {};
