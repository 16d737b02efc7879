// The proxy's upstream route hook over loopback: a connection accepted on the listener goes
// where the hook says, the device is the end the hook names (the inspector sees directions from
// the device), and a connection without a route is refused before anything is connected.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "proxy/proxy_server.h"
#include "tests/unit/proxy/loopback_sockets.h"

namespace wardgate::proxy {
namespace {

using testing::connect_to;
using testing::free_port;
using testing::Listener;
using testing::receive;
using testing::send_text;

// Records the session it was created for and the bytes of each direction.
struct Seen {
  std::mutex mutex;
  std::optional<SessionInfo> info;
  std::string from_device;
  std::string to_device;
};

class SeeingInspector final : public Inspector {
 public:
  explicit SeeingInspector(Seen& seen) : seen_(seen) {}
  Action on_data(Direction d, std::span<const std::byte> chunk) override {
    const std::scoped_lock lock(seen_.mutex);
    (d == Direction::kFromDevice ? seen_.from_device : seen_.to_device)
        .append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    return Action::forward();
  }
  void on_close(Direction /*d*/, CloseCause /*c*/) override {}

 private:
  Seen& seen_;
};

class SeeingFactory final : public InspectorFactory {
 public:
  explicit SeeingFactory(Seen& seen) : seen_(seen) {}
  std::unique_ptr<Inspector> create(const SessionInfo& info) override {
    const std::scoped_lock lock(seen_.mutex);
    seen_.info = info;
    return std::make_unique<SeeingInspector>(seen_);
  }

 private:
  Seen& seen_;
};

struct Asked {
  std::mutex mutex;
  std::vector<std::pair<tcp::endpoint, tcp::endpoint>> calls;  // (client, original destination)
};

class UpstreamRouteTest : public ::testing::Test {
 protected:
  void start(UpstreamRouter route) {
    ProxyOptions o;
    o.listen_address = asio::ip::address_v4::loopback();
    o.listen_port = free_port();
    o.transparent = false;  // nothing is diverted on loopback
    o.threads = 1;
    o.connect_timeout = std::chrono::milliseconds(2000);
    o.services[o.listen_port] = {"storescp", "dicom"};
    o.route = [this, route = std::move(route)](const tcp::endpoint& client,
                                               const tcp::endpoint& original) {
      {
        const std::scoped_lock lock(asked_.mutex);
        asked_.calls.emplace_back(client, original);
      }
      return route(client, original);
    };
    server_ = std::make_unique<ProxyServer>(std::move(o), std::make_shared<SeeingFactory>(seen_),
                                            metrics_);
    server_->start();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  Seen seen_;
  Asked asked_;
  common::MetricsRegistry metrics_;  // outlives server_
  std::unique_ptr<ProxyServer> server_;
};

TEST_F(UpstreamRouteTest, AConnectionGoesWhereTheRouteSaysAndTheDeviceIsTheServer) {
  const Listener device;  // the device's published service, somewhere else than the original
  start([&device](const tcp::endpoint& /*client*/, const tcp::endpoint& /*original*/) {
    return UpstreamRoute{tcp::endpoint(asio::ip::address_v4::loopback(), device.port),
                         asio::ip::address_v4::loopback(), DeviceSide::kServer};
  });

  const int core = connect_to(server_->port());
  const int at_device = device.accept_within(5000);
  ASSERT_GE(at_device, 0) << "the proxy did not connect to the routed destination";
  send_text(core, "C-STORE-RQ");
  EXPECT_EQ(receive(at_device, 10), "C-STORE-RQ");
  send_text(at_device, "C-STORE-RSP!");
  EXPECT_EQ(receive(core, 12), "C-STORE-RSP!");
  ::close(core);
  ::close(at_device);

  {
    const std::scoped_lock lock(asked_.mutex);
    ASSERT_EQ(asked_.calls.size(), 1U);
    EXPECT_EQ(asked_.calls[0].second.port(), server_->port());  // the original destination
    EXPECT_EQ(asked_.calls[0].first.address(), asio::ip::address_v4::loopback());
  }
  const std::scoped_lock lock(seen_.mutex);
  ASSERT_TRUE(seen_.info.has_value());
  EXPECT_EQ(seen_.info->device_side, DeviceSide::kServer);
  EXPECT_EQ(seen_.info->server_port, device.port);
  EXPECT_EQ(ntohl(seen_.info->device_addr().s_addr), INADDR_LOOPBACK);
  // Directions are named from the device: what the core sent goes to the device.
  EXPECT_EQ(seen_.to_device, "C-STORE-RQ");
  EXPECT_EQ(seen_.from_device, "C-STORE-RSP!");
  EXPECT_NE(describe(*seen_.info).find("opened by the core"), std::string::npos);
}

TEST_F(UpstreamRouteTest, ADeviceOpenedRouteKeepsTheClientAsTheDevice) {
  const Listener pacs;
  start([&pacs](const tcp::endpoint& client, const tcp::endpoint& /*original*/) {
    return UpstreamRoute{tcp::endpoint(asio::ip::address_v4::loopback(), pacs.port),
                         client.address().to_v4(), DeviceSide::kClient};
  });
  const int modality = connect_to(server_->port());
  const int at_pacs = pacs.accept_within(5000);
  ASSERT_GE(at_pacs, 0);
  send_text(modality, "A-ASSOCIATE-RQ");
  EXPECT_EQ(receive(at_pacs, 14), "A-ASSOCIATE-RQ");
  ::close(modality);
  ::close(at_pacs);
  const std::scoped_lock lock(seen_.mutex);
  ASSERT_TRUE(seen_.info.has_value());
  EXPECT_EQ(seen_.info->device_side, DeviceSide::kClient);
  EXPECT_EQ(seen_.from_device, "A-ASSOCIATE-RQ");
}

TEST_F(UpstreamRouteTest, AConnectionWithoutARouteIsRefusedAndNothingIsConnected) {
  start([](const tcp::endpoint& /*client*/, const tcp::endpoint& /*original*/) {
    return std::optional<UpstreamRoute>();
  });
  const int core = connect_to(server_->port());
  // The proxy closes the refused connection at once (a reset), without a byte.
  pollfd pfd{core, POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 5000), 1) << "the refused connection was left open";
  std::array<char, 16> buf{};
  EXPECT_LE(::recv(core, buf.data(), buf.size(), 0), 0);
  ::close(core);
  const std::scoped_lock lock(seen_.mutex);
  EXPECT_FALSE(seen_.info.has_value());
}

}  // namespace
}  // namespace wardgate::proxy
