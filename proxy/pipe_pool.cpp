#include "proxy/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>

namespace wardgate::proxy {
namespace {

void close_pipe(const PipePool::Pipe& p) {
  ::close(p.read_fd);
  ::close(p.write_fd);
}

}  // namespace

PipePool::~PipePool() {
  for (const Pipe& p : free_) close_pipe(p);
}

PipePool::Lease PipePool::acquire() {
  if (!free_.empty()) {
    const Pipe p = free_.back();
    free_.pop_back();
    return {this, p};
  }
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_NONBLOCK | O_CLOEXEC) != 0) return {};
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
    close_pipe(pipe);
  }
}

}  // namespace wardgate::proxy
