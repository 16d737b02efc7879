#include "tunnel/tunnel_manager.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "nat/link_setup.h"
#include "nat/mss_clamp.h"
#include "tunnel/backend_select.h"
#include "tunnel/key.h"
#include "tunnel/path_tuning.h"
#include "tunnel/path_tuning_hook.h"

namespace wardgate::tunnel {
namespace {

nat::LinkSetup link_setup(const TunnelConfig& c) {
  nat::LinkSetup s;
  s.interface = c.interface;
  s.mtu = c.mtu;
  if (c.tuning.enabled) s.txqueuelen = c.tuning.txqueuelen;
  for (const auto& a : c.addresses) s.addresses.push_back(a.to_string());
  for (const auto& r : tunnel_routes(c)) s.routes.push_back(r.to_string());
  return s;
}

}  // namespace

std::vector<IpPrefix> tunnel_routes(const TunnelConfig& c) {
  if (c.routes) return *c.routes;
  std::vector<IpPrefix> out;
  for (const auto& p : c.peers)
    for (const auto& ip : p.allowed_ips)
      if (std::find(out.begin(), out.end(), ip) == out.end()) out.push_back(ip);
  return out;
}

std::string load_or_create_private_key(const std::string& path, Key& key, bool& created) {
  created = false;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    key = generate_private_key();
    created = true;
    return write_key_file(path, key);
  }
  return read_key_file(path, key);
}

TunnelManager::TunnelManager(TunnelConfig config, std::string appliance_id, audit::AuditSink& sink,
                             common::MetricsRegistry& metrics, const common::Clock& clock)
    : config_(std::move(config)),
      appliance_id_(std::move(appliance_id)),
      sink_(sink),
      clock_(clock),
      backend_info_(metrics.gauge_family("wardgate_tunnel_backend_info",
                                         "The WireGuard backend in use (value 1) and why it was "
                                         "chosen.",
                                         {"interface", "backend", "reason"})),
      backend_up_(metrics
                      .gauge_family("wardgate_tunnel_backend_up",
                                    "1 while the tunnel's backend runs and answers, else 0.",
                                    {"interface"})
                      .with({config_.interface})),
      backend_failures_(metrics
                            .counter_family("wardgate_tunnel_backend_failures_total",
                                            "Backend failures seen by the monitor "
                                            "(backend-failed events).",
                                            {"interface"})
                            .with({config_.interface})),
      backend_recoveries_(metrics
                              .counter_family("wardgate_tunnel_backend_recoveries_total",
                                              "Failed backends restarted with the same "
                                              "configuration (backend-recovered events).",
                                              {"interface"})
                              .with({config_.interface})),
      polls_(metrics
                 .counter_family("wardgate_tunnel_polls_total",
                                 "Polls of the interface by the tunnel monitor.", {"interface"})
                 .with({config_.interface})) {}

TunnelManager::~TunnelManager() { down(); }

void TunnelManager::record(audit::Event event) {
  spdlog::log(
      event.severity >= audit::Severity::kWarning ? spdlog::level::warn : spdlog::level::info,
      "tunnel {}: {}{}", config_.interface, event.action, [&] {
        const auto* peer = event.fields.find("peer");
        return peer ? " (peer " + std::get<std::string>(*peer) + ")" : std::string();
      }());
  sink_.record(std::move(event));
}

DeviceConfig TunnelManager::desired(std::string& error) const {
  DeviceConfig d;
  Key private_key{};
  bool created = false;
  // Read at every (re)configuration: after a key rotation the file holds the new key.
  error = load_or_create_private_key(config_.private_key_file, private_key, created);
  if (!error.empty()) return d;
  if (created)
    spdlog::info("tunnel {}: new private key in {}; public key {}", config_.interface,
                 config_.private_key_file, to_base64(public_key_of(private_key)));
  d.private_key = private_key;
  d.listen_port = config_.listen_port;
  d.fwmark = config_.fwmark;
  d.replace_peers = true;
  for (const auto& p : config_.peers) {
    PeerConfig pc;
    pc.public_key = p.public_key;
    if (!p.preshared_key_file.empty()) {
      Key psk{};
      if (error = read_key_file(p.preshared_key_file, psk); !error.empty()) return d;
      pc.preshared_key = psk;
    }
    pc.endpoint = p.endpoint;
    pc.persistent_keepalive_s = p.persistent_keepalive_s;
    pc.allowed_ips = p.allowed_ips;
    pc.replace_allowed_ips = true;
    d.peers.push_back(std::move(pc));
  }
  return d;
}

std::string TunnelManager::configure() {
  std::string error;
  const DeviceConfig device = desired(error);
  if (!error.empty()) return "private or preshared key: " + error;
  if (error = backend_->set(device); !error.empty()) return "configuring the device: " + error;
  if (monitor_) monitor_->expect_own_key(public_key_of(*device.private_key));
  if (error = nat::configure_link(link_setup(config_)); !error.empty()) return error;
  if (config_.mss_clamp) {
    if (error = nat::install_mss_clamp({"wardgate_tunnel", config_.interface, config_.mtu});
        !error.empty())
      return error;
  }
  for (const auto& line : apply_path_tuning(config_, *backend_)) {
    spdlog::info("tunnel {}: tuning: {}", config_.interface, line);
  }
  return {};
}

