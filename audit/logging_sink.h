#pragma once
// The mirror of the audit trail for operators (audit.log): each event as one line of canonical
// JSON (to_json) on a destination of its own, never on the operational log. The
// durable store (store/) is the record; tests of audit content read the store, not this mirror.
//
// record() formats the line and queues it (LineQueue): a writer thread writes it, so a slow
// journal or a stderr pipe nobody reads never stalls the proxy thread that recorded the event. A
// full queue drops lines, counted (wardgate_audit_log_lines_dropped_total); once the destination
// takes lines again an "audit"/"log-lines-dropped" event line says how many and when.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "audit/logging_sink_queue.h"
#include "audit/sink.h"
#include "common/metrics.h"

namespace spdlog::sinks {
class sink;
}  // namespace spdlog::sinks

namespace wardgate::audit {

struct LoggingSinkOptions {
  std::size_t queue_lines = 16384;  // lines waiting for the writer at most
  std::string appliance_id;         // names the appliance in the log-lines-dropped line
  // Where the dropped-lines counter goes; null: counted only in dropped().
  common::MetricsRegistry* metrics = nullptr;
};

class LoggingSink : public AuditSink {
 public:
  // `target`: "stderr", or the path of a file that is appended to (created with mode 0640).
  // Throws std::runtime_error naming the path if the file cannot be opened (start-up only).
  explicit LoggingSink(const std::string& target, LoggingSinkOptions options = {});
  // Any spdlog sink (tests).
  explicit LoggingSink(std::shared_ptr<spdlog::sinks::sink> sink, LoggingSinkOptions options = {});
  ~LoggingSink() override;
  LoggingSink(const LoggingSink&) = delete;
  LoggingSink& operator=(const LoggingSink&) = delete;

  void record(Event event) override;

  // Waits until the lines of every event recorded before the call are written (or dropped), or
  // `timeout`; true if done.
  bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Events recorded since construction (written or dropped).
  std::uint64_t recorded() const { return recorded_.load(std::memory_order_relaxed); }
  // Lines dropped because the destination did not keep up.
  std::uint64_t dropped() const { return queue_->dropped(); }

 private:
  common::Counter* dropped_metric_ = nullptr;
  std::atomic<std::uint64_t> recorded_{0};
  std::unique_ptr<LineQueue> queue_;
};

}  // namespace wardgate::audit
