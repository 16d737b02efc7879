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

#include <atomic>
#include <future>
#include <numeric>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

// Shows how the relay treats an inspector: kSeesAll wants every byte; kOpaque wants none (the
// relay splices); kHeaders parses records of a `header` followed by a `body` it does not need, as
// the DICOM decoder will treat P-DATA fragments: whatever part of a body arrives in a chunk it
// was shown, it skips; the rest of the body it declares opaque.
enum class Mode { kSeesAll, kOpaque, kHeaders };

class RecordingInspector : public Inspector {
 public:
  Mode mode = Mode::kSeesAll;
  static constexpr std::size_t kHeader = 10;
  static constexpr std::size_t kBody = 100'000;

  std::uint64_t opaque_bytes(Direction d) override {
    if (mode == Mode::kSeesAll) return 0;
    if (mode == Mode::kOpaque) return kAllOpaque;
    const std::size_t pos = record_pos(d);
    return pos >= kHeader ? kHeader + kBody - pos : 0;
  }
  void on_opaque(Direction d, std::size_t n) override {
    (d == Direction::kFromDevice ? opaque_from_device : opaque_to_device) += n;
    if (mode == Mode::kHeaders) {
      std::size_t& pos = record_pos(d);
      EXPECT_GE(pos, kHeader) << "header bytes were not shown";
      pos += n;
      EXPECT_LE(pos, kHeader + kBody) << "the relay skipped past what was declared opaque";
      if (pos == kHeader + kBody) pos = 0;
    }
  }
  Action on_data(Direction d, std::span<const std::byte> chunk) override {
    std::string& s = d == Direction::kFromDevice ? from_device : to_device;
    s.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    if (mode == Mode::kHeaders) {
      std::size_t& pos = record_pos(d);
      for (std::byte b : chunk) {
        if (pos < kHeader && d == Direction::kFromDevice) {
          headers_from_device.push_back(static_cast<char>(b));
        }
        pos = (pos + 1) % (kHeader + kBody);
      }
    }
    if (!close_on.empty() && s.find(close_on) != std::string::npos) return Action::close({});
    if (!respond_on.empty() && s.find(respond_on) != std::string::npos) {
      return Action::close(response());
    }
    return Action::forward();
  }
  Response response() const {
    const auto bytes = [](const std::optional<std::string>& s) {
      std::optional<std::vector<std::byte>> out;
      if (!s) return out;
      out.emplace();
      for (char c : *s) out->push_back(static_cast<std::byte>(c));
      return out;
    };
    return {bytes(to_device_response), bytes(to_upstream_response)};
  }
  std::string respond_on;
  std::optional<std::string> to_device_response, to_upstream_response;
  void on_close(Direction d, CloseCause c) override {
    (d == Direction::kFromDevice ? from_device_close : to_device_close) = c;
    ++closes;
  }
  std::string from_device, to_device, close_on, headers_from_device;
  std::uint64_t opaque_from_device = 0, opaque_to_device = 0;
  CloseCause from_device_close = CloseCause::kShutdown, to_device_close = CloseCause::kShutdown;
  int closes = 0;

 private:
  std::size_t& record_pos(Direction d) { return d == Direction::kFromDevice ? pos_from_ : pos_to_; }
  std::size_t pos_from_ = 0, pos_to_ = 0;
};

// Runs one relay on its own thread; `done` resolves with the counters when it finishes.
struct Variant {
  Mode mode;
  bool zero_copy;
};

class RelayHarness {
 protected:
  void start_relay(Variant v, RelayOptions options, std::size_t chunk) {
    inspector_.mode = v.mode;
    options.zero_copy = v.zero_copy;
    device_ = make_pair();
    upstream_ = make_pair();
    pool_ = std::make_unique<BufferPool>(chunk, 4);
    pipes_ = std::make_unique<PipePool>(chunk, 4);
    device_sock_ = std::make_unique<tcp::socket>(io_, tcp::v4(), device_.inner);
    upstream_sock_ = std::make_unique<tcp::socket>(io_, tcp::v4(), upstream_.inner);
    relay_ = std::make_unique<Relay>(*device_sock_, *upstream_sock_, *pool_, *pipes_,
                                     other_inspector_ != nullptr ? other_inspector_ : &inspector_,
                                     options);
    asio::co_spawn(io_, relay_->run(), [this](const std::exception_ptr&) { done_.set_value(); });
    thread_ = std::thread([this] { io_.run(); });
  }

