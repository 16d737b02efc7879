#pragma once
// Reading the audit events an inspector emitted into a MemorySink, the way the inspector tests
// assert on them (by action, and field values as text or numbers), and the session they watch.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <arpa/inet.h>

#include "audit/memory_sink.h"
#include "proxy/inspector.h"

namespace wardgate::inspect::testing {

inline std::vector<audit::Event> events_of(const audit::MemorySink& sink, std::string_view action) {
  std::vector<audit::Event> out;
  for (audit::Event& e : sink.events()) {
    if (e.action == action) out.push_back(std::move(e));
  }
  return out;
}

// A string or boolean field as text; "<absent>" or "<other>" otherwise.
inline std::string text_field(const audit::Event& e, std::string_view key) {
  const audit::FieldValue* v = e.fields.find(key);
  if (v == nullptr) return "<absent>";
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  if (const auto* b = std::get_if<bool>(v)) return *b ? "true" : "false";
  return "<other>";
}

// An unsigned field; UINT64_MAX when absent, UINT64_MAX - 1 when of another type.
inline std::uint64_t number_field(const audit::Event& e, std::string_view key) {
  const audit::FieldValue* v = e.fields.find(key);
  if (v == nullptr) return UINT64_MAX;
  if (const auto* u = std::get_if<std::uint64_t>(v)) return *u;
  return UINT64_MAX - 1;
}

// The session an inspector under test watches: `client`:`client_port` -> `server`:`server_port`,
// the device being the `device_side` end.
inline proxy::SessionInfo session_info(std::uint64_t id, const std::string& protocol,
                                       const char* client, std::uint16_t client_port,
                                       const char* server, std::uint16_t server_port,
                                       proxy::DeviceSide device_side = proxy::DeviceSide::kClient) {
  proxy::SessionInfo info;
  info.id = id;
  info.service = protocol == "dicom" ? "pacs-dicom" : protocol;
  info.protocol = protocol;
  info.device_side = device_side;
  ::inet_pton(AF_INET, client, &info.client_addr);
  info.client_port = client_port;
  ::inet_pton(AF_INET, server, &info.server_addr);
  info.server_port = server_port;
  info.upstream_source = info.client_addr;
  return info;
}

}  // namespace wardgate::inspect::testing
