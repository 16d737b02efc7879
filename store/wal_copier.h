#pragma once
// Copies sqlite's write-ahead log into the database file (what sqlite calls a "WAL checkpoint";
// not to be confused with the store's signed chain checkpoints) on a thread and connection of
// its own, so the writer never does that I/O. sqlite's automatic copy on the writer's connection
// is switched off; the writer's commit hook tells this thread how large the WAL has grown.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "store/store_schema.h"

namespace wardgate::store {

class WalCopier {
 public:
  // Opens its own connection to `writer`'s store and takes over `writer`'s WAL copying.
  explicit WalCopier(Database& writer);
  // Stops the thread (the writer must have stopped committing).
  ~WalCopier();
  WalCopier(const WalCopier&) = delete;
  WalCopier& operator=(const WalCopier&) = delete;

  // sqlite's WAL hook, on the writer's thread: `pages` is the WAL's size after a commit.
  void wal_grew(int pages);

 private:
  void run();

  std::unique_ptr<Database> db_;
  std::mutex mutex_;
  std::condition_variable grown_;
  std::atomic<int> pages_{0};
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace wardgate::store
