#pragma once
// The bounded queue and writer thread between the threads that log (proxy workers, relay
// coroutines) and a log destination that may block: stderr when the journal or a pipe reader is
// slow, a file on a stalled disk. push() never waits on the destination: a full queue drops the
// line and counts it; once the writer gets through again it writes one line saying how many were
// dropped and when (made by the DropLine given). Used by the audit.log mirror (LoggingSink) and
// by the operational log (queued_sink()).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace spdlog::sinks {
class sink;
}  // namespace spdlog::sinks

namespace wardgate::audit {

struct DroppedLines {
  std::uint64_t count = 0;
  std::chrono::system_clock::time_point first, last;
};
// The line written once the destination takes lines again after `drops`.
using DropLine = std::function<std::string(const DroppedLines& drops)>;

class LineQueue {
 public:
  // `target` receives each line as an spdlog message whose payload is the line (set its pattern
  // to "%v"); only the writer thread calls it. `capacity` > 0 lines wait at most.
  LineQueue(std::shared_ptr<spdlog::sinks::sink> target, std::size_t capacity, DropLine drop_line);
  // Waits up to kShutdownGrace for the queued lines to be written; if the destination is still
  // blocked, leaves them and the writer behind (it ends with the process) rather than hang.
  ~LineQueue();
  LineQueue(const LineQueue&) = delete;
  LineQueue& operator=(const LineQueue&) = delete;

  static constexpr std::chrono::seconds kShutdownGrace{2};

  // False when the line was dropped (queue full); never blocks on the destination.
  bool push(std::string line);
  // Waits until every line pushed before the call is written (or dropped), or `timeout`.
  bool flush(std::chrono::milliseconds timeout);
  std::uint64_t dropped() const;
  std::uint64_t written() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the writer thread, which may outlive this
  std::thread writer_;
};

// An spdlog sink that formats on the caller's thread (its own pattern, set_pattern as usual) and
// hands the line to a LineQueue writing to `target`: for the operational log, so that no proxy
// thread waits on stderr.
std::shared_ptr<spdlog::sinks::sink> queued_sink(std::shared_ptr<spdlog::sinks::sink> target,
                                                 std::size_t capacity);

// Writes each line to file descriptor 2 with write(2), not through stdio: a writer blocked on a
// full pipe then holds no lock that exit() needs (stdio's stderr lock, which exit takes to flush
// std::cerr), so the process still ends when a LineQueue left its writer behind.
std::shared_ptr<spdlog::sinks::sink> stderr_line_sink();

}  // namespace wardgate::audit
