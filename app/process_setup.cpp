#include "app/process_setup.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include "audit/logging_sink_queue.h"

namespace wardgate::app {
namespace {

// Operational log lines waiting for stderr at most; beyond, they are dropped and counted.
constexpr std::size_t kLogQueueLines = 8192;

}  // namespace

void setup_logging(const std::string& level) {
  // Through a queue and a writer thread: a journal that is slow or a stderr pipe nobody reads
  // must not stall the proxy threads that log.
  auto logger = std::make_shared<spdlog::logger>(
      "wardgate", audit::queued_sink(audit::stderr_line_sink(), kLogQueueLines));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

std::string ensure_descriptor_limit(std::uint64_t needed, const std::string& what) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return "";  // nothing known to check against
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_max > lim.rlim_cur) {
    // The whole hard limit: descriptors beyond those counted (splice pipes, more exporters)
    // cost nothing until used.
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= needed) return "";
  return "the descriptor limit (RLIMIT_NOFILE) is " + std::to_string(lim.rlim_cur) +
         " (hard limit " + std::to_string(lim.rlim_max) + ") but " + what + " needs up to " +
         std::to_string(needed) +
         "; raise the limit (LimitNOFILE= in the service unit, ulimit -n) or lower "
         "proxy.max_connections";
}

std::uint64_t descriptor_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  return lim.rlim_cur;
}

}  // namespace wardgate::app
