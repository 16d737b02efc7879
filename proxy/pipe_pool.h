#pragma once
// Kernel pipes for the zero-copy relay path: bytes no inspector needs to see move socket -> pipe
// -> socket with splice(2) and never enter wardgate's memory. Like chunk buffers, a pipe is held
// only while data is in flight and goes back to the worker's pool only when it is empty.
#include <atomic>
#include <cstddef>
#include <vector>

namespace wardgate::proxy {

class PipePool {
 public:
  struct Pipe {
    int read_fd = -1;
    int write_fd = -1;
  };

  class Lease {
   public:
    Lease() = default;
    Lease(PipePool* pool, Pipe pipe) : pool_(pool), pipe_(pipe) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), pipe_(other.pipe_) {
      other.pool_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->give_back(pipe_, empty_);
    }

    explicit operator bool() const { return pool_ != nullptr; }
    int read_fd() const { return pipe_.read_fd; }
    int write_fd() const { return pipe_.write_fd; }
    // A pipe that may still hold bytes (the relay was cut mid-transfer) must not be reused.
    void mark_dirty() { empty_ = false; }

   private:
    PipePool* pool_ = nullptr;
    Pipe pipe_;
    bool empty_ = true;
  };

  // `pipes_left`: pipes every pool of the process may still create, shared by them (the
  // descriptors left once each session's sockets are counted); null: no limit.
  PipePool(std::size_t capacity_bytes, std::size_t max_free,
           std::atomic<std::size_t>* pipes_left = nullptr)
      : capacity_(capacity_bytes), max_free_(max_free), pipes_left_(pipes_left) {}
  ~PipePool();
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  // An empty pipe, or an empty lease if none can be made (out of descriptors, or no pipe left to
  // create): the relay then falls back to copying.
  Lease acquire();
  // Bytes a pipe holds (what one splice round moves at most).
  std::size_t capacity() const { return capacity_; }

 private:
  void give_back(Pipe pipe, bool empty);

  std::size_t capacity_;
  std::size_t max_free_;
  std::atomic<std::size_t>* pipes_left_;
  std::vector<Pipe> free_;
};

}  // namespace wardgate::proxy
