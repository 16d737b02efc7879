#pragma once
// Tells readers of the store that records were committed, so that an exporter sleeps until there
// is something to send instead of polling. Subscribers are called on the committing thread (the
// store's writer): they must only hand the news on (post to their executor, notify).
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

namespace wardgate::store {

class CommitNotifier;

// Unsubscribes when destroyed; after that the callback is not running and never runs again.
// Must not outlive the notifier.
class CommitSubscription {
 public:
  CommitSubscription() = default;
  CommitSubscription(CommitNotifier* notifier, std::uint64_t id) : notifier_(notifier), id_(id) {}
  ~CommitSubscription() { reset(); }
  CommitSubscription(CommitSubscription&& other) noexcept
      : notifier_(std::exchange(other.notifier_, nullptr)), id_(other.id_) {}
  CommitSubscription& operator=(CommitSubscription&& other) noexcept;
  CommitSubscription(const CommitSubscription&) = delete;
  CommitSubscription& operator=(const CommitSubscription&) = delete;
  void reset();

 private:
  CommitNotifier* notifier_ = nullptr;
  std::uint64_t id_ = 0;
};

class CommitNotifier {
 public:
  // `wake` receives the highest committed seq.
  CommitSubscription subscribe(std::function<void(std::uint64_t)> wake);
  void notify(std::uint64_t committed_seq);

 private:
  friend class CommitSubscription;
  void unsubscribe(std::uint64_t id);

  std::mutex mutex_;  // held while callbacks run, so unsubscribe() waits for a running one
  std::map<std::uint64_t, std::function<void(std::uint64_t)>> subscribers_;
  std::uint64_t next_id_ = 1;
};

}  // namespace wardgate::store
