#pragma once
// One std::error_category per module (DESIGN.md, conventions), in a few lines. A module writes:
//
//   // <module>/<module>_error.h
//   enum class Errc { kSomething = 1, kSomethingElse };
//   const std::error_category& module_category() noexcept;
//   inline std::error_code make_error_code(Errc e) noexcept {
//     return {static_cast<int>(e), module_category()};
//   }
//   template <> struct std::is_error_code_enum<wardgate::<module>::Errc> : std::true_type {};
//
//   // <module>/<module>_error.cpp
//   const std::error_category& module_category() noexcept {
//     static const common::ErrorCategory<Errc> category("wardgate.<module>", [](Errc e) {
//       switch (e) { case Errc::kSomething: return "..."; ... }
//       return "";
//     });
//     return category;
//   }
//
// Value 0 means success for std::error_code, so an Errc starts at 1. A message function that
// returns an empty string (a value it does not know) yields "<category> error <n>". Where the
// caller needs more than the code (a path, the kernel's own text), return it beside the code.
#include <string>
#include <system_error>

namespace wardgate::common {

template <class Enum>
class ErrorCategory final : public std::error_category {
 public:
  using Describe = const char* (*)(Enum);
  ErrorCategory(const char* name, Describe describe) : name_(name), describe_(describe) {}

  const char* name() const noexcept override { return name_; }
  std::string message(int value) const override {
    const char* text = describe_(static_cast<Enum>(value));
    if (text != nullptr && *text != '\0') return text;
    return std::string(name_) + " error " + std::to_string(value);
  }

 private:
  const char* name_;
  Describe describe_;
};

}  // namespace wardgate::common