  // Waits (bounded) for the relay to finish.
  bool finished(std::chrono::milliseconds within = 5000ms) {
    return done_future_.wait_for(within) == std::future_status::ready;
  }

  void stop_relay() {
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
  std::unique_ptr<PipePool> pipes_;
  std::unique_ptr<tcp::socket> device_sock_, upstream_sock_;
  std::unique_ptr<Relay> relay_;
  RecordingInspector inspector_;
  Inspector* other_inspector_ = nullptr;  // used instead of inspector_ when set
  std::promise<void> done_;
  std::future<void> done_future_ = done_.get_future();
  std::thread thread_;
};

// Every relay behaviour, for each way an inspector can take the bytes and with splice on or off.
class RelayFixture : public RelayHarness, public ::testing::TestWithParam<Variant> {
 protected:
  void start(RelayOptions options = {}, std::size_t chunk = 16 * 1024) {
    start_relay(GetParam(), options, chunk);
  }
  void TearDown() override { stop_relay(); }
  Mode mode() const { return GetParam().mode; }
};

class RelayInspectorCut : public RelayHarness, public ::testing::Test {
 protected:
  void TearDown() override { stop_relay(); }
};

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> out;
  for (char c : s) out.push_back(static_cast<std::byte>(c));
  return out;
}

