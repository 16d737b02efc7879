#pragma once
// Everything the proxy core is told by the configuration (app/ maps the JSON onto this).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "proxy/asio.h"
#include "proxy/inspector.h"
#include "proxy/socket_options.h"

namespace wardgate::proxy {

// Where a session's upstream leg goes, and which end of it is the device.
struct UpstreamRoute {
  tcp::endpoint connect_to;
  asio::ip::address_v4 bind_from;  // the leg's source address (used when transparent)
  DeviceSide device_side = DeviceSide::kClient;
};

// Asked for each accepted connection with its client and original destination; nullopt refuses
// the connection (reset).
using UpstreamRouter = std::function<std::optional<UpstreamRoute>(
    const tcp::endpoint& client, const tcp::endpoint& original_destination)>;

struct ProxyOptions {
  asio::ip::address_v4 listen_address = asio::ip::address_v4::any();
  std::uint16_t listen_port = 15001;
  // IP_TRANSPARENT on listener and upstream: accept diverted connections and connect upstream
  // from the device's own address. Off only where nothing is diverted (tests on loopback).
  bool transparent = true;
  unsigned threads = 0;  // 0: one per core
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};
  // Message deadlines (RelayOptions), for sessions whose inspector follows messages; 0: none.
  std::chrono::milliseconds first_message_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds message_timeout{std::chrono::seconds(30)};
  // What all sessions' inspectors may hold at once (HeldBytesBudget).
  std::size_t held_bytes_budget = std::size_t{256} << 20;
  // DESIGN.md's target; its two sockets each fit the 20 000-descriptor hard limits of containers.
  std::size_t max_connections = 5000;
  // False while max_connections is the default: start-up may then fit it to the descriptor limit
  // instead of refusing to start (an explicit value is never lowered behind the operator's back).
  bool max_connections_configured = false;
  std::size_t max_connections_per_device = 256;
  std::size_t chunk_bytes = 128UL * 1024;  // relay read size, and the capacity of splice pipes
  bool zero_copy = true;                   // splice bytes no inspector needs to see
  // Splice pipes (2 descriptors each) all workers may hold at once; beyond it the relay copies.
  // app/ sets it from the descriptors left once every session's sockets are counted.
  std::size_t max_pipes = SIZE_MAX;
  int backlog = 4096;
  LegTuning device_leg;
  LegTuning upstream_leg;
  // Intercepted destination ports and their service names ("dicom", "hl7", ...). A connection to
  // any other port (or to the listener itself) is refused rather than relayed.
  struct Service {
    std::string name;
    std::string protocol;  // chooses the inspector (ProtocolInspectors)
  };
  std::map<std::uint16_t, Service> services;
  // Asked for each new connection to a "dicom" or "hl7" service; false refuses it (audit store
  // fail-closed: no clinical traffic that could not be audited). Unset: always admitted.
  std::function<bool()> clinical_traffic_allowed;
  // Unset: the device is the client, and the upstream leg goes to the original destination from
  // the client's own address.
  UpstreamRouter route;
};

}  // namespace wardgate::proxy
