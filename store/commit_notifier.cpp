#include "store/commit_notifier.h"

namespace wardgate::store {

CommitSubscription& CommitSubscription::operator=(CommitSubscription&& other) noexcept {
  if (this != &other) {
    reset();
    notifier_ = std::exchange(other.notifier_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void CommitSubscription::reset() {
  if (notifier_ != nullptr) notifier_->unsubscribe(id_);
  notifier_ = nullptr;
}

CommitSubscription CommitNotifier::subscribe(std::function<void(std::uint64_t)> wake) {
  const std::lock_guard lock(mutex_);
  const std::uint64_t id = next_id_++;
  subscribers_.emplace(id, std::move(wake));
  return {this, id};
}

void CommitNotifier::notify(std::uint64_t committed_seq) {
  const std::lock_guard lock(mutex_);
  for (const auto& [id, wake] : subscribers_) wake(committed_seq);
}

void CommitNotifier::unsubscribe(std::uint64_t id) {
  const std::lock_guard lock(mutex_);
  subscribers_.erase(id);
}

}  // namespace wardgate::store
