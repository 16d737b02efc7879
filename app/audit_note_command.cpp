// `wardgate audit note`: an operator's line in the audit trail ("change ticket 4711: PACS
// migration starts"), so that what happened on the network can be read next to why. The note is
// spooled for the running daemon's single store writer (store/event_spool.h) like the bypass
// events; the daemon records it within about a second, or at its next start.
//
// Because the writer records spooled events after everything queued before them, a note that is
// in the store also proves that every event emitted before it was written is durable: tests use
// it as a barrier before reading the store.
#include <iostream>

#include "app/commands.h"
#include "app/config.h"
#include "app/operator_text.h"
#include "store/event_spool.h"

namespace wardgate::app {

int audit_note_command(const std::string& config_path, const std::string& text) {
  const auto config = load_config_or_explain(config_path);
  if (!config) return kExitBadConfig;
  if (const auto problem = check_operator_text(text, kMaxNoteText, "--text"); !problem.empty()) {
    std::cerr << "wardgate audit note: " << problem << "\n";
    return kExitBadConfig;
  }
  audit::Event e = audit::make_event(config->appliance_id, "appliance", "audit", "operator-note",
                                     audit::Outcome::kSuccess, audit::Severity::kNotice);
  e.fields.set("text", text);
  e.fields.set("by", operator_name());
  try {
    store::EventSpool(store::spool_directory_for(config->audit.store.path)).put(e);
  } catch (const std::exception& err) {
    std::cerr << "wardgate audit note: cannot record the note: " << err.what() << "\n";
    return kExitFailure;
  }
  std::cout << "noted; the running wardgate records it in " << config->audit.store.path
            << " within a second (or when it next starts)\n";
  return kExitOk;
}

}  // namespace wardgate::app
