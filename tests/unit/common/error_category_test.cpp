#include "common/error_category.h"

#include <gtest/gtest.h>

namespace wardgate::common::test {

// A module's errors, written as the header's comment says.
enum class Errc { kBroken = 1, kWorse };
const std::error_category& example_category() noexcept {
  static const ErrorCategory<Errc> category("wardgate.example", [](Errc e) {
    switch (e) {
      case Errc::kBroken:
        return "it broke";
      case Errc::kWorse:
        return "it broke worse";
    }
    return "";
  });
  return category;
}
std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), example_category()};
}

}  // namespace wardgate::common::test

template <>
struct std::is_error_code_enum<wardgate::common::test::Errc> : std::true_type {};

namespace wardgate::common::test {
namespace {

TEST(ErrorCategory, AnEnumValueIsAnErrorCode) {
  const std::error_code ec = Errc::kBroken;  // implicit, through is_error_code_enum
  EXPECT_TRUE(ec);
  EXPECT_EQ(ec, Errc::kBroken);
  EXPECT_NE(ec, Errc::kWorse);
  EXPECT_EQ(ec.message(), "it broke");
  EXPECT_STREQ(ec.category().name(), "wardgate.example");
  EXPECT_EQ(&ec.category(), &example_category());
  EXPECT_EQ(make_error_code(Errc::kWorse).message(), "it broke worse");
}

TEST(ErrorCategory, DistinctFromOtherCategoriesWithTheSameValue) {
  const std::error_code ours = Errc::kBroken;
  const std::error_code system(1, std::system_category());
  EXPECT_EQ(ours.value(), system.value());
  EXPECT_NE(ours, system);
  EXPECT_NE(ours, std::errc::operation_not_permitted);  // EPERM is 1 too
}

TEST(ErrorCategory, UnknownValuesStillHaveAMessage) {
  const std::error_code ec(42, example_category());
  EXPECT_EQ(ec.message(), "wardgate.example error 42");
}

}  // namespace
}  // namespace wardgate::common::test
