#include "proxy/connection_limiter.h"

#include "proxy/inspector.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>
#include <string>

namespace wardgate::proxy {
namespace {

std::size_t low_water(std::size_t limit) { return limit - limit / 4; }

}  // namespace

ConnectionLimiter::Admission ConnectionLimiter::try_acquire(in_addr device) {
  const std::lock_guard lock(mutex_);
  if (active_ >= max_total_) {
    ++refused_;
    if (global_episode_.on_refused()) {
      spdlog::warn(
          "connection limit reached: {} concurrent connections in total; refusing new "
          "connections until some close",
          max_total_);
    }
    return Admission::kGlobalLimit;
  }
  DeviceState& d = devices_[device.s_addr];
  if (d.active >= max_per_device_) {
    ++refused_;
    if (d.episode.on_refused()) {
      spdlog::warn(
          "device {} reached its limit of {} concurrent connections; refusing its new "
          "connections until some close",
          ip_text(device), max_per_device_);
    }
    return Admission::kDeviceLimit;
  }
  ++d.active;
  ++active_;
  return Admission::kAdmitted;
}

void ConnectionLimiter::release(in_addr device) {
  const std::lock_guard lock(mutex_);
  --active_;
  // Hysteresis: an episode ends only well below the limit, so a flood that keeps the count at the
  // limit while connections churn stays one episode (one log line), not one per close.
  if (active_ > low_water(max_total_)) return release_device(device);
  if (const auto n = global_episode_.on_recovered()) {
    spdlog::info("connection limit cleared: {} connections were refused while it held", n);
  }
  release_device(device);
}

void ConnectionLimiter::release_device(in_addr device) {
  auto it = devices_.find(device.s_addr);
  if (it == devices_.end()) return;
  --it->second.active;
  if (it->second.active > low_water(max_per_device_)) return;
  if (const auto n = it->second.episode.on_recovered()) {
    spdlog::info("device {} is below its connection limit again: {} connections were refused",
                 ip_text(device), n);
  }
  if (it->second.active == 0) devices_.erase(it);
}

std::size_t ConnectionLimiter::active() const {
  const std::lock_guard lock(mutex_);
  return active_;
}

std::size_t ConnectionLimiter::active_for(in_addr device) const {
  const std::lock_guard lock(mutex_);
  auto it = devices_.find(device.s_addr);
  return it == devices_.end() ? 0 : it->second.active;
}

std::uint64_t ConnectionLimiter::refused_total() const {
  const std::lock_guard lock(mutex_);
  return refused_;
}

}  // namespace wardgate::proxy
