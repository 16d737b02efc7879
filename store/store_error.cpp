#include "store/store_error.h"

#include "common/error_category.h"

namespace wardgate::store {

const std::error_category& store_category() noexcept {
  static const common::ErrorCategory<Errc> category("wardgate.store", [](Errc e) {
    switch (e) {
      case Errc::kReadFailed:
        return "the audit store could not be read";
      case Errc::kWriteFailed:
        return "the audit store could not be written";
    }
    return "";
  });
  return category;
}

}  // namespace wardgate::store
