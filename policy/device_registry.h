#pragma once
// The devices of the imaging VLAN, as configured (devices[]), looked up by IPv4 address for
// every intercepted connection. Immutable once built: lookups from any thread without locking.
// A new devices section builds a new registry, which DeviceDirectory puts in force at once.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/dicom_rules.h"
#include "policy/hl7_rules.h"

namespace wardgate::policy {

enum class DeviceType : std::uint8_t { kModality, kMonitor, kWorkstation, kOther };

// "modality", "monitor", "workstation", "other" (the configuration's names).
const char* to_string(DeviceType type);
std::optional<DeviceType> parse_device_type(std::string_view name);

// Dotted-quad IPv4 ("10.1.1.20": four decimal numbers 0-255 without leading zeros, which other
// tools read as octal) to host byte order; nullopt if it is not one.
std::optional<std::uint32_t> parse_ipv4(std::string_view text);
std::string format_ipv4(std::uint32_t address);

// A service the device offers the core (devices[].published_services): a modality's storage SCP
// that C-MOVE results come back to, a monitor's HL7 listener. The core connects to the device's
// mapped (or own) address on `port`; wardgate proxies and inspects those connections under these
// rules, which restrict what the core (the connection's client) sends.
struct PublishedService {
  std::string name;
  std::uint16_t port = 0;
  std::string protocol;  // the inspector that reads it: "dicom" or "hl7"
  // dicom: allowed_calling_ae (the core's AE titles), allowed_operations, allowed_sop_classes,
  // with the reader's defaults filled in; the other DICOM rules are not used.
  DicomRules dicom;
  Hl7Rules hl7;  // hl7: allowed_message_types of the core's messages; default_charset: the device's
  bool operator==(const PublishedService&) const = default;
};

struct Device {
  std::string name;
  std::uint32_t address = 0;  // IPv4, host byte order
  DeviceType type = DeviceType::kOther;
  DicomRules dicom;
  Hl7Rules hl7;
  std::vector<PublishedService> published_services;  // ports unique
  bool operator==(const Device&) const = default;

  // The service published on `port`, or null.
  const PublishedService* published(std::uint16_t port) const;
};

class DeviceRegistry {
 public:
  DeviceRegistry() = default;
  // Throws std::invalid_argument on a repeated name or address (the configuration refuses them
  // first, with the key path).
  explicit DeviceRegistry(std::vector<Device> devices);

  // The device at `address` (IPv4, host byte order, e.g. ntohl(sin_addr.s_addr) or Asio's
  // address_v4::to_uint()), or null: an unknown device.
  const Device* find(std::uint32_t address) const;

  const std::vector<Device>& devices() const { return devices_; }

 private:
  std::vector<Device> devices_;
  std::unordered_map<std::uint32_t, std::size_t> by_address_;
};

// The registry in force. Readers take a snapshot (a session keeps its own for its lifetime);
// replace() swaps in a registry built from a new devices section, atomically: a reader sees the
// old one or the new one, never a mix, and a snapshot stays valid after a replace().
class DeviceDirectory {
 public:
  explicit DeviceDirectory(std::shared_ptr<const DeviceRegistry> registry)
      : current_(std::move(registry)) {}

  std::shared_ptr<const DeviceRegistry> snapshot() const { return current_.load(); }
  void replace(std::shared_ptr<const DeviceRegistry> registry) {
    current_.store(std::move(registry));
  }

 private:
  std::atomic<std::shared_ptr<const DeviceRegistry>> current_;
};

}  // namespace wardgate::policy
