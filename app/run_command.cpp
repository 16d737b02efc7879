// `wardgate run`: load and validate the configuration, open the transparent listeners, install
// the interception rules, relay until SIGTERM/SIGINT, then drain and remove the rules again.
// Listeners open before the rules go in, so no diverted connection ever meets a closed port.
#include <spdlog/spdlog.h>
#include <algorithm>
#include <csignal>
#include <iostream>

#include "app/audit_export_setup.h"
#include "app/audit_spool_watcher.h"
#include "app/commands.h"
#include "app/config.h"
#include "app/gateway_runtime.h"
#include "app/inspection_setup.h"
#include "app/process_setup.h"
#include "app/upstream_routing.h"
#include "nat/bridge_netfilter.h"
#include "nat/tproxy_setup.h"
#include "proxy/proxy_server.h"
#include "proxy/tcp_buffer_ceiling.h"
#include "store/event_spool.h"
#include "tunnel/tunnel_manager.h"

namespace wardgate::app {
namespace {

// What the rest of the process may hold open besides the proxy: listeners of the admin, the
// audit store and its spool, exporters' connections, netlink and tunnel sockets, logs.
constexpr std::uint64_t kDescriptorsBesidesProxy = 256;

// proxy.max_connections left at its default on a host whose descriptor limit cannot hold it
// (a container's hard limit, an old service unit): lowered to what fits, loudly, rather than a
// gateway that refuses to start and takes every device's traffic with it. A value the operator
// wrote is never lowered: the check below then refuses to start, naming both numbers.
void fit_default_max_connections(proxy::ProxyOptions& o) {
  if (o.max_connections_configured) return;
  ensure_descriptor_limit(0, "");  // raises the soft limit to the hard one
  const std::uint64_t limit = descriptor_limit();
  const std::uint64_t fixed = proxy::worker_count(o) + kDescriptorsBesidesProxy;
  if (limit == UINT64_MAX || proxy::descriptors_needed(o) + kDescriptorsBesidesProxy <= limit) {
    return;
  }
  const std::uint64_t fits = limit > fixed + 2 ? (limit - fixed) / 2 : 1;
  spdlog::warn(
      "the descriptor limit (RLIMIT_NOFILE) is {}: proxy.max_connections lowered from its default "
      "{} to {}; raise the limit (LimitNOFILE= in the service unit) or set proxy.max_connections",
      limit, o.max_connections, fits);
  o.max_connections = static_cast<std::size_t>(fits);
  o.max_connections_per_device = std::min(o.max_connections_per_device, o.max_connections);
}

std::string describe_services(const nat::InterceptionOptions& c) {
  std::string out;
  for (const auto& s : c.services) {
    out += (out.empty() ? "" : ", ") + std::to_string(s.port) + " (" + s.name + ")";
  }
  std::string where;
  for (const auto& i : c.interfaces) where += (where.empty() ? "" : ", ") + i;
  return "tcp ports " + out + " arriving on " + (where.empty() ? "any interface" : where);
}

}  // namespace

int config_check_command(const std::string& path) {
  try {
    const Config c = load_config_file(path);
    std::cout << path << ": valid; would intercept " << describe_services(c.interception) << "\n";
    if (c.gateway) {
      const auto& g = *c.gateway;
      std::cout << "gateway: VLAN " << g.vlan_prefix.to_string() << ", default deny, "
                << g.pass_through.size() << " pass-through flows, unknown devices "
                << nat::to_string(g.unknown_devices)
                << (g.nat ? ", presented to the core as " + g.nat->to.to_string() : "") << "\n";
    } else {
      std::cout << "no gateway section: forwarding is not controlled by wardgate\n";
    }
    if (c.tunnel) {
      std::cout << "tunnel " << c.tunnel->interface << " (backend " << to_string(c.tunnel->backend)
                << ", MTU " << c.tunnel->mtu << ") to";
      for (const auto& p : c.tunnel->peers)
        std::cout << " " << p.name << (p.endpoint ? " at " + p.endpoint->to_string() : "");
      std::cout << (c.tunnel->peers.empty() ? " no peer" : "") << "\n";
    }
    return kExitOk;
  } catch (const ConfigError& e) {
    std::cerr << "wardgate: invalid configuration: " << e.what() << "\n";
    return kExitBadConfig;
  }
}

int run_command(const std::string& path) {
  Config config;
  try {
    config = load_config_file(path);
  } catch (const ConfigError& e) {
    std::cerr << "wardgate: invalid configuration, nothing applied: " << e.what() << "\n";
    return kExitBadConfig;
  }
  setup_logging(config.log_level);
  // Refused before anything is applied: a proxy that runs out of descriptors under load fails
  // its devices one accept at a time, long after the operator looked.
  fit_default_max_connections(config.proxy.options);
  const std::uint64_t needed =
      proxy::descriptors_needed(config.proxy.options) + kDescriptorsBesidesProxy;
  if (const std::string error = ensure_descriptor_limit(
          needed, "proxy.max_connections " + std::to_string(config.proxy.options.max_connections));
      !error.empty()) {
    spdlog::error("cannot start, nothing applied: {}", error);
    return kExitFailure;
  }
  // What is left goes to splice pipes; past them the relay copies instead of running out.
  config.proxy.options.max_pipes = (descriptor_limit() - needed) / 2;
  if (auto& cc = config.proxy.options.device_leg.congestion_control;
      !cc.empty() && !proxy::congestion_control_available(cc)) {
    spdlog::warn("congestion control \"{}\" is not available in this kernel; using the default",
                 cc);
    cc.clear();
    config.proxy.options.upstream_leg.congestion_control.clear();
  }
  if (const auto changed = proxy::ensure_tcp_buffer_ceiling(); !changed.empty()) {
    spdlog::info("socket buffers: {}", changed);
  }

  // Signals are taken synchronously by this thread; blocked before any worker thread starts.
  sigset_t signals = block_stop_signals();

  // The process's metrics, one registry for every module (the admin's /metrics renders it).
  common::MetricsRegistry metrics;
  AuditPipeline audit;
  Inspection inspection;
  try {
    audit = make_audit_pipeline(config, metrics);
    inspection = make_inspection(config, *audit.sink);
  } catch (const std::exception& e) {
    spdlog::error("cannot start inspection, nothing applied: {}", e.what());
    return kExitFailure;
  }
  // The tunnel first: the proxy's upstream connections to the core go through it.
  std::unique_ptr<tunnel::TunnelManager> tunnel;
  if (config.tunnel) {
    tunnel = std::make_unique<tunnel::TunnelManager>(*config.tunnel, config.appliance_id,
                                                     *audit.sink, metrics);
    if (const auto error = tunnel->up(); !error.empty()) {
      spdlog::error("cannot bring the tunnel up, nothing else applied: {}", error);
      return kExitFailure;
    }
    tunnel->start_monitor();
  }
  // The store's records go to the syslog destinations from now on (at-least-once, by cursor).
  AuditExport exports(config, *audit.store, *audit.sink, metrics);
  proxy::ProxyOptions options = config.proxy.options;
  options.route =
      upstream_router(*inspection.devices, config.gateway ? config.gateway->nat : std::nullopt);
  options.clinical_traffic_allowed = [store = audit.store.get()] {
    return store->accepting_clinical_traffic();
  };
  proxy::ProxyServer server(std::move(options), inspection.inspectors, metrics);
  try {
    server.start();
  } catch (const std::exception& e) {
    spdlog::error("cannot open the transparent listener on port {}: {}",
                  config.interception.listen_port, e.what());
    return kExitFailure;
  }

  const auto& ic = config.interception;
  {
    std::string error;
    if (const auto changed = nat::disable_bridge_netfilter(error); !changed.empty()) {
      spdlog::warn("bridge netfilter was on, which breaks interception on bridged VLANs: set {}",
                   changed);
    }
    if (!error.empty()) spdlog::error("{}: interception on bridged VLANs may fail", error);
  }
  // With a gateway section wardgate owns forwarding: its ruleset stays in the kernel when wardgate
  // stops (fail closed). Without one, only the interception table, removed again at exit.
  std::unique_ptr<GatewayRuntime> gateway;
  std::unique_ptr<nat::TproxySetup> interception;
  if (config.gateway) {
    gateway = std::make_unique<GatewayRuntime>(config, *audit.sink, metrics);
    if (const auto error = gateway->start(); !error.empty()) {
      spdlog::error("cannot install the gateway's forwarding policy: {}", error);
      server.stop();
      return kExitFailure;
    }
    spdlog::info("{}", gateway->describe());
  } else {
    interception = std::make_unique<nat::TproxySetup>(ic.tproxy_rules(), ic.policy_route());
    if (const auto error = interception->install(); !error.empty()) {
      spdlog::error("cannot install interception: {}", error);
      server.stop();
      return kExitFailure;
    }
    spdlog::warn(
        "no \"gateway\" section: wardgate intercepts its services but does not own "
        "forwarding; other traffic is routed by the host, and nothing is closed while "
        "wardgate is stopped");
  }
  // Events `wardgate bypass` and `wardgate audit note` spooled for this process's store writer,
  // and bypass ends. Looked at four times a second (reading an empty directory costs nothing), so
  // an operator sees a note in the store at once.
  AuditSpoolWatcher spool_watcher(
      store::spool_directory_for(config.audit.store.path), config.appliance_id, *audit.sink,
      AuditSpoolWatcher::Hooks{
          [&gateway] { return gateway && gateway->bypass_active(); },
          [store = audit.store.get()] { return store->flush(std::chrono::seconds(2)); }});
  spool_watcher.start(std::chrono::milliseconds(250));
  spdlog::info("wardgate {} ready: intercepting {}", WARDGATE_VERSION, describe_services(ic));

  const auto metric = [&metrics](const char* name, const std::vector<std::string>& labels = {}) {
    return static_cast<std::uint64_t>(metrics.value(name, labels).value_or(0));
  };
  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("{} received: no new connections; draining {} open sessions for up to {} s",
               strsignal(signal), metric("wardgate_proxy_sessions_active"),
               config.proxy.drain_timeout.count());
  server.stop_accepting();
  if (const auto forced = server.drain(config.proxy.drain_timeout); forced > 0) {
    spdlog::warn("closed {} sessions still open at the drain deadline", forced);
  }
  if (interception) {
    if (const auto error = interception->remove(); !error.empty()) {
      spdlog::error("cleanup incomplete: {}", error);
    }
  }
  if (gateway) {
    gateway->stop();
    spdlog::info(
        "the forwarding policy stays in force: the VLAN is closed while wardgate is "
        "stopped (only `wardgate bypass` opens it)");
  }
  spool_watcher.stop();
  server.stop();
  if (tunnel) tunnel->down();

  for (const auto& [service, t] : inspection.counters->totals()) {
    spdlog::info("totals {}: {} sessions, {} bytes from devices, {} bytes to devices", service,
                 t.sessions, t.bytes_from_device, t.bytes_to_device);
  }
  audit.sink->emit_due(/*all=*/true);  // the flood summaries of windows still open
  audit.store->flush();
  exports.stop();  // cursors saved: what was not carried yet goes out after the next start
  spdlog::info(
      "stopped: {} sessions, {} refused by connection limits, {} refused while the audit store "
      "failed closed, {} upstream failures; audit: {} events recorded, committed through seq {}, "
      "{} lost",
      metric("wardgate_proxy_sessions_total"),
      metric("wardgate_proxy_connections_refused_total", {"connection-limit"}),
      metric("wardgate_proxy_connections_refused_total", {"audit-fail-closed"}),
      metric("wardgate_proxy_upstream_failures_total"),
      metric("wardgate_audit_store_records_recorded_total"),
      metric("wardgate_audit_store_committed_seq"),
      metric("wardgate_audit_store_records_lost_total"));
  return kExitOk;
}

}  // namespace wardgate::app
