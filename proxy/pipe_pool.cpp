#include "proxy/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>

namespace wardgate::proxy {
namespace {

void close_pipe(const PipePool::Pipe& p, std::atomic<std::size_t>* pipes_left) {
  ::close(p.read_fd);
  ::close(p.write_fd);
  if (pipes_left != nullptr) pipes_left->fetch_add(1, std::memory_order_relaxed);
}

// Takes one pipe from the shared allowance; false when none is left.
bool take_one(std::atomic<std::size_t>* pipes_left) {
  if (pipes_left == nullptr) return true;
  std::size_t left = pipes_left->load(std::memory_order_relaxed);
  do {
    if (left == 0) return false;
  } while (!pipes_left->compare_exchange_weak(left, left - 1, std::memory_order_relaxed));
  return true;
}

}  // namespace

PipePool::~PipePool() {
  for (const Pipe& p : free_) close_pipe(p, pipes_left_);
}

PipePool::Lease PipePool::acquire() {
  if (!free_.empty()) {
    const Pipe p = free_.back();
    free_.pop_back();
    return {this, p};
  }
  if (!take_one(pipes_left_)) return {};
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_NONBLOCK | O_CLOEXEC) != 0) {
    if (pipes_left_ != nullptr) pipes_left_->fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  Pipe p{fds[0], fds[1]};
  // The default 64 KiB pipe would cost a syscall pair per 64 KiB; if the kernel refuses the size
  // the pipe still works, only with more rounds.
  const int got = ::fcntl(p.write_fd, F_SETPIPE_SZ, static_cast<int>(capacity_));
  if (got > 0) capacity_ = static_cast<std::size_t>(got);
  return {this, p};
}

void PipePool::give_back(Pipe pipe, bool empty) {
  if (empty && free_.size() < max_free_) {
    free_.push_back(pipe);
  } else {
    close_pipe(pipe, pipes_left_);
  }
}

}  // namespace wardgate::proxy
