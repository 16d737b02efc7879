#include "audit/logging_sink_queue.h"

#include <pthread.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <unistd.h>
#include <csignal>

#include <cerrno>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "audit/event.h"

namespace wardgate::audit {

struct LineQueue::State {
  std::shared_ptr<spdlog::sinks::sink> target;
  std::size_t capacity;
  DropLine drop_line;

  std::mutex mutex;
  std::condition_variable ready;  // lines queued, or stop
  std::condition_variable idle;   // a batch written, or the writer ended
  std::deque<std::string> lines;
  std::uint64_t handed = 0;   // lines pushed, written or dropped
  std::uint64_t settled = 0;  // lines written or dropped
  std::uint64_t written = 0;
  std::uint64_t dropped = 0;
  DroppedLines unreported;  // drops not yet announced by a line
  bool stopping = false;
  bool finished = false;

  // Writer thread: a destination that throws (a file on a failed disk) loses the line, counted.
  bool write(const std::string& line) {
    try {
      target->log(spdlog::details::log_msg(spdlog::string_view_t{}, spdlog::level::info,
                                           spdlog::string_view_t(line.data(), line.size())));
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }

  void flush_target() {
    try {
      target->flush();
    } catch (const std::exception&) {
      // The lines were handed to the destination; its flush failure is its own to report.
    }
  }

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      ready.wait(lock, [this] { return stopping || !lines.empty(); });
      if (lines.empty()) break;
      std::deque<std::string> batch;
      batch.swap(lines);
      lock.unlock();
      std::uint64_t ok = 0;
      for (const auto& line : batch) ok += write(line) ? 1 : 0;
      flush_target();
      lock.lock();
      written += ok;
      dropped += batch.size() - ok;
      settled += batch.size();
      if (unreported.count > 0) {
        const DroppedLines drops = unreported;
        unreported = DroppedLines{};
        lock.unlock();
        write(drop_line(drops));
        flush_target();
        lock.lock();
      }
      idle.notify_all();
    }
    finished = true;
    idle.notify_all();
  }
};

LineQueue::LineQueue(std::shared_ptr<spdlog::sinks::sink> target, std::size_t capacity,
                     DropLine drop_line)
    : state_(std::make_shared<State>()) {
  state_->target = std::move(target);
  state_->capacity = capacity == 0 ? 1 : capacity;
  state_->drop_line = std::move(drop_line);
  writer_ = std::thread([state = state_] {
    pthread_setname_np(pthread_self(), "log-writer");
    // May start before the process blocks SIGTERM for its sigwait (setup_logging comes first):
    // signals are never this thread's to take.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    state->run();
  });
}

LineQueue::~LineQueue() {
  std::unique_lock lock(state_->mutex);
  state_->stopping = true;
  state_->ready.notify_all();
  const bool ended =
      state_->idle.wait_for(lock, kShutdownGrace, [this] { return state_->finished; });
  lock.unlock();
  if (ended) {
    writer_.join();
  } else {
    writer_.detach();  // blocked in a write: it holds its own reference to the state
  }
}

bool LineQueue::push(std::string line) {
  {
    const std::lock_guard lock(state_->mutex);
    ++state_->handed;
    if (state_->lines.size() >= state_->capacity || state_->stopping) {
      ++state_->settled;
      ++state_->dropped;
      const auto now = std::chrono::system_clock::now();
      if (state_->unreported.count++ == 0) state_->unreported.first = now;
      state_->unreported.last = now;
      return false;
    }
    state_->lines.push_back(std::move(line));
  }
  state_->ready.notify_one();
  return true;
}

bool LineQueue::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  const std::uint64_t target = state_->handed;
  return state_->idle.wait_for(
      lock, timeout, [&] { return state_->settled >= target && state_->unreported.count == 0; });
}

std::uint64_t LineQueue::dropped() const {
  const std::lock_guard lock(state_->mutex);
  return state_->dropped;
}

std::uint64_t LineQueue::written() const {
  const std::lock_guard lock(state_->mutex);
  return state_->written;
}

namespace {

class QueuedSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  QueuedSink(std::shared_ptr<spdlog::sinks::sink> target, std::size_t capacity)
      : queue_(std::move(target), capacity, [](const DroppedLines& d) {
          return format_time(std::chrono::system_clock::now()) + " warning " +
                 std::to_string(d.count) + " log lines dropped between " + format_time(d.first) +
                 " and " + format_time(d.last) + ": the log destination was not keeping up";
        }) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string line(formatted.data(), formatted.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    queue_.push(std::move(line));
  }
  // The writer flushes after every batch; waiting here would block the caller on the destination.
  void flush_() override {}

 private:
  LineQueue queue_;
};

class StderrLineSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    // One lock for every sink on fd 2 (the mirror's and the operational log's writers), so
    // lines longer than PIPE_BUF do not interleave.
    static std::mutex fd2;
    const std::lock_guard lock(fd2);
    const char* p = formatted.data();
    std::size_t left = formatted.size();
    while (left > 0) {
      const ssize_t n = ::write(STDERR_FILENO, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // stderr closed or failing: nothing else to tell it to
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  void flush_() override {}
};

}  // namespace

std::shared_ptr<spdlog::sinks::sink> stderr_line_sink() {
  return std::make_shared<StderrLineSink>();
}

std::shared_ptr<spdlog::sinks::sink> queued_sink(std::shared_ptr<spdlog::sinks::sink> target,
                                                 std::size_t capacity) {
  target->set_pattern("%v");
  return std::make_shared<QueuedSink>(std::move(target), capacity);
}

}  // namespace wardgate::audit
