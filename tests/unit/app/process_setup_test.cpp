// The start-up descriptor check against RLIMIT_NOFILE, on this test process's own limits.
#include "app/process_setup.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <string>

namespace wardgate::app {
namespace {

class DescriptorLimit : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved_), 0);
    if (saved_.rlim_max == RLIM_INFINITY || saved_.rlim_max < 1024) {
      GTEST_SKIP() << "needs a finite hard descriptor limit of at least 1024";
    }
    rlimit low = saved_;
    low.rlim_cur = 200;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  }
  void TearDown() override { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  static rlim_t soft() {
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    return lim.rlim_cur;
  }
  rlimit saved_{};
};

TEST_F(DescriptorLimit, TheSoftLimitIsRaisedWhenTheHardLimitAllows) {
  EXPECT_EQ(ensure_descriptor_limit(1000, "the test"), "");
  EXPECT_EQ(soft(), saved_.rlim_max);
  EXPECT_EQ(descriptor_limit(), saved_.rlim_max);
}

TEST_F(DescriptorLimit, AHardLimitTooLowIsRefusedNamingBothNumbers) {
  const std::uint64_t needed = saved_.rlim_max + 1;
  const std::string error = ensure_descriptor_limit(needed, "proxy.max_connections 99");
  EXPECT_NE(error.find("RLIMIT_NOFILE"), std::string::npos) << error;
  EXPECT_NE(error.find("hard limit " + std::to_string(saved_.rlim_max)), std::string::npos)
      << error;
  EXPECT_NE(error.find("proxy.max_connections 99 needs up to " + std::to_string(needed)),
            std::string::npos)
      << error;
}

}  // namespace
}  // namespace wardgate::app
