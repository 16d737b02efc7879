#include "app/process_setup.h"

#include <spdlog/spdlog.h>

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

}  // namespace wardgate::app
