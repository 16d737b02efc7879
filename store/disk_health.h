#pragma once
// Whether the file system holding the store has room: below min_free the store refuses new
// records (they are counted lost) until 10 % above it again, so a store near the threshold does
// not flap. Checked by the writer thread; refusing() is read by any recording thread.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace wardgate::store {

// Free bytes for unprivileged users on the file system of `path`'s directory (statvfs(2));
// UINT64_MAX if unknown, so that an unknown never refuses.
std::uint64_t statvfs_free(const std::string& path);

class DiskHealth {
 public:
  using FreeBytes = std::function<std::uint64_t(const std::string& path)>;
  enum class Change : std::uint8_t { kNone, kBecameLow, kRecovered };

  DiskHealth(std::string path, std::uint64_t min_free_bytes, FreeBytes free_bytes);

  // Measures now; `free` receives the measurement.
  Change check(std::uint64_t& free);
  bool refusing() const { return refusing_.load(std::memory_order_relaxed); }

 private:
  std::string path_;
  std::uint64_t min_free_;
  FreeBytes free_bytes_;
  std::atomic<bool> refusing_{false};
};

}  // namespace wardgate::store
