#pragma once
// The simplest inspector, for services of no protocol ("tcp"): counts what crosses each
// intercepted service, per direction, without looking at a byte (everything is opaque, so the
// relay splices it). Its totals are what `wardgate run` reports at exit.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "proxy/inspector.h"

namespace wardgate::inspect {

struct ServiceTotals {
  std::uint64_t sessions = 0;
  std::uint64_t bytes_from_device = 0;
  std::uint64_t bytes_to_device = 0;
  std::uint64_t chunks = 0;
};

class ByteCountInspectorFactory final : public proxy::InspectorFactory {
 public:
  std::unique_ptr<proxy::Inspector> create(const proxy::SessionInfo& info) override;

  std::map<std::string, ServiceTotals> totals() const;

  // Called by each inspector when its session has closed both directions.
  void add(const std::string& service, const ServiceTotals& session);

 private:
  mutable std::mutex mutex_;
  std::map<std::string, ServiceTotals> totals_;
};

}  // namespace wardgate::inspect
