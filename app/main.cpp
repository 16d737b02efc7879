#include <CLI/CLI.hpp>
#include <iostream>

#include "app/commands.h"

namespace {

using namespace wardgate::app;

int dispatch(int argc, char** argv) {
  CLI::App cli{"wardgate: transparent, auditing gateway for hospital imaging networks"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", WARDGATE_VERSION);

  std::string config_path;
  auto* run = cli.add_subcommand("run", "Intercept and relay device connections (needs root)");
  run->add_option("--config,-c", config_path, "configuration file (JSON)")->required();

  auto* config = cli.add_subcommand("config", "Configuration tools");
  config->require_subcommand(1);
  std::string check_path;
  auto* check = config->add_subcommand("check", "Validate a configuration file; applies nothing");
  check->add_option("file", check_path, "configuration file (JSON)")->required();

  auto* audit = cli.add_subcommand("audit", "Read and check the durable audit store");
  audit->require_subcommand(1);
  AuditStoreSelection where;
  const auto add_store_options = [&where](CLI::App* sub) {
    auto* store = sub->add_option("--store", where.store, "audit store (sqlite file)");
    auto* config_file = sub->add_option("--config,-c", where.config,
                                        "configuration file whose audit.store.path to read");
    store->excludes(config_file);
  };
  std::string from;
  std::string to;
  std::string public_key;
  auto* verify = audit->add_subcommand(
      "verify", "Recompute the hash chain and checkpoint signatures; exit 0 intact, 1 not intact");
  add_store_options(verify);
  verify->add_option("--from", from, "first sequence number or UTC time to report on");
  verify->add_option("--to", to, "last sequence number or UTC time to report on");
  verify->add_option("--public-key", public_key,
                     "trusted public key (\"ed25519:...\" or a file holding it)");
  AuditDumpFilter filter;
  // "export" is the older name of the dump, kept as an alias (audit.export[] is the shipping).
  auto* dump = audit->add_subcommand("dump", "Write records as JSON lines or CSV");
  dump->alias("export");
  add_store_options(dump);
  dump->add_option("--format", filter.format, "jsonl (default) or csv");
  dump->add_option("--from", filter.from, "records at or after this UTC time");
  dump->add_option("--to", filter.to, "records at or before this UTC time");
  dump->add_option("--device", filter.device, "device name or address");
  dump->add_option("--category", filter.category, "event category (dicom, hl7, audit, ...)");
  dump->add_option("--action", filter.action, "event action");
  dump->add_option("--patient-hash", filter.patient_hash,
                   "patient_id as recorded (b2:... under keyed-hash)");
  std::size_t tail_count = 10;
  bool follow = false;
  unsigned poll_ms = 500;
  auto* tail = audit->add_subcommand("tail", "The last records; --follow for new ones");
  add_store_options(tail);
  tail->add_option("-n,--lines", tail_count, "how many (at most 100000)");
  tail->add_flag("-f,--follow", follow, "keep printing new records until interrupted");
  tail->add_option("--poll-ms", poll_ms, "how often --follow looks (50 to 60000)")
      ->check(CLI::Range(50u, 60000u));
  auto* public_key_cmd =
      audit->add_subcommand("public-key", "Print the public key of the checkpoint signatures");
  add_store_options(public_key_cmd);
  std::string note_config;
  std::string note_text;
  auto* note = audit->add_subcommand(
      "note", "Add an operator's note to the audit trail (recorded by the running wardgate)");
  note->add_option("--config,-c", note_config, "configuration file (JSON)")->required();
  note->add_option("--text", note_text, "the note (printable, at most 500 bytes)")->required();

  auto* tunnel = cli.add_subcommand("tunnel", "The WireGuard tunnel to the concentrator");
  tunnel->require_subcommand(1);
  std::string tunnel_config;
  const auto add_tunnel_config = [&tunnel_config](CLI::App* sub) {
    sub->add_option("--config,-c", tunnel_config, "configuration file (JSON)")->required();
  };
  auto* tunnel_up = tunnel->add_subcommand(
      "up", "Bring the tunnel up and watch it until SIGTERM (without the proxy; needs root)");
  add_tunnel_config(tunnel_up);
  bool status_json = false;
  auto* tunnel_status =
      tunnel->add_subcommand("status", "Backend, peers, last handshakes, endpoints, bytes");
  add_tunnel_config(tunnel_status);
  tunnel_status->add_flag("--json", status_json, "machine-readable");
  auto* tunnel_genkey = tunnel->add_subcommand("genkey", "Print a new private key (as wg genkey)");
  auto* tunnel_pubkey =
      tunnel->add_subcommand("pubkey", "Private key on stdin, public key out (as wg pubkey)");
  bool peer_block = false;
  bool include_private_key = false;
  auto* tunnel_export = tunnel->add_subcommand(
      "export", "The appliance's side as a wg-quick file, or --peer-block for the concentrator");
  add_tunnel_config(tunnel_export);
  tunnel_export->add_flag("--peer-block", peer_block,
                          "only the [Peer] block to paste into the concentrator's configuration");
  tunnel_export->add_flag("--include-private-key", include_private_key,
                          "write PrivateKey into [Interface] (secret!)");
  std::string import_file;
  std::string import_key_file;
  std::string import_interface = "wg0";
  auto* tunnel_import = tunnel->add_subcommand(
      "import", "A wg-quick file to a tunnel section (printed) and key files (0600)");
  tunnel_import->add_option("file", import_file, "wg-quick configuration")->required();
  tunnel_import->add_option("--private-key-file", import_key_file, "where to write the key")
      ->required();
  tunnel_import->add_option("--interface", import_interface, "interface name (default wg0)");
  bool commit = false;
  auto* tunnel_rotate = tunnel->add_subcommand(
      "rotate-key", "Make a new key and show its peer block; --commit switches the live tunnel");
  add_tunnel_config(tunnel_rotate);
  tunnel_rotate->add_flag("--commit", commit, "switch the running interface to the new key");

  // The audited, timed bypass of inspection (app/bypass_command.cpp).
  std::string bypass_config;
  int bypass_minutes = 0;
  std::string bypass_reason;
  bool bypass_end = false;
  bool bypass_status = false;
  auto* bypass = cli.add_subcommand(
      "bypass", "Forward VLAN traffic WITHOUT inspection for --minutes (audited); --end, --status");
  bypass->add_option("--config,-c", bypass_config, "configuration file (JSON)")->required();
  auto* minutes_opt =
      bypass->add_option("--minutes", bypass_minutes, "how long (1 to 1440); ends by itself");
  auto* reason_opt = bypass->add_option("--reason", bypass_reason, "why (recorded in the audit)");
  auto* end_flag = bypass->add_flag("--end", bypass_end, "end the active bypass now");
  auto* status_flag = bypass->add_flag("--status", bypass_status, "show the active bypass");
  end_flag->excludes(minutes_opt)->excludes(reason_opt)->excludes(status_flag);
  status_flag->excludes(minutes_opt)->excludes(reason_opt);

  std::string gateway_config;
  std::string gateway_reason;
  auto* gateway = cli.add_subcommand("gateway", "The gateway's forwarding policy (maintenance)");
  gateway->require_subcommand(1);
  auto* gateway_remove = gateway->add_subcommand(
      "remove", "Remove the forwarding policy: the host then routes the VLAN WITHOUT wardgate");
  gateway_remove->add_option("--config,-c", gateway_config, "configuration file (JSON)")
      ->required();
  gateway_remove->add_option("--reason", gateway_reason, "why (recorded in the audit)")->required();

  // Everything after "lab" goes to the lab script untouched (it has its own --help).
  auto* lab = cli.add_subcommand("lab", "Network-namespace lab: up | down | status [options]");
  lab->prefix_command();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are successes; any other parse error is a usage error.
    return cli.exit(e) == 0 ? kExitOk : kExitBadConfig;
  }
  if (*run) return run_command(config_path);
  if (*check) return config_check_command(check_path);
  if (*lab) return lab_command(lab->remaining());
  if (*gateway_remove) return gateway_remove_command(gateway_config, gateway_reason);
  if (*bypass) {
    if (bypass_end) return bypass_end_command(bypass_config);
    if (bypass_status) return bypass_status_command(bypass_config);
    if (minutes_opt->count() == 0 || reason_opt->count() == 0) {
      std::cerr << "wardgate bypass: --minutes and --reason are required (or --end, --status)\n";
      return kExitBadConfig;
    }
    return bypass_start_command(bypass_config, bypass_minutes, bypass_reason);
  }
  if (*tunnel_up) return tunnel_up_command(tunnel_config);
  if (*tunnel_status) return tunnel_status_command(tunnel_config, status_json);
  if (*tunnel_genkey) return tunnel_genkey_command();
  if (*tunnel_pubkey) return tunnel_pubkey_command();
  if (*tunnel_export) return tunnel_export_command(tunnel_config, peer_block, include_private_key);
  if (*tunnel_import) return tunnel_import_command(import_file, import_key_file, import_interface);
  if (*tunnel_rotate) return tunnel_rotate_key_command(tunnel_config, commit);
  if (*verify) return audit_verify_command(where, from, to, public_key);
  if (*dump) return audit_dump_command(where, filter);
  if (*tail) return audit_tail_command(where, tail_count, follow, poll_ms);
  if (*public_key_cmd) return audit_public_key_command(where);
  if (*note) return audit_note_command(note_config, note_text);
  return kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  // The commands report their own errors; whatever escapes them (an allocation failing while the
  // command line is built, ...) is reported here rather than ending in std::terminate's abort.
  try {
    return dispatch(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "wardgate: " << e.what() << '\n';
  } catch (...) {
    std::cerr << "wardgate: unexpected error\n";
  }
  return kExitFailure;
}
