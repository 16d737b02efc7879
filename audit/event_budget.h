#pragma once
// Per-device event budget (issue 13, event floods): each device may hand the audit pipeline
// `events_per_second` events with a burst of `burst`; beyond that its events are not passed on one
// by one but counted, by category and action, into a summary event per device and window
// ("event-flood-summary"). One device looping C-ECHOs or sending a frame of thousands of MSH
// segments thus costs the shared store queue at most its budget plus one summary per window, and
// every event it caused is still counted.
//
// Keyed by Event::device (the configured device name, else its address). Thread-safe; record()
// takes one short lock and never waits on the sink behind it longer than that sink's record().
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "audit/sink.h"
#include "common/clock.h"
#include "common/metrics.h"

namespace wardgate::audit {

struct EventBudgetOptions {
  // Sized for real transfers: a gigabit link carries at most ~250 CT images (0.5 MB) a second,
  // and a retrieval of prior studies (tens of thousands of images) fits the burst, so the
  // budget only ever summarises floods, never the image-by-image record auditors rely on.
  std::uint32_t events_per_second = 500;      // 0: no budget (every event passed on)
  std::uint32_t burst = 20000;                // events a quiet device may send at once
  std::chrono::seconds summary_interval{10};  // the window one summary covers at most
  // Devices tracked at once; beyond, the idle ones are forgotten, and if none is idle the
  // newcomers share one budget (kOtherDevices).
  std::size_t max_devices = 4096;
  bool operator==(const EventBudgetOptions&) const = default;
};

// The device name of the shared budget used when max_devices are all busy.
inline constexpr const char* kOtherDevices = "(other devices)";

class EventBudgetSink : public AuditSink {
 public:
  // `next`, `clock` and `metrics` must outlive this object. `appliance_id` names the appliance in
  // the summaries. Summaries of windows that ended are emitted by the next record() and by
  // emit_due(); start_timer() makes a thread call emit_due() every second.
  EventBudgetSink(EventBudgetOptions options, std::string appliance_id, AuditSink& next,
                  const common::Clock& clock, common::MetricsRegistry& metrics);
  // Emits every open window's summary.
  ~EventBudgetSink() override;
  EventBudgetSink(const EventBudgetSink&) = delete;
  EventBudgetSink& operator=(const EventBudgetSink&) = delete;

  void record(Event event) override;

  // Emits the summaries of windows that have ended; with `all`, of every open window.
  void emit_due(bool all = false);
  void start_timer();

  // Events counted into summaries instead of being passed on, since construction.
  std::uint64_t suppressed() const;

 private:
  struct Window {
    std::chrono::steady_clock::time_point opened;
    std::chrono::system_clock::time_point first, last;
    std::uint64_t total = 0;
    Severity max_severity = Severity::kInfo;
    std::map<std::string, std::uint64_t> counts;  // "category/action"
  };
  struct Device {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
    bool window_open = false;
    Window window;
  };

  Device& device_locked(const std::string& name, std::chrono::steady_clock::time_point now);
  void collect_due_locked(std::chrono::steady_clock::time_point now, bool all,
                          std::vector<Event>& out);
  Event summary(const std::string& device, const Window& w) const;

  EventBudgetOptions options_;
  std::string appliance_id_;
  AuditSink& next_;
  const common::Clock& clock_;
  common::Counter& suppressed_metric_;
  common::Counter& summaries_metric_;

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Device> devices_;
  std::chrono::steady_clock::time_point next_due_check_{};
  std::uint64_t suppressed_ = 0;

  std::mutex timer_mutex_;
  std::condition_variable timer_cv_;
  bool stopping_ = false;
  std::thread timer_;
};

}  // namespace wardgate::audit
