#include "proxy/connection_limiter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

namespace wardgate::proxy {
namespace {

in_addr ip(const char* text) {
  in_addr a{};
  ::inet_pton(AF_INET, text, &a);
  return a;
}

using Admission = ConnectionLimiter::Admission;

TEST(ConnectionLimiter, PerDeviceLimitLeavesOtherDevicesAlone) {
  ConnectionLimiter limiter(100, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.try_acquire(ip("10.1.1.20")), Admission::kAdmitted);
  EXPECT_EQ(limiter.try_acquire(ip("10.1.1.20")), Admission::kDeviceLimit);
  EXPECT_EQ(limiter.try_acquire(ip("10.1.1.21")), Admission::kAdmitted);
  EXPECT_EQ(limiter.active_for(ip("10.1.1.20")), 3u);
  EXPECT_EQ(limiter.refused_total(), 1u);
  limiter.release(ip("10.1.1.20"));
  EXPECT_EQ(limiter.try_acquire(ip("10.1.1.20")), Admission::kAdmitted);
}

TEST(ConnectionLimiter, GlobalLimitHoldsAcrossDevices) {
  ConnectionLimiter limiter(2, 2);
  EXPECT_EQ(limiter.try_acquire(ip("10.1.1.20")), Admission::kAdmitted);
  EXPECT_EQ(limiter.try_acquire(ip("10.1.1.21")), Admission::kAdmitted);
  EXPECT_EQ(limiter.try_acquire(ip("10.1.1.30")), Admission::kGlobalLimit);
  limiter.release(ip("10.1.1.21"));
  limiter.release(ip("10.1.1.20"));
  EXPECT_EQ(limiter.active(), 0u);
  EXPECT_EQ(limiter.active_for(ip("10.1.1.20")), 0u);
}

TEST(LimitEpisode, AFloodIsOneEpisodeWithACount) {
  common::LimitEpisode e;
  EXPECT_TRUE(e.on_refused());
  for (int i = 0; i < 999; ++i) EXPECT_FALSE(e.on_refused());
  EXPECT_EQ(e.on_recovered(), 1000u);
  EXPECT_EQ(e.on_recovered(), 0u);
  EXPECT_TRUE(e.on_refused());
}

}  // namespace
}  // namespace wardgate::proxy

namespace wardgate::proxy {
namespace {

// Captures what the limiter logs.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  int count(const std::string& needle) const {
    const std::string s = out_.str();
    int n = 0;
    for (auto pos = s.find(needle); pos != std::string::npos; pos = s.find(needle, pos + 1)) ++n;
    return n;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(ConnectionLimiter, AChurningFloodLogsOneLineAndOneSummary) {
  LogCapture log;
  ConnectionLimiter limiter(1000, 8);
  const in_addr scanner = ip("10.1.1.20");
  for (int i = 0; i < 8; ++i) ASSERT_EQ(limiter.try_acquire(scanner), Admission::kAdmitted);
  // The device keeps its 8 slots busy: one closes, one new gets in, many are refused.
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.try_acquire(scanner), Admission::kDeviceLimit);
    limiter.release(scanner);
    ASSERT_EQ(limiter.try_acquire(scanner), Admission::kAdmitted);
  }
  EXPECT_EQ(log.count("reached its limit of 8"), 1);
  EXPECT_EQ(log.count("below its connection limit again"), 0);
  for (int i = 0; i < 8; ++i) limiter.release(scanner);
  EXPECT_EQ(log.count("below its connection limit again: 1000 connections were refused"), 1);
}

}  // namespace
}  // namespace wardgate::proxy