// "mtu": "auto": the underlay's path MTU to the first peer with an endpoint, minus WireGuard's
// overhead for that address family; the configured value when it cannot be told.
void TunnelManager::choose_mtu() {
  if (!config_.mtu_auto) return;
  for (const auto& p : config_.peers) {
    if (!p.endpoint) continue;
    const auto path = underlay_path_mtu(*p.endpoint);
    const std::uint32_t mtu =
        path ? tunnel_mtu_for_underlay(*path, p.endpoint->address.family == AF_INET6) : 0;
    if (mtu == 0) {
      spdlog::warn("tunnel {}: MTU auto: no usable path MTU towards {} ({}); using {}",
                   config_.interface, p.endpoint->to_string(),
                   path ? "path MTU " + std::to_string(*path) + " too small" : "no route",
                   config_.mtu);
      return;
    }
    spdlog::info("tunnel {}: MTU {} (auto: path MTU {} towards {} of peer {})", config_.interface,
                 mtu, *path, p.endpoint->to_string(), p.name);
    config_.mtu = mtu;
    return;
  }
  spdlog::warn("tunnel {}: MTU auto: no peer has an endpoint; using {}", config_.interface,
               config_.mtu);
}

std::string TunnelManager::up() {
  choose_mtu();
  auto selection = select_backend(config_);
  if (!selection.backend) return selection.error;
  backend_ = std::move(selection.backend);
  backend_info_.with({config_.interface, backend_->name(), selection.reason}).set(1);
  spdlog::info("tunnel {}: backend {} ({})", config_.interface, backend_->name(), selection.reason);
  std::vector<ExpectedPeer> expected;
  for (const auto& p : config_.peers) expected.push_back({p.name, p.public_key});
  monitor_ = std::make_unique<TunnelMonitor>(appliance_id_, config_.interface, expected,
                                             config_.monitor.stale_after,
                                             config_.monitor.silence_after, clock_);
  monitor_->set_rotation_check([path = config_.private_key_file](const Key& public_key) {
    // The rotation writes the new key to <file>.next, switches the interface, then renames it
    // over <file>: whichever of the two holds the interface's new key, it was a rotation.
    for (const auto& candidate : {path + ".next", path}) {
      Key key{};
      if (read_key_file(candidate, key).empty() && public_key_of(key) == public_key) return true;
    }
    return false;
  });
  std::string error = backend_->create();
  if (error.empty()) error = configure();
  if (!error.empty()) {
    backend_->destroy();
    backend_.reset();
    return "tunnel " + config_.interface + ": " + error;
  }
  is_up_ = true;
  DeviceState state;
  if (backend_->get(state).empty() && state.public_key) {
    std::string peers;
    for (const auto& p : config_.peers)
      peers += (peers.empty() ? "" : ", ") + p.name +
               (p.endpoint ? " at " + p.endpoint->to_string() : std::string(" (no endpoint)"));
    spdlog::info("tunnel {}: up, public key {}, listen port {}, MTU {}, peers: {}",
                 config_.interface, to_base64(*state.public_key), state.listen_port, config_.mtu,
                 peers.empty() ? "none" : peers);
  }
  backend_up_.set(1);
  return {};
}

void TunnelManager::start_monitor() {
  if (!is_up_ || thread_.joinable()) return;
  thread_ = std::thread([this] { monitor_loop(); });
}

void TunnelManager::monitor_loop() {
  bool failed = false;
  auto backoff = std::chrono::seconds(1);
  auto next_attempt = clock_.steady_now();
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    bool alive = backend_->alive();
    DeviceState state;
    std::string error = alive ? backend_->get(state) : std::string("not running");
    if (!error.empty() && !failed) {
      failed = true;
      record(monitor_->backend_event("backend-failed", backend_->name(), error));
      backend_failures_.inc();
      backend_up_.set(0);
    }
    if (failed && clock_.steady_now() >= next_attempt) {
      // Same configuration, same key file: the concentrator sees the same peer come back.
      std::string why = backend_->create();
      if (why.empty()) why = configure();
      if (why.empty()) why = backend_->get(state);
      if (why.empty()) {
        failed = false;
        error.clear();
        backoff = std::chrono::seconds(1);
        record(monitor_->backend_event("backend-recovered", backend_->name(), ""));
        backend_recoveries_.inc();
        backend_up_.set(1);
      } else {
        spdlog::warn("tunnel {}: backend restart failed, next try in {} s: {}", config_.interface,
                     backoff.count(), why);
        next_attempt = clock_.steady_now() + backoff;
        backoff = std::min(backoff * 2, config_.uapi.restart_backoff_max);
      }
    }
    if (error.empty()) {
      for (auto& e : monitor_->observe(state)) record(std::move(e));
    }
    lock.lock();
    peers_.clear();
    for (const auto& [key, peer] : monitor_->peers()) peers_.push_back(peer);
    polls_.inc();
    // Every second while the backend is down or a peer has not handshaked yet, so the first
    // "up" is recorded when it happens rather than up to an interval later.
    bool all_up = true;
    for (const auto& [key, peer] : monitor_->peers()) all_up = all_up && peer.up;
    const auto wait = failed || !all_up
                          ? std::min(std::chrono::seconds(1), config_.monitor.interval)
                          : config_.monitor.interval;
    wake_.wait_for(lock, wait, [this] { return stop_; });
  }
}

void TunnelManager::down() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!is_up_) return;
  is_up_ = false;
  if (auto error = nat::remove_link_routes(link_setup(config_)); !error.empty())
    spdlog::warn("tunnel {}: {}", config_.interface, error);
  if (config_.mss_clamp) {
    if (auto error = nat::remove_mss_clamp({"wardgate_tunnel", config_.interface, config_.mtu});
        !error.empty())
      spdlog::warn("tunnel {}: {}", config_.interface, error);
  }
  backend_->destroy();
  backend_up_.set(0);
  spdlog::info("tunnel {}: down", config_.interface);
}

std::vector<PeerHealth> TunnelManager::peers() const {
  std::lock_guard lock(mutex_);
  return peers_;
}

}  // namespace wardgate::tunnel
