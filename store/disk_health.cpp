#include "store/disk_health.h"

#include <sys/statvfs.h>

namespace wardgate::store {

std::uint64_t statvfs_free(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return UINT64_MAX;
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

DiskHealth::DiskHealth(std::string path, std::uint64_t min_free_bytes, FreeBytes free_bytes)
    : path_(std::move(path)),
      min_free_(min_free_bytes),
      free_bytes_(free_bytes ? std::move(free_bytes) : FreeBytes(statvfs_free)) {}

DiskHealth::Change DiskHealth::check(std::uint64_t& free) {
  free = free_bytes_(path_);
  const bool low = free < min_free_;
  const bool recovered = free >= min_free_ + min_free_ / 10;
  if (low && !refusing()) {
    refusing_.store(true, std::memory_order_relaxed);
    return Change::kBecameLow;
  }
  if (recovered && refusing()) {
    refusing_.store(false, std::memory_order_relaxed);
    return Change::kRecovered;
  }
  return Change::kNone;
}

}  // namespace wardgate::store
