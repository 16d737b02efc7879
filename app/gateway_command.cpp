// `wardgate gateway remove`: maintenance only. Takes the gateway's forwarding policy out of the
// kernel, after which the host routes the VLAN without wardgate — an uninspected path with no end
// time, so it demands a reason and is recorded as an alert (spooled for the daemon's store writer,
// like the bypass's events).
#include <iostream>

#include "app/bypass_record.h"
#include "app/commands.h"
#include "app/config.h"
#include "nat/gateway_setup.h"
#include "store/event_spool.h"

namespace wardgate::app {

int gateway_remove_command(const std::string& config_path, const std::string& reason) {
  const auto loaded = load_config_or_explain(config_path);
  if (!loaded) return kExitBadConfig;
  const Config& config = *loaded;
  // The same checks as a bypass's reason (it goes into the audit trail verbatim).
  if (const auto problem = check_bypass_request({1, reason, ""}); !problem.empty()) {
    std::cerr << "wardgate gateway remove: " << problem << "\n";
    return kExitBadConfig;
  }
  const auto& ic = config.interception;
  if (const auto error = nat::remove_gateway(ic.nft_table, ic.policy_route()); !error.empty()) {
    std::cerr << "wardgate gateway remove: " << error << "\n";
    return kExitFailure;
  }
  audit::Event e = audit::make_event(config.appliance_id, "appliance", "gateway", "gateway-removed",
                                     audit::Outcome::kWarning, audit::Severity::kAlert);
  e.fields.set("reason", reason);
  e.fields.set("by", operator_name());
  try {
    store::EventSpool(store::spool_directory_for(config.audit.store.path)).put(e);
  } catch (const std::exception& ex) {
    std::cerr << "wardgate gateway remove: removed, but the audit record could not be spooled: "
              << ex.what() << "\n";
    return kExitFailure;
  }
  std::cout << "the gateway's forwarding policy is removed: the host now routes the VLAN WITHOUT "
               "wardgate until `wardgate run` installs it again\n";
  return kExitOk;
}

}  // namespace wardgate::app
