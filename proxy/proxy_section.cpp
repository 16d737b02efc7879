#include "proxy/proxy_section.h"

#include "common/json_reader.h"

namespace wardgate::proxy {

ProxySection read_proxy_section(const nlohmann::json* section) {
  ProxySection s;
  if (section == nullptr) return s;
  common::ObjectReader r(*section, "proxy");
  ProxyOptions& o = s.options;
  o.threads = static_cast<unsigned>(r.integer("threads", 0, 256, o.threads));
  o.connect_timeout = std::chrono::milliseconds(
      r.integer("connect_timeout_ms", 100, 600000, o.connect_timeout.count()));
  o.idle_timeout = std::chrono::seconds(
      r.integer("idle_timeout_s", 1, std::int64_t{7} * 86400,
                std::chrono::duration_cast<std::chrono::seconds>(o.idle_timeout).count()));
  o.first_message_timeout = std::chrono::seconds(
      r.integer("first_message_timeout_s", 0, 3600,
                std::chrono::duration_cast<std::chrono::seconds>(o.first_message_timeout).count()));
  o.message_timeout = std::chrono::seconds(
      r.integer("message_timeout_s", 0, 3600,
                std::chrono::duration_cast<std::chrono::seconds>(o.message_timeout).count()));
  o.held_bytes_budget =
      static_cast<std::size_t>(r.integer("held_bytes_budget_mib", 1, 1 << 20,
                                         static_cast<std::int64_t>(o.held_bytes_budget >> 20)))
      << 20;
  KeepAlive& k = o.device_leg.keepalive;
  k.idle_s = static_cast<int>(r.integer("keepalive_idle_s", 0, 32767, k.idle_s));
  k.interval_s = static_cast<int>(r.integer("keepalive_interval_s", 1, 32767, k.interval_s));
  k.count = static_cast<int>(r.integer("keepalive_count", 1, 127, k.count));
  s.drain_timeout =
      std::chrono::seconds(r.integer("drain_timeout_s", 0, 3600, s.drain_timeout.count()));
  o.max_connections_configured = section->contains("max_connections");
  o.max_connections = static_cast<std::size_t>(
      r.integer("max_connections", 1, 1000000, static_cast<std::int64_t>(o.max_connections)));
  o.max_connections_per_device =
      static_cast<std::size_t>(r.integer("max_connections_per_device", 1, 1000000,
                                         static_cast<std::int64_t>(o.max_connections_per_device)));
  o.chunk_bytes = static_cast<std::size_t>(
      r.integer("chunk_bytes", 4096, 16 << 20, static_cast<std::int64_t>(o.chunk_bytes)));
  // 0: kernel autotuning (checked to reach 10 Gbit/s x 1 ms)
  o.device_leg.buffer_bytes =
      static_cast<int>(r.integer("socket_buffer_bytes", 0, 256 << 20, o.device_leg.buffer_bytes));
  o.device_leg.congestion_control = r.string("congestion_control", "");  // empty: system default
  o.zero_copy = r.boolean("zero_copy", o.zero_copy);
  if (!o.device_leg.congestion_control.empty() &&
      !common::valid_name(o.device_leg.congestion_control, 15)) {
    r.fail("congestion_control", R"(must be a congestion control name such as "bbr" or "cubic")");
  }
  r.reject_unknown_keys();
  if (o.max_connections_per_device > o.max_connections) {
    r.fail("max_connections_per_device", "must not exceed proxy.max_connections");
  }
  o.upstream_leg = o.device_leg;
  return s;
}

}  // namespace wardgate::proxy
