#pragma once
// The mirror of the audit trail for operators (audit.log): each event as one line of canonical
// JSON (to_json) on a dedicated spdlog logger named "audit", never on the operational log. The
// durable store (store/) is the record; tests of audit content read the store, not this mirror.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "audit/sink.h"

namespace spdlog {
class logger;
namespace sinks {
class sink;
}  // namespace sinks
}  // namespace spdlog

namespace wardgate::audit {

class LoggingSink : public AuditSink {
 public:
  // `target`: "stderr", or the path of a file that is appended to (created with mode 0640).
  // Throws std::runtime_error naming the path if the file cannot be opened (start-up only).
  explicit LoggingSink(const std::string& target);
  // Any spdlog sink (tests).
  explicit LoggingSink(std::shared_ptr<spdlog::sinks::sink> sink);
  ~LoggingSink() override;
  LoggingSink(const LoggingSink&) = delete;
  LoggingSink& operator=(const LoggingSink&) = delete;

  void record(Event event) override;

  // Events recorded since construction.
  std::uint64_t recorded() const { return recorded_.load(std::memory_order_relaxed); }

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::atomic<std::uint64_t> recorded_{0};
};

}  // namespace wardgate::audit
