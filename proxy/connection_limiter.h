#pragma once
// Per-device and global limits on concurrent proxied connections. A port scan or a connection
// flood from one device must not exhaust wardgate's memory or file descriptors, nor starve the
// other devices. Each limit logs one line when it is first hit and one summary when it clears.
#include <netinet/in.h>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "common/limit_episode.h"

namespace wardgate::proxy {

class ConnectionLimiter {
 public:
  enum class Admission : std::uint8_t { kAdmitted, kGlobalLimit, kDeviceLimit };

  ConnectionLimiter(std::size_t max_total, std::size_t max_per_device)
      : max_total_(max_total), max_per_device_(max_per_device) {}

  Admission try_acquire(in_addr device);
  void release(in_addr device);

  std::size_t active() const;
  std::size_t active_for(in_addr device) const;
  std::uint64_t refused_total() const;

 private:
  void release_device(in_addr device);  // mutex_ held

  struct DeviceState {
    std::size_t active = 0;
    common::LimitEpisode episode;
  };

  std::size_t max_total_;
  std::size_t max_per_device_;
  mutable std::mutex mutex_;
  std::size_t active_ = 0;
  std::uint64_t refused_ = 0;
  common::LimitEpisode global_episode_;
  std::unordered_map<std::uint32_t, DeviceState> devices_;
};

}  // namespace wardgate::proxy
