#pragma once
// Runs a test body in a child process inside a fresh network namespace, so nftables rules and
// routes reach the real kernel without touching the host. Needs root (CAP_SYS_ADMIN/NET_ADMIN).
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <functional>
#include <optional>
#include <string>

namespace wardgate::nat::testing {

// The body returns "" on success, else what went wrong. Returns nullopt (and `skip_reason`) when
// no namespace can be made here; else the body's answer.
inline std::optional<std::string> in_new_netns(const std::function<std::string()>& body,
                                               std::string& skip_reason) {
  if (geteuid() != 0) {
    skip_reason = "needs root for a throw-away network namespace";
    return std::nullopt;
  }
  std::array<int, 2> fds{};
  if (pipe(fds.data()) != 0) {
    skip_reason = "pipe() failed";
    return std::nullopt;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const std::string answer = unshare(CLONE_NEWNET) == 0 ? body() : std::string("\x01");
    (void)!write(fds[1], answer.data(), answer.size());
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string answer;
  std::array<char, 4096> buf{};
  for (ssize_t n; (n = read(fds[0], buf.data(), buf.size())) > 0;) answer.append(buf.data(), n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (answer == "\x01") {
    skip_reason = "unshare(CLONE_NEWNET) failed";
    return std::nullopt;
  }
  if (!WIFEXITED(status)) return "the child process died";
  return answer;
}

}  // namespace wardgate::nat::testing
