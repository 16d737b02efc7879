// `wardgate bypass`: the one, explicit way to forward VLAN traffic without inspection, for a
// bounded time. The kernel holds the bypass (an element with a timeout in the gateway table's
// `bypass` set, one per VLAN interface), so it ends by itself even if no wardgate is alive; its
// start and end are audit events, spooled for the daemon's store writer
// (app/audit_spool_watcher.h).
#include <iostream>

#include "app/bypass_record.h"
#include "app/commands.h"
#include "app/config.h"
#include "nat/gateway_setup.h"
#include "store/event_spool.h"

namespace wardgate::app {
namespace {

std::optional<Config> gateway_config(const std::string& path, int& status) {
  auto c = load_config_or_explain(path);
  if (c && !c->gateway) {
    std::cerr << "wardgate: " << path
              << " has no \"gateway\" section: wardgate does not control forwarding there, so "
                 "there is nothing to bypass\n";
    c.reset();
  }
  if (!c) status = kExitBadConfig;
  return c;
}

// nft's "No such file or directory" for a missing table or set, said so an operator can act.
std::string explain(const std::string& error, const std::string& table) {
  if (error.find("No such file or directory") == std::string::npos) return error;
  return "the gateway's forwarding policy (table inet " + table +
         ") is not installed in this network namespace: run this where `wardgate run` runs, "
         "after it started once";
}

std::filesystem::path spool_of(const Config& c) {
  return store::spool_directory_for(c.audit.store.path);
}

}  // namespace

int bypass_start_command(const std::string& config_path, int minutes, const std::string& reason) {
  int status = kExitOk;
  const auto config = gateway_config(config_path, status);
  if (!config) return status;
  const BypassRequest request{minutes, reason, operator_name()};
  if (const auto problem = check_bypass_request(request); !problem.empty()) {
    std::cerr << "wardgate bypass: " << problem << "\n";
    return kExitBadConfig;
  }
  const auto now = std::chrono::system_clock::now();
  const ActiveBypass bypass{now, now + std::chrono::minutes(minutes), reason, request.by};
  const auto& table = config->interception.nft_table;
  const auto& interfaces = config->interception.interfaces;
  // Kernel first, then the marker, then the event: the daemon reads "marker without kernel
  // element" as an ended bypass, so the marker never exists before the element does.
  for (const auto& interface : interfaces) {
    if (const auto error = nat::add_bypass(table, interface, minutes, reason); !error.empty()) {
      nat::end_bypass(table);
      std::cerr << "wardgate bypass: " << explain(error, table) << "\n";
      return kExitFailure;
    }
  }
  try {
    write_active_bypass(spool_of(*config), bypass);
    store::EventSpool(spool_of(*config))
        .put(bypass_started_event(config->appliance_id, bypass, interfaces));
  } catch (const std::exception& e) {
    // Not audited: not allowed. Take the bypass back out.
    nat::end_bypass(table);
    clear_active_bypass(spool_of(*config));
    std::cerr << "wardgate bypass: cannot record the bypass, so it was not started: " << e.what()
              << "\n";
    return kExitFailure;
  }
  std::cout << "bypass active until " << audit::format_time(bypass.until)
            << ": traffic of the VLAN is forwarded WITHOUT inspection (reason: " << reason << ")\n";
  return kExitOk;
}

int bypass_end_command(const std::string& config_path) {
  int status = kExitOk;
  const auto config = gateway_config(config_path, status);
  if (!config) return status;
  const auto spool = spool_of(*config);
  const auto active = read_active_bypass(spool);
  // The marker goes first, so the daemon does not take the removal for an expiry.
  clear_active_bypass(spool);
  if (const auto error = nat::end_bypass(config->interception.nft_table); !error.empty()) {
    if (active) write_active_bypass(spool, *active);
    std::cerr << "wardgate bypass: " << explain(error, config->interception.nft_table) << "\n";
    return kExitFailure;
  }
  if (!active) {
    std::cout << "no bypass was active\n";
    return kExitOk;
  }
  store::EventSpool(spool).put(bypass_ended_event(config->appliance_id, *active,
                                                  std::chrono::system_clock::now(),
                                                  "ended-by-operator", operator_name()));
  std::cout << "bypass ended: traffic is inspected again\n";
  return kExitOk;
}

int bypass_status_command(const std::string& config_path) {
  int status = kExitOk;
  const auto config = gateway_config(config_path, status);
  if (!config) return status;
  const auto listing = nat::list_bypass(config->interception.nft_table);
  if (!listing.error.empty()) {
    std::cerr << "wardgate bypass: " << explain(listing.error, config->interception.nft_table)
              << "\n";
    return kExitFailure;
  }
  const auto& entries = listing.entries;
  if (entries.empty()) {
    std::cout << "no bypass active: every flow is inspected or denied\n";
    return kExitOk;
  }
  for (const auto& e : entries) {
    std::cout << "bypass on " << e.interface << ": " << e.expires_in_seconds
              << " s left (reason: " << e.reason << ")\n";
  }
  return kExitOk;
}

}  // namespace wardgate::app
