#pragma once
// The subcommands of the `wardgate` executable; each returns the process exit status.
#include <cstddef>
#include <string>
#include <vector>

namespace wardgate::app {

// Exit statuses shared by the subcommands.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitBadConfig = 2;

int run_command(const std::string& config_path);
int config_check_command(const std::string& config_path);
int lab_command(const std::vector<std::string>& args);

// `wardgate bypass ...` (app/bypass_command.cpp): start (audited, timed), end, status.
int bypass_start_command(const std::string& config_path, int minutes, const std::string& reason);
int bypass_end_command(const std::string& config_path);
int bypass_status_command(const std::string& config_path);
// `wardgate gateway remove` (app/gateway_command.cpp): maintenance, audited.
int gateway_remove_command(const std::string& config_path, const std::string& reason);

// `wardgate tunnel ...` (app/tunnel_command.cpp).
int tunnel_up_command(const std::string& config_path);
int tunnel_status_command(const std::string& config_path, bool json);
int tunnel_genkey_command();
int tunnel_pubkey_command();
int tunnel_export_command(const std::string& config_path, bool peer_block,
                          bool include_private_key);
int tunnel_import_command(const std::string& file, const std::string& private_key_file,
                          const std::string& interface);
int tunnel_rotate_key_command(const std::string& config_path, bool commit);

// Which audit store the `audit` subcommands read: --store, else audit.store.path of --config.
struct AuditStoreSelection {
  std::string store;
  std::string config;
};

// `wardgate audit dump` (alias `audit export`): which records to write, and how.
struct AuditDumpFilter {
  std::string format = "jsonl";  // or "csv"
  std::string from;              // UTC times (audit::parse_time); empty: unbounded
  std::string to;
  std::string device;
  std::string category;
  std::string action;
  std::string patient_hash;  // matched against fields.patient_id as stored
};

// Exit status: 0 intact, 1 not intact, 2 usage, configuration or unreadable store.
int audit_verify_command(const AuditStoreSelection& where, const std::string& from,
                         const std::string& to, const std::string& public_key);
int audit_dump_command(const AuditStoreSelection& where, const AuditDumpFilter& filter);
int audit_tail_command(const AuditStoreSelection& where, std::size_t count, bool follow,
                       unsigned poll_ms);
int audit_public_key_command(const AuditStoreSelection& where);
// `wardgate audit note --text T` (app/audit_note_command.cpp): an operator's note, spooled for
// the daemon's store writer.
constexpr std::size_t kMaxNoteText = 500;
int audit_note_command(const std::string& config_path, const std::string& text);

}  // namespace wardgate::app
