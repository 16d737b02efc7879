// The relay over real loopback TCP connections: device peer <-> [relay] <-> upstream peer.
// The peers are plain blocking sockets driven by the test thread; the relay runs on its own
// io_context thread, exactly as a proxy worker runs it.
#include "proxy/relay.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <numeric>
#include <thread>

#include "proxy/socket_options.h"

namespace wardgate::proxy {
namespace {

using namespace std::chrono_literals;

// A connected loopback pair: `peer` for the test, `inner` for the relay.
struct Pair {
  int peer = -1;
  int inner = -1;
};

Pair make_pair() {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(listener, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  Pair p;
  p.peer = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(::connect(p.peer, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  p.inner = ::accept(listener, nullptr, nullptr);
  ::close(listener);
  return p;
}

void write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << std::strerror(errno);
    done += static_cast<std::size_t>(n);
  }
}

// Reads until EOF (or `limit` bytes); sets `error` to errno on failure. Bounded by a poll timeout.
std::string read_until_eof(int fd, int& error, std::size_t limit = SIZE_MAX) {
  std::string out;
  error = 0;
  char buf[65536];
  while (out.size() < limit) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 5000) <= 0) {
      error = ETIMEDOUT;
      break;
    }
    const ssize_t n = ::recv(fd, buf, std::min(sizeof buf, limit - out.size()), 0);
    if (n == 0) break;
    if (n < 0) {
      error = errno;
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  return s;
}

class RecordingInspector : public Inspector {
 public:
  Verdict on_data(Direction d, std::span<const std::byte> chunk) override {
    std::string& s = d == Direction::kFromDevice ? from_device : to_device;
    s.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    if (!close_on.empty() && s.find(close_on) != std::string::npos) return Verdict::kClose;
    return Verdict::kContinue;
  }
  void on_close(Direction d, CloseCause c) override {
    (d == Direction::kFromDevice ? from_device_close : to_device_close) = c;
    ++closes;
  }
  std::string from_device, to_device, close_on;
  CloseCause from_device_close = CloseCause::kShutdown, to_device_close = CloseCause::kShutdown;
  int closes = 0;
};

// Runs one relay on its own thread; `done` resolves with the counters when it finishes.
class RelayFixture : public ::testing::Test {
 protected:
  void start(RelayOptions options = {}, std::size_t chunk = 16 * 1024) {
    device_ = make_pair();
    upstream_ = make_pair();
    pool_ = std::make_unique<BufferPool>(chunk, 4);
    device_sock_ = std::make_unique<tcp::socket>(io_, tcp::v4(), device_.inner);
    upstream_sock_ = std::make_unique<tcp::socket>(io_, tcp::v4(), upstream_.inner);
    relay_ = std::make_unique<Relay>(*device_sock_, *upstream_sock_, *pool_, &inspector_, options);
    asio::co_spawn(io_, relay_->run(), [this](const std::exception_ptr&) { done_.set_value(); });
    thread_ = std::thread([this] { io_.run(); });
  }

  // Waits (bounded) for the relay to finish.
  bool finished(std::chrono::milliseconds within = 5000ms) {
    return done_future_.wait_for(within) == std::future_status::ready;
  }

  void TearDown() override {
    if (thread_.joinable()) {
      if (!finished(100ms)) asio::post(io_, [this] { relay_->shutdown(); });
      EXPECT_TRUE(finished());
      thread_.join();
    }
    for (int fd : {device_.peer, upstream_.peer}) {
      if (fd >= 0) ::close(fd);
    }
  }

