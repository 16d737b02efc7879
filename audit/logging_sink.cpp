#include "audit/logging_sink.h"

#include <fcntl.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace wardgate::audit {
namespace {

std::shared_ptr<spdlog::sinks::sink> sink_for(const std::string& target) {
  if (target == "stderr") return std::make_shared<spdlog::sinks::stderr_sink_mt>();
  // Created here first so that the file gets 0640 (it may hold patient identifiers) rather than
  // whatever the umask leaves from spdlog's fopen.
  const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    throw std::runtime_error(target + ": cannot open the audit log: " + std::strerror(errno));
  }
  ::close(fd);
  try {
    return std::make_shared<spdlog::sinks::basic_file_sink_mt>(target, /*truncate=*/false);
  } catch (const spdlog::spdlog_ex& e) {
    throw std::runtime_error(target + ": cannot open the audit log: " + e.what());
  }
}

}  // namespace

LoggingSink::LoggingSink(const std::string& target) : LoggingSink(sink_for(target)) {}

LoggingSink::LoggingSink(std::shared_ptr<spdlog::sinks::sink> sink)
    // Not registered in spdlog's registry: the name is for error messages, and several sinks
    // (tests) may coexist.
    : logger_(std::make_shared<spdlog::logger>("audit", std::move(sink))) {
  logger_->set_pattern("%v");
  logger_->set_level(spdlog::level::info);
  // Each event is flushed as it is written, so that a file being followed (tail -f) shows it.
  logger_->flush_on(spdlog::level::info);
}

LoggingSink::~LoggingSink() = default;

void LoggingSink::record(Event event) {
  const std::string line = to_json(event);
  logger_->log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
  recorded_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace wardgate::audit
