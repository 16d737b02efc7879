#pragma once
// What every long-running subcommand (`run`, `tunnel up`) sets up for its process: the
// operational log (spdlog to stderr, i.e. the journal, through a bounded queue and a writer
// thread; audit events go to the audit store), and
// SIGINT/SIGTERM blocked so the main thread can take them with sigwait.
#include <csignal>
#include <string>

namespace wardgate::app {

void setup_logging(const std::string& level);

// Blocks SIGINT and SIGTERM in the calling thread (and every thread it starts afterwards, so
// call it before any) and returns the set for sigwait.
sigset_t block_stop_signals();

}  // namespace wardgate::app
