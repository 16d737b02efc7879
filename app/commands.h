#pragma once
// The subcommands of the `wardgate` executable; each returns the process exit status.
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

}  // namespace wardgate::app
