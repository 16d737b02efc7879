#include "audit/logging_sink.h"

#include <fcntl.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace wardgate::audit {
namespace {

std::shared_ptr<spdlog::sinks::sink> sink_for(const std::string& target) {
  if (target == "stderr") return stderr_line_sink();
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

LoggingSink::LoggingSink(const std::string& target, LoggingSinkOptions options)
    : LoggingSink(sink_for(target), std::move(options)) {}

LoggingSink::LoggingSink(std::shared_ptr<spdlog::sinks::sink> sink, LoggingSinkOptions options) {
  if (options.metrics != nullptr) {
    dropped_metric_ = &options.metrics->counter(
        "wardgate_audit_log_lines_dropped_total",
        "audit.log mirror lines dropped because the destination did not keep up.");
  }
  // The line is written as it is (canonical JSON), one per event; the writer flushes after each
  // batch, so that a file being followed (tail -f) shows it.
  sink->set_pattern("%v");
  queue_ = std::make_unique<LineQueue>(std::move(sink), options.queue_lines,
                                       [appliance = options.appliance_id](const DroppedLines& d) {
                                         Event e = make_event(
                                             appliance, appliance, "audit", "log-lines-dropped",
                                             Outcome::kWarning, Severity::kWarning);
                                         e.fields.set("lines_dropped", d.count);
                                         e.fields.set("first_dropped", format_time(d.first));
                                         e.fields.set("last_dropped", format_time(d.last));
                                         return to_json(e);
                                       });
}

LoggingSink::~LoggingSink() = default;

void LoggingSink::record(Event event) {
  recorded_.fetch_add(1, std::memory_order_relaxed);
  if (!queue_->push(to_json(event)) && dropped_metric_ != nullptr) dropped_metric_->inc();
}

bool LoggingSink::flush(std::chrono::milliseconds timeout) { return queue_->flush(timeout); }

}  // namespace wardgate::audit
