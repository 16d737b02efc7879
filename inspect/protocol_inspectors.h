#pragma once
// Chooses each session's inspector by the protocol configured for its port ("dicom", "hl7",
// "tcp"); a protocol without a registered factory falls back to the default one.
#include <map>
#include <memory>
#include <string>

#include "proxy/inspector.h"

namespace wardgate::inspect {

class ProtocolInspectors final : public proxy::InspectorFactory {
 public:
  explicit ProtocolInspectors(std::shared_ptr<proxy::InspectorFactory> fallback)
      : fallback_(std::move(fallback)) {}

  void add(const std::string& protocol, std::shared_ptr<proxy::InspectorFactory> factory) {
    by_protocol_[protocol] = std::move(factory);
  }

  std::unique_ptr<proxy::Inspector> create(const proxy::SessionInfo& info) override {
    auto it = by_protocol_.find(info.protocol);
    proxy::InspectorFactory* f = it != by_protocol_.end() ? it->second.get() : fallback_.get();
    return f != nullptr ? f->create(info) : nullptr;
  }

 private:
  std::shared_ptr<proxy::InspectorFactory> fallback_;
  std::map<std::string, std::shared_ptr<proxy::InspectorFactory>> by_protocol_;
};

}  // namespace wardgate::inspect
