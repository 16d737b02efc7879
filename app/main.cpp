#include <CLI/CLI.hpp>
#include <iostream>

#include "app/commands.h"

int main(int argc, char** argv) {
  using namespace wardgate::app;
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
  AuditExportFilter filter;
  auto* exporter = audit->add_subcommand("export", "Write records as JSON lines or CSV");
  add_store_options(exporter);
  exporter->add_option("--format", filter.format, "jsonl (default) or csv");
  exporter->add_option("--from", filter.from, "records at or after this UTC time");
  exporter->add_option("--to", filter.to, "records at or before this UTC time");
  exporter->add_option("--device", filter.device, "device name or address");
  exporter->add_option("--category", filter.category, "event category (dicom, hl7, audit, ...)");
  exporter->add_option("--action", filter.action, "event action");
  exporter->add_option("--patient-hash", filter.patient_hash,
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
  if (*verify) return audit_verify_command(where, from, to, public_key);
  if (*exporter) return audit_export_command(where, filter);
  if (*tail) return audit_tail_command(where, tail_count, follow, poll_ms);
  if (*public_key_cmd) return audit_public_key_command(where);
  return kExitFailure;
}
