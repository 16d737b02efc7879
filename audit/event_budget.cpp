#include "audit/event_budget.h"

#include <pthread.h>

#include <algorithm>

namespace wardgate::audit {
namespace {

// How often record() looks for ended windows of other devices: a scan of the device table, so
// not on every event.
constexpr std::chrono::seconds kDueScan{1};

}  // namespace

EventBudgetSink::EventBudgetSink(EventBudgetOptions options, std::string appliance_id,
                                 AuditSink& next, const common::Clock& clock,
                                 common::MetricsRegistry& metrics)
    : options_(options),
      appliance_id_(std::move(appliance_id)),
      next_(next),
      clock_(clock),
      suppressed_metric_(metrics.counter(
          "wardgate_audit_events_over_budget_total",
          "Audit events beyond their device's event budget, counted into flood summaries.")),
      summaries_metric_(metrics.counter("wardgate_audit_flood_summaries_total",
                                        "event-flood-summary events emitted.")) {
  if (options_.summary_interval.count() <= 0) options_.summary_interval = std::chrono::seconds(1);
  if (options_.max_devices == 0) options_.max_devices = 1;
}

EventBudgetSink::~EventBudgetSink() {
  {
    const std::lock_guard lock(timer_mutex_);
    stopping_ = true;
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  emit_due(true);
}

void EventBudgetSink::start_timer() {
  timer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "audit-budget");
    std::unique_lock lock(timer_mutex_);
    while (!timer_cv_.wait_for(lock, kDueScan, [this] { return stopping_; })) {
      lock.unlock();
      emit_due(false);
      lock.lock();
    }
  });
}

std::uint64_t EventBudgetSink::suppressed() const {
  const std::lock_guard lock(mutex_);
  return suppressed_;
}

EventBudgetSink::Device& EventBudgetSink::device_locked(const std::string& name,
                                                        std::chrono::steady_clock::time_point now) {
  if (auto it = devices_.find(name); it != devices_.end()) return it->second;
  if (devices_.size() >= options_.max_devices) {
    // Forget devices whose bucket is full again and that have no window open: a new entry
    // for them later starts in exactly the same state.
    const double burst = options_.burst;
    const double rate = options_.events_per_second;
    std::erase_if(devices_, [&](const auto& entry) {
      const Device& d = entry.second;
      const double elapsed = std::chrono::duration<double>(now - d.refilled).count();
      return !d.window_open && d.tokens + elapsed * rate >= burst;
    });
    if (devices_.size() >= options_.max_devices) {
      auto [it, inserted] = devices_.try_emplace(kOtherDevices);
      if (inserted) {
        it->second.tokens = options_.burst;
        it->second.refilled = now;
      }
      return it->second;
    }
  }
  Device& d = devices_[name];
  d.tokens = options_.burst;
  d.refilled = now;
  return d;
}

void EventBudgetSink::collect_due_locked(std::chrono::steady_clock::time_point now, bool all,
                                         std::vector<Event>& out) {
  for (auto& [name, d] : devices_) {
    if (!d.window_open) continue;
    if (!all && now - d.window.opened < options_.summary_interval) continue;
    out.push_back(summary(name, d.window));
    d.window_open = false;
    d.window = Window{};
  }
}

void EventBudgetSink::record(Event event) {
  if (options_.events_per_second == 0) {
    next_.record(std::move(event));
    return;
  }
  std::vector<Event> summaries;
  bool pass = false;
  {
    const std::lock_guard lock(mutex_);
    const auto now = clock_.steady_now();
    if (now >= next_due_check_) {
      next_due_check_ = now + kDueScan;
      collect_due_locked(now, false, summaries);
    }
    Device& d = device_locked(event.device, now);
    const double elapsed = std::chrono::duration<double>(now - d.refilled).count();
    d.tokens = std::min<double>(options_.burst, d.tokens + elapsed * options_.events_per_second);
    d.refilled = now;
    if (d.tokens >= 1.0) {
      d.tokens -= 1.0;
      pass = true;
    } else {
      if (!d.window_open) {
        d.window_open = true;
        d.window.opened = now;
        d.window.first = event.time;
      }
      Window& w = d.window;
      w.last = event.time;
      ++w.total;
      w.max_severity = std::max(w.max_severity, event.severity);
      ++w.counts[event.category + "/" + event.action];
      ++suppressed_;
    }
  }
  if (!pass) suppressed_metric_.inc();
  for (auto& s : summaries) next_.record(std::move(s));
  if (pass) next_.record(std::move(event));
}

void EventBudgetSink::emit_due(bool all) {
  std::vector<Event> summaries;
  {
    const std::lock_guard lock(mutex_);
    collect_due_locked(clock_.steady_now(), all, summaries);
  }
  for (auto& s : summaries) next_.record(std::move(s));
}

Event EventBudgetSink::summary(const std::string& device, const Window& w) const {
  Event e = make_event(appliance_id_, device, "audit", "event-flood-summary", Outcome::kWarning,
                       std::max(w.max_severity, Severity::kWarning));
  e.time = clock_.system_now();
  e.fields.set("events_suppressed", w.total);
  e.fields.set("first_suppressed", format_time(w.first));
  e.fields.set("last_suppressed", format_time(w.last));
  std::vector<std::string> counts;
  counts.reserve(w.counts.size());
  for (const auto& [kind, n] : w.counts) counts.push_back(kind + "=" + std::to_string(n));
  e.fields.set("counts", std::move(counts));
  e.fields.set("budget_events_per_second", std::uint64_t{options_.events_per_second});
  e.fields.set("budget_burst", std::uint64_t{options_.burst});
  summaries_metric_.inc();
  return e;
}

}  // namespace wardgate::audit