  asio::io_context io_;
  Pair device_, upstream_;
  std::unique_ptr<BufferPool> pool_;
  std::unique_ptr<tcp::socket> device_sock_, upstream_sock_;
  std::unique_ptr<Relay> relay_;
  RecordingInspector inspector_;
  std::promise<void> done_;
  std::future<void> done_future_ = done_.get_future();
  std::thread thread_;
};

TEST_F(RelayFixture, RelaysBothDirectionsUnchangedAndShowsEveryByteToTheInspector) {
  start();
  const std::string request = pattern(3 * 1024 * 1024 + 17);
  const std::string response = pattern(777'777);
  std::thread sender([&] {
    write_all(device_.peer, request);
    ::shutdown(device_.peer, SHUT_WR);
  });
  int err = 0;
  EXPECT_EQ(read_until_eof(upstream_.peer, err), request);
  EXPECT_EQ(err, 0);
  write_all(upstream_.peer, response);
  ::shutdown(upstream_.peer, SHUT_WR);
  EXPECT_EQ(read_until_eof(device_.peer, err), response);
  sender.join();
  ASSERT_TRUE(finished());
  EXPECT_EQ(relay_->counters().bytes_from_device, request.size());
  EXPECT_EQ(relay_->counters().bytes_to_device, response.size());
  EXPECT_EQ(inspector_.from_device, request);
  EXPECT_EQ(inspector_.to_device, response);
  EXPECT_EQ(inspector_.from_device_close, CloseCause::kEof);
  EXPECT_EQ(inspector_.to_device_close, CloseCause::kEof);
}

TEST_F(RelayFixture, StalledReaderStallsTheSenderInsteadOfBuffering) {
  start();
  // The upstream peer reads nothing. The device peer writes until the kernel pushes back; what it
  // managed to write is bounded by socket buffers plus one chunk, not by wardgate buffering.
  ::fcntl(device_.peer, F_SETFL, O_NONBLOCK);
  const std::string block = pattern(64 * 1024);
  std::size_t written = 0;
  std::string sent;  // exactly what the kernel took, partial sends included
  auto last_progress = std::chrono::steady_clock::now();
  constexpr std::size_t kHardStop = 512u << 20;
  while (written < kHardStop && std::chrono::steady_clock::now() - last_progress < 500ms) {
    const ssize_t n = ::send(device_.peer, block.data(), block.size(), MSG_NOSIGNAL);
    if (n > 0) {
      written += static_cast<std::size_t>(n);
      sent.append(block, 0, static_cast<std::size_t>(n));
      last_progress = std::chrono::steady_clock::now();
    } else {
      std::this_thread::sleep_for(5ms);
    }
  }
  EXPECT_LT(written, 64u << 20) << "the relay kept accepting data nobody reads";
  // When the reader wakes up, everything written arrives, in order.
  ::fcntl(device_.peer, F_SETFL, 0);
  ::shutdown(device_.peer, SHUT_WR);
  int err = 0;
  const std::string got = read_until_eof(upstream_.peer, err);
  ASSERT_EQ(got.size(), written);
  EXPECT_TRUE(got == sent) << "relayed bytes differ from what was sent";
}

TEST_F(RelayFixture, HalfCloseLetsTheOtherDirectionFinish) {
  start();
  write_all(device_.peer, "query");
  ::shutdown(device_.peer, SHUT_WR);
  int err = 0;
  EXPECT_EQ(read_until_eof(upstream_.peer, err), "query");  // FIN reached the server
  // The server answers after the client's FIN; the answer still reaches the client.
  const std::string answer = pattern(200'000);
  write_all(upstream_.peer, answer);
  ::close(upstream_.peer);
  upstream_.peer = -1;
  EXPECT_EQ(read_until_eof(device_.peer, err), answer);
  EXPECT_EQ(err, 0);
  ASSERT_TRUE(finished());
  EXPECT_EQ(relay_->counters().from_device_end, CloseCause::kEof);
  EXPECT_EQ(relay_->counters().to_device_end, CloseCause::kEof);
}

TEST_F(RelayFixture, ResetIsPropagatedAsReset) {
  start();
  write_all(device_.peer, "hello");
  int err = 0;
  EXPECT_EQ(read_until_eof(upstream_.peer, err, 5), "hello");
  set_reset_on_close(upstream_.peer);
  ::close(upstream_.peer);
  upstream_.peer = -1;
  read_until_eof(device_.peer, err);
  EXPECT_EQ(err, ECONNRESET);
  ASSERT_TRUE(finished());
  EXPECT_EQ(relay_->counters().to_device_end, CloseCause::kReset);
}

TEST_F(RelayFixture, IdleTimeoutClosesBothLegs) {
  RelayOptions options;
  options.idle_timeout = 200ms;
  const auto started = std::chrono::steady_clock::now();
  start(options);
  ASSERT_TRUE(finished(5000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);
  EXPECT_EQ(relay_->counters().from_device_end, CloseCause::kIdleTimeout);
  int err = 0;
  EXPECT_EQ(read_until_eof(device_.peer, err), "");
  EXPECT_EQ(err, 0);  // an orderly close, not a reset
  EXPECT_EQ(read_until_eof(upstream_.peer, err), "");
}

TEST_F(RelayFixture, ActivityKeepsTheSessionPastTheIdleTimeout) {
  RelayOptions options;
  options.idle_timeout = 300ms;
  start(options);
  for (int i = 0; i < 6; ++i) {  // 6 x 100 ms: twice the idle timeout, never idle
    write_all(device_.peer, "x");
    int err = 0;
    EXPECT_EQ(read_until_eof(upstream_.peer, err, 1), "x");
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(finished(0ms));
}

TEST_F(RelayFixture, InspectorCloseCutsTheSessionWithoutForwardingTheChunk) {
  inspector_.close_on = "FORBIDDEN";
  start();
  write_all(device_.peer, "fine");
  int err = 0;
  EXPECT_EQ(read_until_eof(upstream_.peer, err, 4), "fine");
  write_all(device_.peer, "FORBIDDEN");
  const std::string rest = read_until_eof(upstream_.peer, err);
  EXPECT_EQ(rest.find("FORBIDDEN"), std::string::npos);
  EXPECT_EQ(err, ECONNRESET);
  ASSERT_TRUE(finished());
  EXPECT_EQ(relay_->counters().from_device_end, CloseCause::kInspector);
  EXPECT_EQ(relay_->counters().bytes_from_device, 4u);
}

TEST_F(RelayFixture, ShutdownEndsAnActiveRelay) {
  start();
  write_all(device_.peer, "ping");
  int err = 0;
  EXPECT_EQ(read_until_eof(upstream_.peer, err, 4), "ping");
  asio::post(io_, [this] { relay_->shutdown(); });
  ASSERT_TRUE(finished());
  EXPECT_EQ(relay_->counters().from_device_end, CloseCause::kShutdown);
  EXPECT_EQ(inspector_.closes, 2);
}

}  // namespace
}  // namespace wardgate::proxy
