// The UAPI backend attached to a daemon's socket: it talks only to a socket served by root or by
// wardgate's own uid, since it hands that socket the private key. The daemon here is a forked
// child answering one request; to serve as another user it drops to nobody before listen(),
// which is when the kernel records the credentials SO_PEERCRED reports.
#include "tunnel/uapi_backend.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace wardgate::tunnel {
namespace {

constexpr uid_t kNobody = 65534;

// Serves one UAPI exchange on `path` in a child process, as `uid`; returns the child's pid once
// the socket listens.
pid_t serve_once(const std::string& path, uid_t uid) {
  std::array<int, 2> ready{};
  if (::pipe(ready.data()) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid != 0) {
    ::close(ready[1]);
    char c = 0;
    const bool ok = ::read(ready[0], &c, 1) == 1;
    ::close(ready[0]);
    return ok ? pid : -1;
  }
  if (uid != 0 && (::setgid(uid) != 0 || ::setuid(uid) != 0)) ::_exit(2);
  const int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1) != 0)
    ::_exit(3);
  (void)::write(ready[1], "r", 1);
  const int conn = ::accept(listener, nullptr, nullptr);
  std::array<char, 4096> buf{};
  (void)::recv(conn, buf.data(), buf.size(), 0);
  const std::string reply = "listen_port=51820\nerrno=0\n\n";
  (void)::send(conn, reply.data(), reply.size(), MSG_NOSIGNAL);
  ::close(conn);
  ::_exit(0);
}

class UapiPeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/wardgate-uapi-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0777);  // the daemon serving as nobody creates its socket here
  }
  void TearDown() override {
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  std::string get_from_daemon_as(uid_t uid) {
    UapiConfig config;
    config.start = false;
    config.socket_dir = dir_;
    UapiBackend backend("wgtest0", config);
    child_ = serve_once(backend.socket_path(), uid);
    EXPECT_GT(child_, 0) << "the test daemon did not start";
    DeviceState state;
    return backend.get(state);
  }

  std::string dir_;
  pid_t child_ = -1;
};

TEST_F(UapiPeerTest, ASocketServedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to serve the socket as another user";
  const std::string error = get_from_daemon_as(kNobody);
  EXPECT_NE(error.find("refused: the socket is served by uid 65534"), std::string::npos) << error;
}

TEST_F(UapiPeerTest, ASocketServedByRootIsUsed) {
  if (::geteuid() != 0) GTEST_SKIP() << "the test daemon runs as root";
  const std::string error = get_from_daemon_as(0);
  EXPECT_EQ(error.find("refused"), std::string::npos) << error;
}

}  // namespace
}  // namespace wardgate::tunnel
