#pragma once
// wg-quick configuration files ([Interface] / [Peer]): imported into wardgate's tunnel section,
// and exported so the concentrator's administrator can paste the appliance's [Peer] block (or
// run the appliance's side with wg-quick for comparison). Key material is written only when
// asked for; the private key never appears in an export unless requested explicitly.
#include <optional>
#include <string>
#include <vector>

#include "tunnel/tunnel_config.h"

namespace wardgate::tunnel {

struct WgQuickPeer {
  Key public_key{};
  std::optional<Key> preshared_key;
  std::string endpoint;  // as written: "host:port" (a name is resolved on import)
  std::optional<std::uint16_t> persistent_keepalive_s;
  std::vector<IpPrefix> allowed_ips;
  std::string comment;  // "# name" line before the block, if any
};

struct WgQuickFile {
  std::optional<Key> private_key;
  std::optional<std::uint16_t> listen_port;
  std::optional<std::uint32_t> fwmark;
  std::optional<std::uint32_t> mtu;
  std::vector<IpPrefix> addresses;
  std::vector<WgQuickPeer> peers;
  std::vector<std::string> ignored;  // keys wardgate does not apply (DNS, PostUp, Table, ...)
};

// Parses wg-quick text; throws std::runtime_error naming the line at fault.
WgQuickFile parse_wg_quick(const std::string& text);
std::string write_wg_quick(const WgQuickFile& file);

// The [Peer] block describing this appliance to the concentrator: its public key, optional
// preshared key and AllowedIPs = its tunnel addresses + the device networks it advertises.
std::string appliance_peer_block(const TunnelConfig& config, const Key& public_key,
                                 const std::optional<Key>& preshared_key,
                                 const std::string& appliance_id);

// The appliance's own side as a wg-quick file (private key only if given).
WgQuickFile appliance_wg_quick(const TunnelConfig& config, const std::optional<Key>& private_key);

// An imported file as wardgate's tunnel section (JSON text), with the key file paths given.
// Endpoint names are resolved here, once; an unresolvable name throws.
std::string tunnel_section_json(const WgQuickFile& file, const std::string& interface,
                                const std::string& private_key_file,
                                const std::vector<std::string>& preshared_key_files);

}  // namespace wardgate::tunnel
