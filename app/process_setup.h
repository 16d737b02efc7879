#pragma once
// What every long-running subcommand (`run`, `tunnel up`) sets up for its process: the
// operational log (spdlog to stderr, i.e. the journal, through a bounded queue and a writer
// thread; audit events go to the audit store), and
// SIGINT/SIGTERM blocked so the main thread can take them with sigwait.
#include <csignal>
#include <cstdint>
#include <string>

namespace wardgate::app {

void setup_logging(const std::string& level);

// Blocks SIGINT and SIGTERM in the calling thread (and every thread it starts afterwards, so
// call it before any) and returns the set for sigwait.
sigset_t block_stop_signals();

// Raises RLIMIT_NOFILE's soft limit to the hard one and checks that it covers `needed`
// descriptors. Returns an empty string, or, when the hard limit is too low, why wardgate must not
// start, naming both numbers and what (`what`) needs them.
std::string ensure_descriptor_limit(std::uint64_t needed, const std::string& what);
// The soft RLIMIT_NOFILE now (UINT64_MAX when unlimited or unknown).
std::uint64_t descriptor_limit();

}  // namespace wardgate::app
