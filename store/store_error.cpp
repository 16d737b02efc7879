#include "store/store_error.h"

#include <string>

namespace wardgate::store {
namespace {

class Category : public std::error_category {
 public:
  const char* name() const noexcept override { return "audit-store"; }
  std::string message(int v) const override {
    switch (static_cast<Errc>(v)) {
      case Errc::kReadFailed:
        return "the audit store could not be read";
      case Errc::kWriteFailed:
        return "the audit store could not be written";
    }
    return "unknown audit store error";
  }
};

}  // namespace

const std::error_category& store_category() {
  static const Category category;
  return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), store_category()}; }

}  // namespace wardgate::store
