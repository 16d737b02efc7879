// Sessions that fail by an exception, over loopback: an inspector that throws on a chunk, or an
// inspector factory that throws. The session ends promptly, and everything admitting it took is
// given back: its device's connection slots stay usable and drain() still completes.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>

#include "common/metrics.h"
#include "proxy/proxy_server.h"
#include "tests/unit/proxy/loopback_sockets.h"

namespace wardgate::proxy {
namespace {

using namespace std::chrono_literals;

using testing::connect_to;
using testing::free_port;
using testing::Listener;
using testing::receive;
using testing::send_text;

// True once the peer closed (EOF or reset) within 5 s.
bool closed_by_peer(int fd) {
  pollfd pfd{fd, POLLIN, 0};
  if (::poll(&pfd, 1, 5000) <= 0) return false;
  std::array<char, 64> buf{};
  return ::recv(fd, buf.data(), buf.size(), 0) <= 0;
}

class ThrowingInspector final : public Inspector {
 public:
  Action on_data(Direction /*d*/, std::span<const std::byte> /*chunk*/) override {
    throw std::runtime_error("inspector failure injected by the test");
  }
  void on_close(Direction /*d*/, CloseCause /*c*/) override {}
};

class ForwardingInspector final : public Inspector {
 public:
  Action on_data(Direction /*d*/, std::span<const std::byte> /*chunk*/) override {
    return Action::forward();
  }
  void on_close(Direction /*d*/, CloseCause /*c*/) override {}
};

enum class Failure { kNone, kInspectorThrows, kFactoryThrows };

class SwitchableFactory final : public InspectorFactory {
 public:
  std::unique_ptr<Inspector> create(const SessionInfo& /*info*/) override {
    switch (failure.load()) {
      case Failure::kInspectorThrows:
        return std::make_unique<ThrowingInspector>();
      case Failure::kFactoryThrows:
        throw std::runtime_error("inspector factory failure injected by the test");
      case Failure::kNone:
        break;
    }
    return std::make_unique<ForwardingInspector>();
  }
  std::atomic<Failure> failure{Failure::kNone};
};

constexpr std::size_t kPerDevice = 2;
constexpr int kFailingSessions = 5;  // more than the device's slots

class SessionFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProxyOptions o;
    o.listen_address = asio::ip::address_v4::loopback();
    o.listen_port = free_port();
    o.transparent = false;
    o.threads = 1;
    o.max_connections_per_device = kPerDevice;
    o.services[o.listen_port] = {"pacs", "dicom"};
    const std::uint16_t upstream_port = upstream_.port;
    o.route = [upstream_port](const tcp::endpoint& client, const tcp::endpoint& /*original*/) {
      return UpstreamRoute{tcp::endpoint(asio::ip::address_v4::loopback(), upstream_port),
                           client.address().to_v4(), DeviceSide::kClient};
    };
    server_ = std::make_unique<ProxyServer>(std::move(o), factory_, metrics_);
    server_->start();
  }
  void TearDown() override { server_->stop(); }

  // One session that fails as `failure` says; returns once the device saw it end.
  void run_failing_session(Failure failure) {
    factory_->failure = failure;
    const int device = connect_to(server_->port());
    const int at_pacs = upstream_.accept_within(5000);
    ASSERT_GE(at_pacs, 0) << "the proxy did not connect upstream";
    send_text(device, "A-ASSOCIATE-RQ");
    EXPECT_TRUE(closed_by_peer(device)) << "the failed session did not end";
    ::close(device);
    ::close(at_pacs);
  }

  void run_failing_sessions(Failure failure) {
    for (int i = 0; i < kFailingSessions && !HasFatalFailure(); ++i) run_failing_session(failure);
    factory_->failure = Failure::kNone;
  }

  // The device may again hold as many connections as its limit allows, and they relay.
  void expect_device_limit_available() {
    std::array<int, kPerDevice> devices{};
    std::array<int, kPerDevice> at_pacs{};
    for (std::size_t i = 0; i < kPerDevice; ++i) {
      devices.at(i) = connect_to(server_->port());
      at_pacs.at(i) = upstream_.accept_within(5000);
      ASSERT_GE(at_pacs.at(i), 0) << "connection " << i
                                  << " refused: a failed session kept its slot";
      send_text(devices.at(i), "C-ECHO-RQ");
      EXPECT_EQ(receive(at_pacs.at(i), 9), "C-ECHO-RQ");
    }
    for (std::size_t i = 0; i < kPerDevice; ++i) {
      ::close(devices.at(i));
      ::close(at_pacs.at(i));
    }
  }

  double metric(const char* name, const char* help) { return metrics_.counter(name, help).value(); }

  Listener upstream_;
  std::shared_ptr<SwitchableFactory> factory_ = std::make_shared<SwitchableFactory>();
  common::MetricsRegistry metrics_;
  std::unique_ptr<ProxyServer> server_;
};

TEST_F(SessionFailureTest, AThrowingInspectorResetsItsSessionAndGivesTheSlotBack) {
  run_failing_sessions(Failure::kInspectorThrows);
  ASSERT_FALSE(HasFatalFailure()) << "a device slot stayed taken after a throwing inspector";
  expect_device_limit_available();
  EXPECT_EQ(metric("wardgate_proxy_inspector_failures_total",
                   "Sessions reset because their inspector failed (threw an exception)."),
            kFailingSessions);
}

TEST_F(SessionFailureTest, AThrowingFactoryEndsItsSessionAndGivesTheSlotBack) {
  run_failing_sessions(Failure::kFactoryThrows);
  ASSERT_FALSE(HasFatalFailure()) << "a device slot stayed taken after a throwing session";
  expect_device_limit_available();
}

TEST_F(SessionFailureTest, DrainEndsTheOpenSessionAfterFailedOnes) {
  run_failing_sessions(Failure::kFactoryThrows);
  run_failing_sessions(Failure::kInspectorThrows);
  ASSERT_FALSE(HasFatalFailure()) << "a device slot stayed taken after a failed session";

  const int device = connect_to(server_->port());
  const int at_pacs = upstream_.accept_within(5000);
  ASSERT_GE(at_pacs, 0);
  send_text(device, "C-ECHO-RQ");
  ASSERT_EQ(receive(at_pacs, 9), "C-ECHO-RQ");

  server_->stop_accepting();
  // Exactly the one open session is ended; the failed ones are not counted nor touched.
  EXPECT_EQ(server_->drain(100ms), 1U);
  EXPECT_TRUE(closed_by_peer(device));
  EXPECT_EQ(metrics_.gauge("wardgate_proxy_sessions_active", "Sessions open now.").value(), 0.0);
  ::close(device);
  ::close(at_pacs);
}

}  // namespace
}  // namespace wardgate::proxy
