#include "tunnel/uapi_backend.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/unique_fd.h"
#include "tunnel/uapi_codec.h"

namespace wardgate::tunnel {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kIoTimeout = std::chrono::seconds(5);
constexpr auto kStartTimeout = std::chrono::seconds(10);

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

}  // namespace

UapiBackend::UapiBackend(std::string interface, UapiConfig config)
    : interface_(std::move(interface)), config_(std::move(config)) {}

UapiBackend::~UapiBackend() { destroy(); }

std::unique_ptr<UapiBackend> make_uapi_backend(const std::string& interface,
                                               const UapiConfig& config) {
  return std::make_unique<UapiBackend>(interface, config);
}

std::string UapiBackend::socket_path() const {
  return config_.socket_dir + "/" + interface_ + ".sock";
}

std::string UapiBackend::exchange(const std::string& request, std::string& reply) {
  const std::string path = socket_path();
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return path + ": path too long for a unix socket";
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const common::UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock.ok()) return errno_text("unix socket");
  const int fd = sock.get();
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return errno_text("connect to " + path);
  // The socket takes the private key: it must be the daemon root or wardgate itself started,
  // not one another user put at that path.
  ucred peer{};
  socklen_t peer_len = sizeof peer;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) != 0)
    return errno_text("peer credentials of " + path);
  if (peer.uid != 0 && peer.uid != ::geteuid())
    return path + ": refused: the socket is served by uid " + std::to_string(peer.uid) + " (pid " +
           std::to_string(peer.pid) + "), not by root or wardgate's own uid";
  const auto deadline = Clock::now() + kIoTimeout;
  std::size_t sent = 0;
  while (sent < request.size()) {
    if (!wait_fd(fd, POLLOUT, deadline)) return path + ": timed out writing the request";
    const auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_text("write to " + path);
    sent += static_cast<std::size_t>(n);
  }
  reply.clear();
  std::array<char, 16384> buffer{};
  while (!uapi_reply_complete(reply)) {
    if (!wait_fd(fd, POLLIN, deadline)) return path + ": timed out waiting for the reply";
    const auto n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_text("read from " + path);
    if (n == 0) return path + ": the daemon closed the connection before the end of its reply";
    reply.append(buffer.data(), static_cast<std::size_t>(n));
    if (reply.size() > kUapiMaxReplyBytes) return path + ": reply larger than the cap";
  }
  return {};
}

std::string UapiBackend::start_daemon() {
  const pid_t pid = ::fork();
  if (pid < 0) return errno_text("fork");
  if (pid == 0) {
    // The daemon dies with wardgate: a tunnel nobody watches is worse than none, and the next
    // start brings up a fresh one. It must not inherit wardgate's sockets or files.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    ::close_range(3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::setenv("WG_PROCESS_FOREGROUND", "1", 1);
    ::execl(config_.wireguard_go.c_str(), config_.wireguard_go.c_str(), "-f", interface_.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  child_ = pid;
  // Ready once the socket answers a get; bounded, and a daemon that exits early is reported.
  const auto deadline = Clock::now() + kStartTimeout;
  std::string reply;
  std::string last;
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(child_, &status, WNOHANG) == child_) {
      child_ = 0;
      return config_.wireguard_go + " exited at start (" +
             (WIFEXITED(status) ? "status " + std::to_string(WEXITSTATUS(status))
                                : "signal " + std::to_string(WTERMSIG(status))) +
             (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? ", not executable?" : "") +
             "); is /dev/net/tun available and the interface name free?";
    }
    last = exchange(std::string(kUapiGetRequest), reply);
    if (last.empty()) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  destroy();
  return config_.wireguard_go + " did not open " + socket_path() + " within 10 s: " + last;
}

std::string UapiBackend::create() {
  if (alive()) return {};
  if (!config_.start) {
    std::string reply;
    if (auto error = exchange(std::string(kUapiGetRequest), reply); !error.empty())
      return "no WireGuard daemon answers for " + interface_ + " (uapi.start is false): " + error;
    return {};
  }
  ::mkdir(config_.socket_dir.c_str(), 0755);
  return start_daemon();
}

std::string UapiBackend::set(const DeviceConfig& config) {
  std::string reply;
  if (auto error = exchange(encode_uapi_set(config), reply); !error.empty()) return error;
  const auto r = decode_uapi_errno(reply);
  if (!r.error.empty()) return "malformed reply to set: " + r.error;
  if (r.errno_value != 0)
    return "the daemon refused the configuration (errno " + std::to_string(r.errno_value) + ": " +
           std::strerror(std::abs(r.errno_value)) + ")";
  return {};
}

std::string UapiBackend::get(DeviceState& state) {
  std::string reply;
  if (auto error = exchange(std::string(kUapiGetRequest), reply); !error.empty()) return error;
  state = DeviceState{};
  state.interface = interface_;
  const auto r = decode_uapi_get(reply, state);
  if (!r.error.empty()) return "malformed reply to get: " + r.error;
  if (r.errno_value != 0)
    return "the daemon answered get with errno " + std::to_string(r.errno_value);
  return {};
}

void UapiBackend::reap() {
  if (child_ == 0) return;
  int status = 0;
  if (::waitpid(child_, &status, WNOHANG) == child_) child_ = 0;
}

bool UapiBackend::alive() {
  if (config_.start) {
    reap();
    if (child_ == 0) return false;
  }
  std::string reply;
  return exchange(std::string(kUapiGetRequest), reply).empty();
}

void UapiBackend::destroy() {
  if (child_ == 0) return;
  ::kill(child_, SIGTERM);
  // wireguard-go removes its interface and socket on SIGTERM; give it 5 s, then force it.
  for (int i = 0; i < 250 && child_ != 0; ++i) {
    reap();
    if (child_ != 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (child_ != 0) {
    ::kill(child_, SIGKILL);
    ::waitpid(child_, nullptr, 0);
    child_ = 0;
  }
}

}  // namespace wardgate::tunnel
