#pragma once
// The `tunnel` section of wardgate's configuration: the WireGuard interface to the hospital's
// concentrator, which backend carries it, the addresses and routes around it, tuning and
// monitoring. Read and validated by tunnel/tunnel_config_reader.h; documented in
// docs/configuration.md. Each part compares by value, so a re-read section (or one peer of it)
// can be told apart from the one in force.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tunnel/wg_types.h"

namespace wardgate::tunnel {

enum class BackendChoice { kAuto, kKernel, kUapi };

struct TunnelPeerConfig {
  std::string name;  // shown in status and audit events ("concentrator")
  Key public_key{};
  std::string preshared_key_file;  // optional, 0600, base64 (wg genpsk)
  std::optional<Endpoint> endpoint;
  std::uint16_t persistent_keepalive_s = 25;  // keeps NAT mappings on the way open
  std::vector<IpPrefix> allowed_ips;          // the core networks behind this peer
  bool operator==(const TunnelPeerConfig&) const = default;
};

struct UapiConfig {
  std::string wireguard_go = "/usr/bin/wireguard-go";
  bool start = true;  // false: attach to a daemon someone else started
  std::string socket_dir = "/var/run/wireguard";
  std::chrono::seconds restart_backoff_max{30};
  bool operator==(const UapiConfig&) const = default;
};

// Path tuning (tunnel/path_tuning.h): the backend's UDP socket buffers, queue length, offloads.
struct TuningConfig {
  bool enabled = true;
  std::uint32_t udp_buffer_bytes = 16 * 1024 * 1024;  // per UDP socket of the backend
  std::uint32_t txqueuelen = 1000;                    // of the tunnel interface
  bool offloads = true;                               // GSO/GRO where the device supports them
  bool operator==(const TuningConfig&) const = default;
};

struct MonitorConfig {
  std::chrono::seconds interval{5};
  std::chrono::seconds stale_after{180};   // no handshake for this long while traffic waits
  std::chrono::seconds silence_after{30};  // nothing received for this long while traffic waits
  bool operator==(const MonitorConfig&) const = default;
};

struct TunnelConfig {
  std::string interface = "wg0";
  BackendChoice backend = BackendChoice::kAuto;
  std::string private_key_file = "/var/lib/wardgate/wg-private-key";  // made at first start
  std::uint16_t listen_port = 51820;
  std::uint32_t fwmark = 0;
  std::vector<IpPrefix> addresses;              // the appliance's own tunnel addresses
  std::vector<IpPrefix> advertised_networks;    // device networks the concentrator routes to us
  std::optional<std::vector<IpPrefix>> routes;  // default: every peer's allowed_ips (as wg-quick)
  std::uint32_t mtu = 1420;
  // "mtu": "auto": the largest MTU the underlay path to the first peer's endpoint carries
  // (its route MTU minus WireGuard's overhead, as wg-quick does); `mtu` when it cannot be told.
  bool mtu_auto = false;
  bool mss_clamp = true;  // clamp TCP MSS to the tunnel's path MTU (nftables)
  std::vector<TunnelPeerConfig> peers;
  UapiConfig uapi;
  TuningConfig tuning;
  MonitorConfig monitor;
  bool operator==(const TunnelConfig&) const = default;
};

const char* to_string(BackendChoice choice);

}  // namespace wardgate::tunnel
