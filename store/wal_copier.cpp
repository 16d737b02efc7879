#include "store/wal_copier.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

namespace wardgate::store {
namespace {

constexpr int kCopyPages = 2048;  // of 16 KiB: a copy per 32 MiB of WAL

int on_wal_commit(void* context, sqlite3*, const char*, int pages) {
  static_cast<WalCopier*>(context)->wal_grew(pages);
  return SQLITE_OK;
}

}  // namespace

WalCopier::WalCopier(Database& writer)
    : db_(std::make_unique<Database>(writer.path(), Database::Mode::kReadWrite)) {
  writer.exec("PRAGMA wal_autocheckpoint=0");
  sqlite3_wal_hook(writer.handle(), on_wal_commit, this);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "audit-wal");
    run();
  });
}

WalCopier::~WalCopier() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  grown_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WalCopier::wal_grew(int pages) {
  pages_.store(pages, std::memory_order_relaxed);
  if (pages >= kCopyPages) grown_.notify_one();
}

void WalCopier::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    grown_.wait_for(lock, std::chrono::seconds(1), [&] {
      return stopping_ || pages_.load(std::memory_order_relaxed) >= kCopyPages;
    });
    if (pages_.load(std::memory_order_relaxed) == 0) continue;
    lock.unlock();
    int log = 0;
    int done = 0;
    // PASSIVE: never waits for or blocks the writer; what it cannot copy now waits for the next.
    const int rc =
        sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      spdlog::warn("audit store {}: WAL copy failed: {}", db_->path(),
                   sqlite3_errmsg(db_->handle()));
    }
    pages_.store(0, std::memory_order_relaxed);
    lock.lock();
  }
}

}  // namespace wardgate::store
