#include "app/audit_spool_watcher.h"

#include <spdlog/spdlog.h>

#include "app/bypass_record.h"

namespace wardgate::app {

AuditSpoolWatcher::AuditSpoolWatcher(std::filesystem::path spool_dir, std::string appliance_id,
                                     audit::AuditSink& sink, Hooks hooks,
                                     const common::Clock& clock)
    : spool_(spool_dir),
      spool_dir_(std::move(spool_dir)),
      appliance_id_(std::move(appliance_id)),
      sink_(sink),
      hooks_(std::move(hooks)),
      clock_(clock) {}

void AuditSpoolWatcher::tick() {
  record_spooled();
  check_bypass_end();
}

void AuditSpoolWatcher::record_spooled() {
  std::vector<std::string> problems;
  const auto pending = spool_.take(&problems);
  for (const auto& p : problems) spdlog::error("audit spool: {}", p);
  if (pending.empty()) return;
  for (const auto& s : pending) {
    if (recorded_.insert(s.file).second) sink_.record(s.event);
  }
  if (!hooks_.flush()) return;  // kept: removed after a later commit, not recorded again
  for (const auto& s : pending) {
    spool_.done(s);
    recorded_.erase(s.file);
  }
}

void AuditSpoolWatcher::check_bypass_end() {
  std::string error;
  const auto active = read_active_bypass(spool_dir_, &error);
  if (!error.empty()) spdlog::error("bypass marker: {}", error);
  if (!active) return;
  if (!end_recorded_) {
    if (hooks_.bypass_in_kernel()) return;
    const auto now = clock_.system_now();
    // The kernel's timeout ends it at `until`; gone a second or more earlier, someone else
    // removed it (the operator's --end clears the marker first, so it is not that).
    const bool expired = now + std::chrono::seconds(1) >= active->until;
    const auto at = expired ? std::min(now, active->until) : now;
    sink_.record(
        bypass_ended_event(appliance_id_, *active, at, expired ? "expired" : "removed", ""));
    spdlog::warn("bypass {}: forwarding without inspection has ended",
                 expired ? "expired" : "removed");
    end_recorded_ = true;
  }
  if (hooks_.flush()) {
    clear_active_bypass(spool_dir_);
    end_recorded_ = false;
  }
}

void AuditSpoolWatcher::start(std::chrono::milliseconds every) {
  thread_ = std::thread([this, every] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      tick();
      lock.lock();
      wake_.wait_for(lock, every, [this] { return stopping_; });
    }
  });
}

void AuditSpoolWatcher::stop() {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    tick();
  }
}

}  // namespace wardgate::app
