// `wardgate lab` hands over to the lab script (lab/wardgate-lab), which builds the network-
// namespace topology with iproute2: the same script the demo, the tests and the benchmarks use.
#include <unistd.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "app/commands.h"

namespace wardgate::app {
namespace {

std::string find_lab_script() {
  if (const char* env = std::getenv("WARDGATE_LAB_SCRIPT")) return env;
  for (const char* candidate :
       {WARDGATE_SOURCE_DIR "/lab/wardgate-lab", "/usr/share/wardgate/lab/wardgate-lab"}) {
    if (std::filesystem::exists(candidate)) return candidate;
  }
  return {};
}

}  // namespace

int lab_command(const std::vector<std::string>& args) {
  const std::string script = find_lab_script();
  if (script.empty()) {
    std::cerr << "wardgate lab: the lab script was not found (set WARDGATE_LAB_SCRIPT)\n";
    return kExitFailure;
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(script.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(script.c_str(), argv.data());
  std::cerr << "wardgate lab: cannot run " << script << ": " << std::strerror(errno) << "\n";
  return kExitFailure;
}

}  // namespace wardgate::app