// Enforces a policy per record as the HL7 inspector does per MLLP frame: records end with ';'.
// The device's bytes are held until their record ends, then forwarded whole, except the record
// "NO;", which is dropped and answered with "REFUSED;" injected into the device's stream at the
// next upstream record boundary.
class GatingInspector : public Inspector {
 public:
  Action on_data(Direction d, std::span<const std::byte> chunk) override {
    const std::string text(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    if (d == Direction::kToDevice) {
      for (char c : text) to_device_at_boundary_ = c == ';';
      return answer(chunk);
    }
    out_.clear();
    if (budget != nullptr) {
      // What the relay took from the budget covers what this chunk makes the inspector hold.
      EXPECT_GE(budget->held(), held_.size() + text.size());
    }
    device_bytes_seen_.fetch_add(text.size());
    for (char c : text) {
      held_ += c;
      if (c != ';') continue;
      ++completed_;
      if (held_ == "NO;") {
        reply_ += "REFUSED;";
      } else {
        out_ += held_;
      }
      held_.clear();
    }
    return answer({reinterpret_cast<const std::byte*>(out_.data()), out_.size()});
  }
  void on_close(Direction /*d*/, CloseCause /*c*/) override {}
  // The device's records are followed; the other direction is not.
  Progress progress(Direction d) const override {
    if (d == Direction::kToDevice) return {};
    return {true, completed_, !held_.empty()};
  }
  std::size_t held_bytes() const override { return held_.size(); }
  std::size_t held_bytes_after(std::size_t n) const override { return held_.size() + n; }

  const HeldBytesBudget* budget = nullptr;  // checked against what the inspector holds

  // Waits (bounded) until the relay has shown the inspector `n` bytes of the device's stream: a
  // test orders its writes after what the relay did, not after a sleep that a busy machine may
  // outrun.
  bool wait_device_bytes(std::size_t n) const {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (device_bytes_seen_.load() < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }

 private:
  // Forwards `bytes`, with the reply if the device's stream is at a record boundary.
  Action answer(std::span<const std::byte> bytes) {
    if (reply_.empty() || !to_device_at_boundary_) return Action::forward_released(bytes);
    return Action::inject(bytes, Direction::kToDevice, bytes_of(std::exchange(reply_, {})));
  }

  std::string held_, out_, reply_;
  bool to_device_at_boundary_ = true;
  std::atomic<std::size_t> device_bytes_seen_{0};
  std::uint64_t completed_ = 0;
};

// Injects a marker into the device's stream for every chunk the device sends, and notes how many
// bytes of the device's stream it had been shown at that moment: the marker must arrive exactly
// there, never inside a relayed chunk nor after a later one.
class MarkingInspector : public Inspector {
 public:
  Action on_data(Direction d, std::span<const std::byte> chunk) override {
    if (d == Direction::kToDevice) {
      shown_to_device += chunk.size();
      return Action::forward();
    }
    marked_at.push_back(shown_to_device);
    return Action::inject(chunk, Direction::kToDevice, bytes_of(marker(marked_at.size() - 1)));
  }
  void on_close(Direction /*d*/, CloseCause /*c*/) override {}
  static std::string marker(std::size_t i) { return "#MARK" + std::to_string(i) + "#"; }

  std::uint64_t shown_to_device = 0;
  std::vector<std::uint64_t> marked_at;
};

class RelayGating : public RelayHarness, public ::testing::Test {
 protected:
  void SetUp() override {
    other_inspector_ = &gate_;
    start_relay({Mode::kSeesAll, true}, {}, 16 * 1024);
  }
  void TearDown() override { stop_relay(); }

  // Both peers half-close; the relay then ends and its counters are final.
  void end_both() {
    ::shutdown(device_.peer, SHUT_WR);
    ::shutdown(upstream_.peer, SHUT_WR);
    ASSERT_TRUE(finished());
  }
  // Reads exactly `n` bytes (bounded by the poll timeout).
  std::string read_n(int fd, std::size_t n) {
    int err = 0;
    return read_until_eof(fd, err, n);
  }
  GatingInspector gate_;
};

TEST_F(RelayGating, HeldBytesAreForwardedWholeOnceReleased) {
  // Three chunks, each shown to the inspector before the next is written.
  write_all(device_.peer, "ab");
  ASSERT_TRUE(gate_.wait_device_bytes(2));
  write_all(device_.peer, "c;de");
  ASSERT_TRUE(gate_.wait_device_bytes(6));
  write_all(device_.peer, "f;");
  EXPECT_EQ(read_n(upstream_.peer, 8), "abc;def;");
  end_both();
  EXPECT_EQ(relay_->counters().bytes_from_device, 8u);
}

TEST_F(RelayGating, ARefusedRecordIsAnsweredByTheRelayAndTheSessionGoesOn) {
  write_all(device_.peer, "NO;");
  EXPECT_EQ(read_n(device_.peer, 8), "REFUSED;");
  write_all(device_.peer, "yes;");
  EXPECT_EQ(read_n(upstream_.peer, 4), "yes;");  // "NO;" never arrived
  write_all(upstream_.peer, "ack;");
  EXPECT_EQ(read_n(device_.peer, 4), "ack;");
  end_both();
  EXPECT_EQ(relay_->counters().bytes_from_device, 4u);
}

TEST_F(RelayGating, TheAnswerWaitsForABoundaryInTheOtherStream) {
  write_all(upstream_.peer, "part");
  EXPECT_EQ(read_n(device_.peer, 4), "part");
  write_all(device_.peer, "NO;");
  // The refusal exists before the server's record ends: it must wait, not land inside
  // "part...;".
  ASSERT_TRUE(gate_.wait_device_bytes(3));
  write_all(upstream_.peer, "-end;");
  EXPECT_EQ(read_n(device_.peer, 13), "-end;REFUSED;");
}

// The device reads slowly, so the relay's writes toward it are mostly in progress (partly
// written) when the device's chunks make the inspector inject. A marker written as soon as it is
// asked for would land inside the chunk being written.
TEST_F(RelayInspectorCut, AnInjectionNeverInterleavesWithARelayedChunk) {
  MarkingInspector marking;
  other_inspector_ = &marking;
  start_relay({Mode::kSeesAll, true}, {}, 64 * 1024);
  const int small = 4096;
  ::setsockopt(device_.inner, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  std::string text(std::size_t{4} * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i % 26);
  std::thread server([&] { write_all(upstream_.peer, text); });
  std::thread device([&] {
    for (int i = 0; i < 20; ++i) {
      std::this_thread::sleep_for(20ms);
      write_all(device_.peer, "x");
    }
  });
  std::string got;
  char buf[4096];
  const std::size_t markers = 20;
  std::size_t expected_size = text.size();
  for (std::size_t i = 0; i < markers; ++i) expected_size += MarkingInspector::marker(i).size();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (got.size() < expected_size && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{device_.peer, POLLIN, 0};
    if (::poll(&pfd, 1, 1000) <= 0) continue;
    const ssize_t n = ::recv(device_.peer, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
    std::this_thread::sleep_for(1ms);  // a slow reader
  }
  server.join();
  device.join();
  ::shutdown(device_.peer, SHUT_WR);
  ::shutdown(upstream_.peer, SHUT_WR);
  ASSERT_TRUE(finished());
  ASSERT_EQ(marking.marked_at.size(), markers);
  // The relayed stream with each marker exactly where the inspector's view of it stood.
  std::string expected;
  std::uint64_t from = 0;
  for (std::size_t i = 0; i < markers; ++i) {
    expected += text.substr(from, marking.marked_at[i] - from) + MarkingInspector::marker(i);
    from = marking.marked_at[i];
  }
  expected += text.substr(from);
  EXPECT_TRUE(got == expected) << "a marker landed elsewhere than after the bytes shown before it";
  // Most markers were asked for while a chunk toward the device was in flight.
  std::size_t inside = 0;
  for (std::uint64_t at : marking.marked_at) inside += at > 0 && at < text.size();
  EXPECT_GT(inside, markers / 2);
}

TEST_P(RelayFixture, RelaysBothDirectionsUnchangedAndShowsEveryByteToTheInspector) {
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
  switch (mode()) {
    case Mode::kSeesAll:
      EXPECT_EQ(inspector_.from_device, request);
      EXPECT_EQ(inspector_.to_device, response);
      break;
    case Mode::kOpaque:
      EXPECT_EQ(inspector_.from_device, "");
      EXPECT_EQ(inspector_.opaque_from_device, request.size());
      EXPECT_EQ(inspector_.opaque_to_device, response.size());
      break;
    case Mode::kHeaders: {
      // Every record header was shown; shown plus skipped is the whole stream; and bodies were
      // mostly skipped (splice or hidden copy), not shown.
      std::string headers;
      constexpr std::size_t kRecord = RecordingInspector::kHeader + RecordingInspector::kBody;
      for (std::size_t off = 0; off < request.size(); off += kRecord) {
        headers += request.substr(off, RecordingInspector::kHeader);
      }
      EXPECT_TRUE(inspector_.headers_from_device == headers);
      EXPECT_EQ(inspector_.from_device.size() + inspector_.opaque_from_device, request.size());
      EXPECT_GT(inspector_.opaque_from_device, request.size() / 2);
      break;
    }
  }
  EXPECT_EQ(inspector_.from_device_close, CloseCause::kEof);
  EXPECT_EQ(inspector_.to_device_close, CloseCause::kEof);
}

TEST_P(RelayFixture, StalledReaderStallsTheSenderInsteadOfBuffering) {
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

TEST_P(RelayFixture, HalfCloseLetsTheOtherDirectionFinish) {
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

TEST_P(RelayFixture, ResetIsPropagatedAsReset) {
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

TEST_P(RelayFixture, AReceiverThatResetsMidStreamResetsTheSenderAndNothingElse) {
  // Mid-stream, with data in flight on the splice path too (the lab test k covers the SIGPIPE
  // that such a reset once raised).
  start();
  std::thread sender([&] {
    const std::string block = pattern(64 * 1024);
    for (int i = 0; i < 2000; ++i) {  // bounded: 128 MiB at most
      if (::send(device_.peer, block.data(), block.size(), MSG_NOSIGNAL) <= 0) break;
    }
  });
  int err = 0;
  read_until_eof(upstream_.peer, err, 256 * 1024);  // the stream is flowing
  set_reset_on_close(upstream_.peer);
  ::close(upstream_.peer);
  upstream_.peer = -1;
  sender.join();  // ends because the device's connection was reset
  ASSERT_TRUE(finished());
  // Whichever direction meets the reset first (a write into upstream, or the read of upstream's
  // RST) ends the relay; the device's direction ends with one of the two, never with EOF.
  const CloseCause end = relay_->counters().from_device_end;
  EXPECT_TRUE(end == CloseCause::kWriteFailed || end == CloseCause::kReset) << to_string(end);
}

TEST_P(RelayFixture, IdleTimeoutClosesBothLegs) {
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

TEST_P(RelayFixture, ActivityKeepsTheSessionPastTheIdleTimeout) {
  RelayOptions options;
  // Activity every 100 ms against a 1.5 s timeout: only a stall of more than a second between two
  // writes (not a busy machine's scheduling delay) could end the session.
  options.idle_timeout = 1500ms;
  start(options);
  for (int i = 0; i < 20; ++i) {  // 20 x 100 ms: past the idle timeout, never idle
    write_all(device_.peer, "x");
    int err = 0;
    EXPECT_EQ(read_until_eof(upstream_.peer, err, 1), "x");
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(finished(0ms));
}

TEST_F(RelayInspectorCut, InspectorCloseCutsTheSessionWithoutForwardingTheChunk) {
  inspector_.close_on = "FORBIDDEN";
  start_relay({Mode::kSeesAll, true}, {}, 16 * 1024);
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

TEST_F(RelayInspectorCut, RespondAndCloseAnswersEachSideThenClosesCleanly) {
  inspector_.respond_on = "ASSOCIATE-RQ";
  inspector_.to_device_response = "ASSOCIATE-RJ";
  inspector_.to_upstream_response = "ABORT";
  start_relay({Mode::kSeesAll, true}, {}, 16 * 1024);
  write_all(device_.peer, "ASSOCIATE-RQ");
  int err = 0;
  EXPECT_EQ(read_until_eof(device_.peer, err), "ASSOCIATE-RJ");  // wardgate's own answer, then FIN
  EXPECT_EQ(err, 0);
  EXPECT_EQ(read_until_eof(upstream_.peer, err), "ABORT");  // the request itself never arrived
  EXPECT_EQ(err, 0);
  ASSERT_TRUE(finished());
  EXPECT_EQ(relay_->counters().from_device_end, CloseCause::kInspector);
  EXPECT_EQ(relay_->counters().bytes_from_device, 0u);
}

TEST_F(RelayInspectorCut, AnEmptyResponseIsAPlainClose) {
  inspector_.respond_on = "ASSOCIATE-RQ";
  inspector_.to_device_response = "ASSOCIATE-RJ";
  inspector_.to_upstream_response = "";
  start_relay({Mode::kSeesAll, true}, {}, 16 * 1024);
  write_all(device_.peer, "ASSOCIATE-RQ");
  int err = 0;
  EXPECT_EQ(read_until_eof(device_.peer, err), "ASSOCIATE-RJ");
  EXPECT_EQ(read_until_eof(upstream_.peer, err), "");
  EXPECT_EQ(err, 0);  // FIN, not reset
  ASSERT_TRUE(finished());
}

TEST_F(RelayInspectorCut, RespondAndCloseResetsASideWithoutResponse) {
  inspector_.respond_on = "BAD";
  inspector_.to_device_response = "ABORT";
  start_relay({Mode::kSeesAll, true}, {}, 16 * 1024);
  write_all(device_.peer, "BAD");
  int err = 0;
  EXPECT_EQ(read_until_eof(device_.peer, err), "ABORT");
  EXPECT_EQ(err, 0);
  EXPECT_EQ(read_until_eof(upstream_.peer, err), "");
  EXPECT_EQ(err, ECONNRESET);
  ASSERT_TRUE(finished());
}

TEST_P(RelayFixture, ShutdownEndsAnActiveRelay) {
  start();
  write_all(device_.peer, "ping");
  int err = 0;
  EXPECT_EQ(read_until_eof(upstream_.peer, err, 4), "ping");
  asio::post(io_, [this] { relay_->shutdown(); });
  ASSERT_TRUE(finished());
  EXPECT_EQ(relay_->counters().from_device_end, CloseCause::kShutdown);
  EXPECT_EQ(inspector_.closes, 2);
}

// Message deadlines and the held-bytes budget, with the gating inspector following the device's
// ';'-terminated records.
class RelayLimits : public RelayHarness, public ::testing::Test {
 protected:
  void start(RelayOptions options) {
    other_inspector_ = &gate_;
    start_relay({Mode::kSeesAll, true}, options, 16 * 1024);
  }
  void TearDown() override { stop_relay(); }
  std::chrono::milliseconds since(std::chrono::steady_clock::time_point t) const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t);
  }
  GatingInspector gate_;
};

TEST_F(RelayLimits, AConnectionThatNeverSendsIsClosedAtTheFirstMessageDeadline) {
  RelayOptions options;
  options.first_message_timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  start(options);
  ASSERT_TRUE(finished(5000ms));
  EXPECT_GE(since(started), 300ms);
  EXPECT_EQ(relay_->counters().from_device_end, CloseCause::kFirstMessageTimeout);
  int err = 0;
  EXPECT_EQ(read_until_eof(device_.peer, err), "");
  EXPECT_EQ(err, 0);  // closed, not reset
}

TEST_F(RelayLimits, BytesThatCompleteNoMessageDoNotMeetTheFirstMessageDeadline) {
  RelayOptions options;
  options.first_message_timeout = 300ms;
  start(options);
  write_all(device_.peer, "partial");
  ASSERT_TRUE(finished(5000ms));
  EXPECT_EQ(relay_->counters().from_device_end, CloseCause::kFirstMessageTimeout);
}

TEST_F(RelayLimits, AFirstMessageInTimeKeepsTheSession) {
  RelayOptions options;
  options.first_message_timeout = 300ms;
  start(options);
  write_all(device_.peer, "hello;");
  int err = 0;
  EXPECT_EQ(read_until_eof(upstream_.peer, err, 6), "hello;");
  EXPECT_FALSE(finished(800ms));
}

TEST_F(RelayLimits, ADeviceTricklingOneMessageIsClosedAtTheMessageDeadline) {
  RelayOptions options;
  options.message_timeout = 400ms;
  const auto started = std::chrono::steady_clock::now();
  start(options);
  // One byte every 50 ms: never idle, never done.
  for (int i = 0; i < 40 && !finished(50ms); ++i) {
    if (::send(device_.peer, "x", 1, MSG_NOSIGNAL) != 1) break;
  }
  ASSERT_TRUE(finished(5000ms));
  EXPECT_GE(since(started), 400ms);
  EXPECT_LT(since(started), 1500ms);
  EXPECT_EQ(relay_->counters().from_device_end, CloseCause::kMessageTimeout);
  EXPECT_EQ(relay_->counters().bytes_from_device, 0u);  // the trickled record was never complete
}

TEST_F(RelayLimits, MessagesCompletedOneAfterAnotherNeverMissTheMessageDeadline) {
  RelayOptions options;
  options.message_timeout = 300ms;
  start(options);
  // Each chunk completes a record and begins the next: always inside one, never the same one.
  write_all(device_.peer, "a");
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(100ms);
    write_all(device_.peer, ";a");
  }
  EXPECT_FALSE(finished(0ms));
  int err = 0;
  std::string expected;
  for (int i = 0; i < 10; ++i) expected += "a;";
  EXPECT_EQ(read_until_eof(upstream_.peer, err, expected.size()), expected);
}

TEST_F(RelayLimits, ASessionNeedingMoreThanTheBudgetHasLeftIsClosedAndGivesItsShareBack) {
  HeldBytesBudget budget(1000);
  HeldBytes other(&budget);  // another session's share
  ASSERT_TRUE(other.resize(300));
  auto mine = std::make_unique<HeldBytes>(&budget);
  gate_.budget = &budget;
  RelayOptions options;
  options.held = mine.get();
  start(options);
  write_all(device_.peer, std::string(500, 'h'));  // held: fits in the 700 left
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(finished(0ms));
  EXPECT_EQ(budget.held(), 800u);
  write_all(device_.peer, std::string(300, 'h'));  // 800 would not fit
  ASSERT_TRUE(finished());
  EXPECT_EQ(relay_->counters().from_device_end, CloseCause::kHeldBytesBudget);
  EXPECT_LE(budget.held(), budget.limit());
  int err = 0;
  EXPECT_EQ(read_until_eof(upstream_.peer, err), "");  // nothing of the unfinished record
  mine.reset();                                        // the session ends
  EXPECT_EQ(budget.held(), 300u);                      // the other session keeps its share
}

TEST_F(RelayLimits, HoldingsGoBackToTheBudgetOnceForwarded) {
  HeldBytesBudget budget(1000);
  HeldBytes mine(&budget);
  gate_.budget = &budget;
  RelayOptions options;
  options.held = &mine;
  start(options);
  for (int i = 0; i < 5; ++i) {  // 5 x 600 bytes through a 1000-byte budget
    write_all(device_.peer, std::string(599, 'r') + ";");
    int err = 0;
    EXPECT_EQ(read_until_eof(upstream_.peer, err, 600).size(), 600u);
  }
  EXPECT_FALSE(finished(0ms));
  EXPECT_EQ(budget.held(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Inspection, RelayFixture,
                         ::testing::Values(Variant{Mode::kSeesAll, true},
                                           Variant{Mode::kOpaque, true},
                                           Variant{Mode::kHeaders, true},
                                           Variant{Mode::kOpaque, false},
                                           Variant{Mode::kHeaders, false}),
                         [](const auto& param_info) {
                           const char* copy = param_info.param.zero_copy ? "" : "Copied";
                           switch (param_info.param.mode) {
                             case Mode::kSeesAll:
                               return std::string("EveryByteShown");
                             case Mode::kOpaque:
                               return std::string("Opaque") + copy;
                             case Mode::kHeaders:
                               return std::string("HeadersShownBodies") + copy;
                           }
                           return std::string("Unknown");
                         });

}  // namespace
}  // namespace wardgate::proxy
