#pragma once
// `wardgate run`'s reader of the gateway's denied flows: a thread that waits on the NFLOG socket
// (nat::FlowLogReader) and hands each observation to inspect::FlowAudit (bounded audit records,
// every observation to the policy engine's observer), ending FlowAudit's windows every second.
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "inspect/flow_audit.h"
#include "nat/flow_log_reader.h"

namespace wardgate::app {

class FlowLogService {
 public:
  FlowLogService(inspect::FlowAudit& audit, common::MetricsRegistry& metrics);
  ~FlowLogService() { stop(); }
  FlowLogService(const FlowLogService&) = delete;
  FlowLogService& operator=(const FlowLogService&) = delete;

  // Subscribes to `group` and starts the thread. Empty on success, else why not.
  std::string start(std::uint16_t group);
  // Ends the thread and the open aggregation windows (their summaries are recorded).
  void stop();

 private:
  void loop();

  inspect::FlowAudit& audit_;
  nat::FlowLogReader reader_;
  common::Counter& observations_;
  common::Counter& overruns_;
  common::Counter& malformed_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace wardgate::app
