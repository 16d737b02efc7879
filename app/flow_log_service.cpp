#include "app/flow_log_service.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace wardgate::app {

FlowLogService::FlowLogService(inspect::FlowAudit& audit, common::MetricsRegistry& metrics)
    : audit_(audit),
      reader_(common::SystemClock::instance()),
      observations_(metrics.counter("wardgate_gateway_denied_observations_total",
                                    "Packets the gateway denied and logged (NFLOG), read")),
      overruns_(metrics.counter("wardgate_gateway_denied_overruns_total",
                                "Times the kernel dropped denied-packet logs (reader too slow)")),
      malformed_(metrics.counter("wardgate_gateway_denied_unreadable_total",
                                 "Denied-packet logs that could not be read")) {}

std::string FlowLogService::start(std::uint16_t group) {
  std::string detail;
  if (const auto ec = reader_.open(group, detail)) {
    return "cannot read denied flows from NFLOG group " + std::to_string(group) + ": " +
           ec.message() + (detail.empty() ? "" : " (" + detail + ")");
  }
  thread_ = std::thread([this] { loop(); });
  return {};
}

void FlowLogService::loop() {
  using Clock = std::chrono::steady_clock;
  auto next_tick = Clock::now() + std::chrono::seconds(1);
  nat::FlowLogReader::Stats seen;
  while (!stopping_.load()) {
    pollfd p{reader_.fd(), POLLIN, 0};
    // Short waits: stop() is noticed within 200 ms without a wake-up descriptor.
    if (::poll(&p, 1, 200) > 0) {
      reader_.read_available(
          [this](const common::FlowObservation& flow) { audit_.on_observation(flow); });
    }
    const auto& s = reader_.stats();
    observations_.inc(s.observations - seen.observations);
    overruns_.inc(s.overruns - seen.overruns);
    malformed_.inc((s.malformed - seen.malformed) + (s.unreadable - seen.unreadable));
    if (s.overruns != seen.overruns) {
      spdlog::warn(
          "the kernel dropped denied-flow logs ({} overruns so far): observations are "
          "incomplete, the packets were still dropped",
          s.overruns);
    }
    seen = s;
    if (Clock::now() >= next_tick) {
      audit_.tick();
      next_tick = Clock::now() + std::chrono::seconds(1);
    }
  }
}

void FlowLogService::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  thread_.join();
  audit_.flush();
}

}  // namespace wardgate::app
