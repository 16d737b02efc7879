// `wardgate tunnel ...`: the WireGuard tunnel from the command line. `up` runs only the tunnel
// (foreground, monitored, audited) for appliances and tests that want it without the proxy;
// `status` reads a live interface; the key and wg-quick commands serve the concentrator's
// administrator. Keys are read from and written to 0600 files, never printed unless asked.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/commands.h"
#include "app/config.h"
#include "app/inspection_setup.h"
#include "app/process_setup.h"
#include "tunnel/backend_select.h"
#include "tunnel/key.h"
#include "tunnel/tunnel_manager.h"
#include "tunnel/wg_quick.h"

namespace wardgate::app {
namespace {

// The configuration with a tunnel section, or an exit status after saying what is wrong.
std::optional<Config> tunnel_config(const std::string& path, int& status) {
  auto c = load_config_or_explain(path);
  if (c && !c->tunnel) {
    std::cerr << "wardgate: " << path << " has no \"tunnel\" section\n";
    c.reset();
  }
  if (!c) status = kExitBadConfig;
  return c;
}

std::string next_key_path(const tunnel::TunnelConfig& t) { return t.private_key_file + ".next"; }

std::string human_bytes(std::uint64_t n) {
  constexpr std::array<const char*, 5> kUnits{"B", "KiB", "MiB", "GiB", "TiB"};
  auto v = static_cast<double>(n);
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < kUnits.size()) {
    v /= 1024;
    ++u;
  }
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), u == 0 ? "%.0f %s" : "%.2f %s", v, kUnits[u]);
  return buf.data();
}

std::string peer_name(const tunnel::TunnelConfig& t, const tunnel::Key& key) {
  for (const auto& p : t.peers)
    if (p.public_key == key) return p.name;
  return "(not configured)";
}

std::optional<tunnel::Key> read_text_key(std::istream& in) {
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return tunnel::key_from_base64(text);
}

}  // namespace

int tunnel_up_command(const std::string& path) {
  int status = kExitOk;
  auto config = tunnel_config(path, status);
  if (!config) return status;
  setup_logging(config->log_level);
  // Signals are taken synchronously by this thread; blocked before any worker thread starts.
  sigset_t signals = block_stop_signals();
  common::MetricsRegistry metrics;
  AuditPipeline audit;
  try {
    audit = make_audit_pipeline(*config, metrics);
  } catch (const std::exception& e) {
    spdlog::error("cannot open the audit store: {}", e.what());
    return kExitFailure;
  }
  tunnel::TunnelManager manager(*config->tunnel, config->appliance_id, *audit.sink, metrics);
  if (const auto error = manager.up(); !error.empty()) {
    spdlog::error("{}", error);
    return kExitFailure;
  }
  manager.start_monitor();
  spdlog::info("wardgate {} ready: tunnel {} up", WARDGATE_VERSION, config->tunnel->interface);
  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("{} received: taking the tunnel down", strsignal(signal));
  manager.down();
  audit.store->flush();
  return kExitOk;
}

