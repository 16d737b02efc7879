// `wardgate lab` hands over to the lab script (lab/wardgate-lab), which builds the network-
// namespace topology with iproute2: the same script the demo, the tests and the benchmarks use.
// The script is found at run time, relative to the executable, so the binary carries no path of
// the tree it was built in.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "app/commands.h"

namespace wardgate::app {
namespace {

namespace fs = std::filesystem;

// Where the script may be, in order: $WARDGATE_LAB_SCRIPT alone when set; else next to the
// executable (the build tree gets a copy there, build/<preset>/lab/), then the installed
// libexec directory beside the executable's bin/ (/usr/bin -> /usr/libexec/wardgate).
std::vector<fs::path> lab_script_candidates() {
  if (const char* env = std::getenv("WARDGATE_LAB_SCRIPT")) return {env};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const fs::path dir = exe.parent_path();
  return {dir / "lab" / "wardgate-lab",
          dir.parent_path() / "libexec" / "wardgate" / "wardgate-lab"};
}

}  // namespace

int lab_command(const std::vector<std::string>& args) {
  const auto candidates = lab_script_candidates();
  std::string script;
  for (const auto& candidate : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) {
      script = candidate.string();
      break;
    }
  }
  if (script.empty()) {
    std::cerr << "wardgate lab: the lab script was not found; looked at:";
    for (const auto& candidate : candidates) std::cerr << " " << candidate.string();
    if (candidates.empty()) std::cerr << " (cannot tell where this executable is)";
    std::cerr << " (set WARDGATE_LAB_SCRIPT to its path)\n";
    return kExitFailure;
  }
  std::vector<char*> argv;
  argv.push_back(script.data());
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(script.c_str(), argv.data());
  std::cerr << "wardgate lab: cannot run " << script << ": " << std::strerror(errno) << "\n";
  return kExitFailure;
}

}  // namespace wardgate::app
