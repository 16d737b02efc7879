#pragma once
// The simplest inspector: counts what crosses each intercepted service, per direction. It proves
// the inspector seam end to end (every byte the relay forwards is shown exactly once) until the
// DICOM and HL7 decoders plug in, and its totals are what `wardgate run` reports at exit.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "proxy/inspector.h"

namespace wardgate::proxy {

struct ServiceTotals {
  std::uint64_t sessions = 0;
  std::uint64_t bytes_from_device = 0;
  std::uint64_t bytes_to_device = 0;
  std::uint64_t chunks = 0;
};

class ByteCountInspectorFactory final : public InspectorFactory {
 public:
  std::unique_ptr<Inspector> create(const SessionInfo& info) override;

  std::map<std::string, ServiceTotals> totals() const;

  // Called by each inspector when its session has closed both directions.
  void add(const std::string& service, const ServiceTotals& session);

 private:
  mutable std::mutex mutex_;
  std::map<std::string, ServiceTotals> totals_;
};

}  // namespace wardgate::proxy
