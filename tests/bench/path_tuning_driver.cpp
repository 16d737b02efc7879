// path_tuning_driver: runs tunnel::tune_path() once against a WireGuard interface and a UAPI
// daemon someone else started, in the caller's network namespace, and prints its report. The
// tunnel benchmark uses it on the lab's concentrator (whose wireguard-go wardgate does not
// supervise) so that both ends of the tunnel get the same tuning wardgate gives its own end.
//
//   path_tuning_driver --interface IF --pid PID --port PORT [--udp-buffer-bytes N]
//                      [--txqueuelen N] [--no-offloads]
//
// Exit status: 0 when it ran (each step says applied or skipped), 2 on a usage error.
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "tunnel/path_tuning.h"

namespace {

template <typename T>
std::optional<T> number(const char* text) {
  T value{};
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

int usage(const char* why) {
  std::fprintf(stderr,
               "path_tuning_driver: %s\nusage: path_tuning_driver --interface IF --pid PID "
               "--port PORT [--udp-buffer-bytes N] [--txqueuelen N] [--no-offloads]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  wardgate::tunnel::TuningConfig config;
  wardgate::tunnel::TuningTarget target;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--no-offloads") {
      config.offloads = false;
      continue;
    }
    if (i + 1 >= argc) return usage(("missing value after " + arg).c_str());
    const char* value = argv[++i];
    bool ok = true;
    if (arg == "--interface") {
      target.interface = value;
    } else if (arg == "--pid") {
      auto v = number<int>(value);
      ok = v && *v > 0;
      if (ok) target.daemon_pid = *v;
    } else if (arg == "--port") {
      auto v = number<std::uint16_t>(value);
      ok = v && *v > 0;
      if (ok) target.listen_port = *v;
    } else if (arg == "--udp-buffer-bytes") {
      auto v = number<std::uint32_t>(value);
      ok = v.has_value();
      if (ok) config.udp_buffer_bytes = *v;
    } else if (arg == "--txqueuelen") {
      auto v = number<std::uint32_t>(value);
      ok = v.has_value();
      if (ok) config.txqueuelen = *v;
    } else {
      return usage(("unknown argument " + arg).c_str());
    }
    if (!ok) return usage(("bad value for " + arg + ": " + value).c_str());
  }
  if (target.interface.empty() || target.daemon_pid == 0 || target.listen_port == 0) {
    return usage("--interface, --pid and --port are required");
  }
  const auto report = wardgate::tunnel::tune_path(config, target);
  for (const auto& line : report.applied) std::printf("applied: %s\n", line.c_str());
  for (const auto& line : report.skipped) std::printf("skipped: %s\n", line.c_str());
  return 0;
}
