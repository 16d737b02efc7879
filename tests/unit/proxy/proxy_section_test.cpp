// The proxy section's keys for deadlines, the held-bytes budget and keepalive, and the socket
// options they become on a real socket.
#include "proxy/proxy_section.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/json_reader.h"
#include "proxy/socket_options.h"

namespace wardgate::proxy {
namespace {

int int_option(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  EXPECT_EQ(::getsockopt(fd, level, name, &value, &len), 0);
  return value;
}

TEST(ProxySection, DeadlinesBudgetAndKeepaliveHaveSaneDefaults) {
  const ProxySection s = read_proxy_section(nullptr);
  EXPECT_EQ(s.options.first_message_timeout, std::chrono::seconds(10));
  EXPECT_EQ(s.options.message_timeout, std::chrono::seconds(30));
  EXPECT_EQ(s.options.held_bytes_budget, std::size_t{256} << 20);
  EXPECT_EQ(s.options.device_leg.keepalive.idle_s, 60);
  EXPECT_EQ(s.options.upstream_leg.keepalive.idle_s, 60);
}

TEST(ProxySection, DeadlinesBudgetAndKeepaliveAreRead) {
  const auto json = nlohmann::json::parse(R"({"first_message_timeout_s": 5, "message_timeout_s": 0,
      "held_bytes_budget_mib": 64, "keepalive_idle_s": 30, "keepalive_interval_s": 5,
      "keepalive_count": 3})");
  const ProxySection s = read_proxy_section(&json);
  EXPECT_EQ(s.options.first_message_timeout, std::chrono::seconds(5));
  EXPECT_EQ(s.options.message_timeout, std::chrono::seconds(0));
  EXPECT_EQ(s.options.held_bytes_budget, std::size_t{64} << 20);
  for (const LegTuning* leg : {&s.options.device_leg, &s.options.upstream_leg}) {
    EXPECT_EQ(leg->keepalive.idle_s, 30);
    EXPECT_EQ(leg->keepalive.interval_s, 5);
    EXPECT_EQ(leg->keepalive.count, 3);
  }
}

TEST(ProxySection, OutOfRangeValuesNameTheirKey) {
  const auto json = nlohmann::json::parse(R"({"held_bytes_budget_mib": 0})");
  try {
    read_proxy_section(&json);
    FAIL() << "accepted";
  } catch (const common::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("proxy.held_bytes_budget_mib"), std::string::npos)
        << e.what();
  }
}

TEST(SocketOptions, EachLegGetsTheConfiguredKeepalive) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  LegTuning tuning;
  tuning.keepalive = {45, 7, 4};
  ASSERT_FALSE(tune_leg(fd, tuning));
  EXPECT_EQ(int_option(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE), 45);
  EXPECT_EQ(int_option(fd, IPPROTO_TCP, TCP_KEEPINTVL), 7);
  EXPECT_EQ(int_option(fd, IPPROTO_TCP, TCP_KEEPCNT), 4);
  tuning.keepalive.idle_s = 0;
  ASSERT_FALSE(tune_leg(fd, tuning));
  EXPECT_EQ(int_option(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
  ::close(fd);
}

}  // namespace
}  // namespace wardgate::proxy
