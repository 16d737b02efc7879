#include "tunnel/path_tuning_hook.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tunnel/path_tuning.h"
#include "tunnel/uapi_backend.h"

namespace wardgate::tunnel {
namespace {

// The PID of whoever listens on a unix socket (SO_PEERCRED of a fresh connection): the daemon
// wardgate attached to instead of starting it. 0 and error set when it cannot be told.
pid_t listener_pid(const std::string& path, std::string& error) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    error = path + ": path too long for a unix socket";
    return 0;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("unix socket: ") + std::strerror(errno);
    return 0;
  }
  ucred cred{};
  socklen_t length = sizeof cred;
  pid_t pid = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = "connect to " + path + ": " + std::strerror(errno);
  } else if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
    error = "SO_PEERCRED on " + path + ": " + std::strerror(errno);
  } else {
    pid = cred.pid;
  }
  ::close(fd);  // the daemon sees a connection closed without a request, which it ignores
  return pid;
}

}  // namespace

std::vector<std::string> apply_path_tuning(const TunnelConfig& config, Backend& backend) {
  if (!config.tuning.enabled) return {"off (tuning.enabled is false)"};
  TuningTarget target{config.interface, 0, config.listen_port};
  std::string pid_error;
  if (auto* uapi = dynamic_cast<UapiBackend*>(&backend)) {
    target.daemon_pid = uapi->daemon_pid();
    if (target.daemon_pid == 0) target.daemon_pid = listener_pid(uapi->socket_path(), pid_error);
  }
  TuningConfig tuning = config.tuning;
  // A UAPI daemon whose PID is unknown must not be reported as the kernel backend.
  if (!pid_error.empty()) tuning.udp_buffer_bytes = 0;
  const TuningReport report = tune_path(tuning, target);
  std::vector<std::string> lines;
  if (!pid_error.empty()) {
    lines.push_back("skipped: UDP socket buffers: cannot identify the daemon (" + pid_error + ")");
  }
  for (const auto& line : report.applied) lines.push_back("applied: " + line);
  for (const auto& line : report.skipped) {
    if (!pid_error.empty() && line.starts_with("UDP socket buffers: ")) continue;
    lines.push_back("skipped: " + line);
  }
  return lines;
}

}  // namespace wardgate::tunnel