int tunnel_status_command(const std::string& path, bool json) {
  int status = kExitOk;
  auto config = tunnel_config(path, status);
  if (!config) return status;
  const auto& t = *config->tunnel;
  auto attached = tunnel::attach_backend(t);
  if (!attached.backend) {
    std::cerr << "wardgate: tunnel " << t.interface << " is not up: " << attached.error << "\n";
    return kExitFailure;
  }
  tunnel::DeviceState state;
  if (const auto error = attached.backend->get(state); !error.empty()) {
    std::cerr << "wardgate: cannot read tunnel " << t.interface << ": " << error << "\n";
    return kExitFailure;
  }
  const auto now = std::time(nullptr);
  if (json) {
    nlohmann::ordered_json j;
    j["interface"] = t.interface;
    j["backend"] = attached.backend->name();
    j["backend_detail"] = attached.reason;
    j["public_key"] = state.public_key ? tunnel::to_base64(*state.public_key) : "";
    j["listen_port"] = state.listen_port;
    j["fwmark"] = state.fwmark;
    j["peers"] = nlohmann::json::array();
    for (const auto& p : state.peers) {
      nlohmann::ordered_json q;
      q["name"] = peer_name(t, p.public_key);
      q["public_key"] = tunnel::to_base64(p.public_key);
      q["endpoint"] = p.endpoint ? p.endpoint->to_string() : "";
      q["last_handshake_unix"] = p.last_handshake_s;
      if (p.last_handshake_s != 0) {
        q["last_handshake_age_s"] = now - p.last_handshake_s;
      } else {
        q["last_handshake_age_s"] = nullptr;
      }
      q["rx_bytes"] = p.rx_bytes;
      q["tx_bytes"] = p.tx_bytes;
      q["persistent_keepalive_s"] = p.persistent_keepalive_s;
      q["has_preshared_key"] = p.has_preshared_key;
      q["allowed_ips"] = nlohmann::json::array();
      for (const auto& a : p.allowed_ips) q["allowed_ips"].push_back(a.to_string());
      j["peers"].push_back(std::move(q));
    }
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "interface: " << t.interface << "\n"
            << "backend: " << attached.backend->name() << " (" << attached.reason << ")\n"
            << "public key: "
            << (state.public_key ? tunnel::to_base64(*state.public_key) : "(none)") << "\n"
            << "listen port: " << state.listen_port << "\n";
  for (const auto& p : state.peers) {
    std::cout << "\npeer " << peer_name(t, p.public_key) << ": " << tunnel::to_base64(p.public_key)
              << "\n"
              << "  endpoint: " << (p.endpoint ? p.endpoint->to_string() : "(none yet)") << "\n"
              << "  last handshake: "
              << (p.last_handshake_s != 0 ? std::to_string(now - p.last_handshake_s) + " s ago"
                                          : std::string("never"))
              << "\n"
              << "  transfer: " << human_bytes(p.rx_bytes) << " received, "
              << human_bytes(p.tx_bytes) << " sent\n";
    if (p.persistent_keepalive_s != 0)
      std::cout << "  keepalive: every " << p.persistent_keepalive_s << " s\n";
    std::string ips;
    for (const auto& a : p.allowed_ips) ips += (ips.empty() ? "" : ", ") + a.to_string();
    std::cout << "  allowed ips: " << (ips.empty() ? "(none)" : ips) << "\n";
  }
  return kExitOk;
}

int tunnel_genkey_command() {
  std::cout << tunnel::to_base64(tunnel::generate_private_key()) << "\n";
  return kExitOk;
}

int tunnel_pubkey_command() {
  const auto key = read_text_key(std::cin);
  if (!key) {
    std::cerr << "wardgate: standard input is not a base64 WireGuard private key\n";
    return kExitFailure;
  }
  std::cout << tunnel::to_base64(tunnel::public_key_of(*key)) << "\n";
  return kExitOk;
}

int tunnel_export_command(const std::string& path, bool peer_block, bool include_private_key) {
  int status = kExitOk;
  auto config = tunnel_config(path, status);
  if (!config) return status;
  const auto& t = *config->tunnel;
  tunnel::Key private_key{};
  bool created = false;
  if (const auto error =
          tunnel::load_or_create_private_key(t.private_key_file, private_key, created);
      !error.empty()) {
    std::cerr << "wardgate: private key: " << error << "\n";
    return kExitFailure;
  }
  if (created) std::cerr << "wardgate: made a new private key in " << t.private_key_file << "\n";
  if (peer_block) {
    // The concentrator needs the preshared key too, if the first peer has one: it is a secret.
    std::optional<tunnel::Key> psk;
    if (!t.peers.empty() && !t.peers.front().preshared_key_file.empty()) {
      tunnel::Key k{};
      if (const auto error = tunnel::read_key_file(t.peers.front().preshared_key_file, k);
          !error.empty()) {
        std::cerr << "wardgate: preshared key: " << error << "\n";
        return kExitFailure;
      }
      psk = k;
      std::cerr << "wardgate: the block below contains the preshared key; treat it as secret\n";
    }
    std::cout << tunnel::appliance_peer_block(t, tunnel::public_key_of(private_key), psk,
                                              config->appliance_id);
    return kExitOk;
  }
  std::cout << tunnel::write_wg_quick(tunnel::appliance_wg_quick(
      t, include_private_key ? std::optional<tunnel::Key>(private_key) : std::nullopt));
  return kExitOk;
}

int tunnel_import_command(const std::string& file, const std::string& private_key_file,
                          const std::string& interface) {
  std::ifstream in(file);
  if (!in) {
    std::cerr << "wardgate: " << file << ": cannot be read\n";
    return kExitFailure;
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    const auto parsed = tunnel::parse_wg_quick(text.str());
    if (!parsed.private_key) {
      std::cerr << "wardgate: " << file << ": [Interface] has no PrivateKey\n";
      return kExitFailure;
    }
    if (const auto error = tunnel::write_key_file(private_key_file, *parsed.private_key);
        !error.empty()) {
      std::cerr << "wardgate: " << error << "\n";
      return kExitFailure;
    }
    std::vector<std::string> psk_files;
    for (std::size_t i = 0; i < parsed.peers.size(); ++i) {
      const auto& p = parsed.peers[i];
      psk_files.push_back(private_key_file + ".psk" + std::to_string(i + 1));
      if (p.preshared_key) {
        if (const auto error = tunnel::write_key_file(psk_files.back(), *p.preshared_key);
            !error.empty()) {
          std::cerr << "wardgate: " << error << "\n";
          return kExitFailure;
        }
      }
    }
    for (const auto& ignored : parsed.ignored)
      std::cerr << "wardgate: " << file << ": " << ignored << " is not applied by wardgate\n";
    std::cout << tunnel::tunnel_section_json(parsed, interface, private_key_file, psk_files)
              << "\n";
    std::cerr << "wardgate: private key written to " << private_key_file << " (0600)\n";
    return kExitOk;
  } catch (const std::exception& e) {
    std::cerr << "wardgate: " << file << ": " << e.what() << "\n";
    return kExitBadConfig;
  }
}

int tunnel_rotate_key_command(const std::string& path, bool commit) {
  int status = kExitOk;
  auto config = tunnel_config(path, status);
  if (!config) return status;
  const auto& t = *config->tunnel;
  const std::string next_path = next_key_path(t);
  tunnel::Key next{};
  struct stat st {};
  const bool have_next = ::stat(next_path.c_str(), &st) == 0;
  if (!commit) {
    if (have_next) {
      if (const auto error = tunnel::read_key_file(next_path, next); !error.empty()) {
        std::cerr << "wardgate: " << error << "\n";
        return kExitFailure;
      }
    } else {
      next = tunnel::generate_private_key();
      if (const auto error = tunnel::write_key_file(next_path, next); !error.empty()) {
        std::cerr << "wardgate: " << error << "\n";
        return kExitFailure;
      }
    }
    std::cout << "new public key: " << tunnel::to_base64(tunnel::public_key_of(next)) << "\n"
              << "Give the concentrator this peer (it replaces the current one), then run\n"
              << "  wardgate tunnel rotate-key --config " << path << " --commit\n\n"
              << tunnel::appliance_peer_block(t, tunnel::public_key_of(next), std::nullopt,
                                              config->appliance_id);
    return kExitOk;
  }
  if (!have_next) {
    std::cerr << "wardgate: no pending key (" << next_path
              << "); run rotate-key without --commit first\n";
    return kExitFailure;
  }
  if (const auto error = tunnel::read_key_file(next_path, next); !error.empty()) {
    std::cerr << "wardgate: " << error << "\n";
    return kExitFailure;
  }
  auto attached = tunnel::attach_backend(t);
  if (!attached.backend) {
    std::cerr << "wardgate: tunnel " << t.interface << " is not up: " << attached.error << "\n";
    return kExitFailure;
  }
  // Only the key changes: peers, endpoints and routes stay, so proxied connections through the
  // tunnel see a short pause while the peers handshake again, not a reset.
  tunnel::DeviceConfig change;
  change.private_key = next;
  if (const auto error = attached.backend->set(change); !error.empty()) {
    std::cerr << "wardgate: cannot switch the key on " << t.interface << ": " << error << "\n";
    return kExitFailure;
  }
  if (::rename(next_path.c_str(), t.private_key_file.c_str()) != 0) {
    std::cerr << "wardgate: the interface uses the new key but " << t.private_key_file
              << " could not be replaced (" << std::strerror(errno) << "); move " << next_path
              << " there by hand before the next start\n";
    return kExitFailure;
  }
  std::cout << "switched: " << t.interface << " now uses public key "
            << tunnel::to_base64(tunnel::public_key_of(next)) << "\n";
  return kExitOk;
}

}  // namespace wardgate::app
