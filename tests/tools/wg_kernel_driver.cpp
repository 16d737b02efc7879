// Drives tunnel::KernelBackend from the command line inside the qemu test VM
// (tests/integration/test_tunnel_kernel.py): one backend call per command, results as JSON on
// stdout, errors on stderr with exit status 1. The device JSON spells tunnel::DeviceConfig field
// by field (keys base64, prefixes and endpoints as text), so the test states exactly what the
// backend was told and compares it with what the kernel and wg(8) report.
//
//   wg_kernel_driver available | create IF | set IF DEVICE.json | get IF | alive IF | destroy IF
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tunnel/kernel_backend.h"
#include "tunnel/key.h"

namespace tunnel = wardgate::tunnel;
using nlohmann::json;

namespace {

tunnel::Key key_of(const json& value) {
  const auto key = tunnel::key_from_base64(value.get<std::string>());
  if (!key) throw std::runtime_error("not a base64 key");
  return *key;
}

template <typename T>
T parsed(const json& value, const char* what) {
  const auto result = T::parse(value.get<std::string>());
  if (!result) throw std::runtime_error(std::string("not ") + what + ": " + value.dump());
  return *result;
}

tunnel::DeviceConfig device_config(const json& j) {
  tunnel::DeviceConfig config;
  if (j.contains("private_key")) config.private_key = key_of(j["private_key"]);
  if (j.contains("listen_port")) config.listen_port = j["listen_port"].get<std::uint16_t>();
  if (j.contains("fwmark")) config.fwmark = j["fwmark"].get<std::uint32_t>();
  config.replace_peers = j.value("replace_peers", false);
  for (const auto& p : j.value("peers", json::array())) {
    tunnel::PeerConfig peer;
    peer.public_key = key_of(p["public_key"]);
    if (p.contains("preshared_key")) peer.preshared_key = key_of(p["preshared_key"]);
    if (p.contains("endpoint"))
      peer.endpoint = parsed<tunnel::Endpoint>(p["endpoint"], "an endpoint");
    if (p.contains("persistent_keepalive_s"))
      peer.persistent_keepalive_s = p["persistent_keepalive_s"].get<std::uint16_t>();
    for (const auto& ip : p.value("allowed_ips", json::array()))
      peer.allowed_ips.push_back(parsed<tunnel::IpPrefix>(ip, "a prefix"));
    peer.replace_allowed_ips = p.value("replace_allowed_ips", true);
    peer.remove = p.value("remove", false);
    peer.update_only = p.value("update_only", false);
    config.peers.push_back(peer);
  }
  return config;
}

json state_json(const tunnel::DeviceState& s) {
  json peers = json::array();
  for (const auto& p : s.peers) {
    json ips = json::array();
    for (const auto& ip : p.allowed_ips) ips.push_back(ip.to_string());
    peers.push_back({{"public_key", tunnel::to_base64(p.public_key)},
                     {"has_preshared_key", p.has_preshared_key},
                     {"endpoint", p.endpoint ? json(p.endpoint->to_string()) : json(nullptr)},
                     {"persistent_keepalive_s", p.persistent_keepalive_s},
                     {"allowed_ips", ips},
                     {"last_handshake_s", p.last_handshake_s},
                     {"last_handshake_ns", p.last_handshake_ns},
                     {"rx_bytes", p.rx_bytes},
                     {"tx_bytes", p.tx_bytes},
                     {"protocol_version", p.protocol_version}});
  }
  return {{"interface", s.interface},
          {"public_key", s.public_key ? json(tunnel::to_base64(*s.public_key)) : json(nullptr)},
          {"listen_port", s.listen_port},
          {"fwmark", s.fwmark},
          {"peers", peers}};
}

int fail(const std::string& what) {
  std::cerr << "wg_kernel_driver: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "available") {
    std::string why;
    const bool yes = tunnel::kernel_wireguard_available(&why);
    std::cout << json{{"available", yes}, {"why", why}} << "\n";
    return yes ? 0 : 1;
  }
  if (argc < 3) return fail("usage: available | create|get|alive|destroy IF | set IF DEVICE.json");
  auto backend = tunnel::make_kernel_backend(argv[2]);
  std::string error;
  if (command == "create") {
    error = backend->create();
  } else if (command == "set" && argc == 4) {
    std::ifstream in(argv[3]);
    tunnel::DeviceConfig config;
    try {
      config = device_config(json::parse(in));
    } catch (const std::exception& e) {
      return fail(std::string(argv[3]) + ": " + e.what());
    }
    error = backend->set(config);
  } else if (command == "get") {
    tunnel::DeviceState state;
    error = backend->get(state);
    if (error.empty()) std::cout << state_json(state).dump() << "\n";
  } else if (command == "alive") {
    const bool alive = backend->alive();
    std::cout << json{{"alive", alive}} << "\n";
    return alive ? 0 : 1;
  } else if (command == "destroy") {
    backend->destroy();
  } else {
    return fail("unknown command " + command);
  }
  return error.empty() ? 0 : fail(error);
}
