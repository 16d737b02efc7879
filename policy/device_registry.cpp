#include "policy/device_registry.h"

#include <set>
#include <stdexcept>

namespace wardgate::policy {

const char* to_string(DeviceType type) {
  switch (type) {
    case DeviceType::kModality:
      return "modality";
    case DeviceType::kMonitor:
      return "monitor";
    case DeviceType::kWorkstation:
      return "workstation";
    case DeviceType::kOther:
      return "other";
  }
  return "unknown";
}

std::optional<DeviceType> parse_device_type(std::string_view name) {
  for (auto t : {DeviceType::kModality, DeviceType::kMonitor, DeviceType::kWorkstation,
                 DeviceType::kOther}) {
    if (name == to_string(t)) return t;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> parse_ipv4(std::string_view text) {
  std::uint32_t address = 0;
  std::size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    const std::size_t start = pos;
    std::uint32_t value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3) {
      value = value * 10 + static_cast<std::uint32_t>(text[pos] - '0');
      ++pos;
    }
    const std::size_t digits = pos - start;
    if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0')) return std::nullopt;
    address = (address << 8) | value;
  }
  if (pos != text.size()) return std::nullopt;
  return address;
}

std::string format_ipv4(std::uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

DeviceRegistry::DeviceRegistry(std::vector<Device> devices) : devices_(std::move(devices)) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    const Device& d = devices_[i];
    if (!names.insert(d.name).second) {
      throw std::invalid_argument("device name " + d.name + " is listed twice");
    }
    if (!by_address_.emplace(d.address, i).second) {
      throw std::invalid_argument("device address " + format_ipv4(d.address) + " is listed twice");
    }
  }
}

const PublishedService* Device::published(std::uint16_t port) const {
  for (const auto& s : published_services) {
    if (s.port == port) return &s;
  }
  return nullptr;
}

const Device* DeviceRegistry::find(std::uint32_t address) const {
  const auto it = by_address_.find(address);
  return it == by_address_.end() ? nullptr : &devices_[it->second];
}

}  // namespace wardgate::policy
