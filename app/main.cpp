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

  // Everything after "lab" goes to the lab script untouched (it has its own --help).
  auto* lab = cli.add_subcommand("lab", "Network-namespace lab: up | down | status [options]");
  lab->prefix_command();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  if (*run) return run_command(config_path);
  if (*check) return config_check_command(check_path);
  if (*lab) return lab_command(lab->remaining());
  return kExitFailure;
}
