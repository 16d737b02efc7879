#pragma once
// The daemon's side of events other processes leave for it: every tick it records what
// `wardgate bypass` spooled (store/event_spool.h), and notices a bypass that ended without an
// operator (expired in the kernel, or removed), recording its end. Files leave the spool only
// after the store committed their event.
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "audit/sink.h"
#include "common/clock.h"
#include "store/event_spool.h"

namespace wardgate::app {

class AuditSpoolWatcher {
 public:
  struct Hooks {
    std::function<bool()> bypass_in_kernel;  // is any bypass element still in the gateway table?
    std::function<bool()> flush;             // true once everything recorded so far is committed
  };

  AuditSpoolWatcher(std::filesystem::path spool_dir, std::string appliance_id,
                    audit::AuditSink& sink, Hooks hooks,
                    const common::Clock& clock = common::SystemClock::instance());
  ~AuditSpoolWatcher() { stop(); }
  AuditSpoolWatcher(const AuditSpoolWatcher&) = delete;
  AuditSpoolWatcher& operator=(const AuditSpoolWatcher&) = delete;

  // One pass: spooled events, then the bypass marker.
  void tick();
  // tick() on a thread of its own, every `every`, until stop() (which ticks a last time).
  void start(std::chrono::milliseconds every);
  void stop();

 private:
  void record_spooled();
  void check_bypass_end();

  store::EventSpool spool_;
  std::filesystem::path spool_dir_;
  std::string appliance_id_;
  audit::AuditSink& sink_;
  Hooks hooks_;
  const common::Clock& clock_;
  // Spool files recorded by this process but not yet committed: not recorded twice.
  std::set<std::filesystem::path> recorded_;
  bool end_recorded_ = false;  // the marker's end is recorded, awaiting commit

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace wardgate::app
