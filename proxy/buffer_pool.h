#pragma once
// Chunk buffers for the relay, taken only while data is in flight: an idle connection holds no
// buffer at all, which is what keeps 5 000 idle connections cheap. One pool per worker thread, so
// no locking; a bounded free list keeps recently used buffers warm without hoarding memory.
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace wardgate::proxy {

// A chunk's size is chosen at run time and its bytes are left uninitialised (the relay writes
// before it reads): neither std::array (fixed size) nor std::vector (zero-fills) says that.
using Chunk = std::unique_ptr<std::byte[]>;  // NOLINT(modernize-avoid-c-arrays): see above

class BufferPool {
 public:
  class Lease {
   public:
    Lease() = default;
    Lease(BufferPool* pool, Chunk data) : pool_(pool), data_(std::move(data)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&& other) noexcept {
      release();
      pool_ = other.pool_;
      data_ = std::move(other.data_);
      return *this;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { release(); }

    explicit operator bool() const { return data_ != nullptr; }
    std::span<std::byte> span() const { return {data_.get(), pool_->chunk_bytes()}; }
    void release() {
      if (data_) pool_->give_back(std::move(data_));
    }

   private:
    BufferPool* pool_ = nullptr;
    Chunk data_;
  };

  BufferPool(std::size_t chunk_bytes, std::size_t max_free)
      : chunk_bytes_(chunk_bytes), max_free_(max_free) {}

  Lease acquire();
  std::size_t chunk_bytes() const { return chunk_bytes_; }
  std::size_t free_count() const { return free_.size(); }

 private:
  void give_back(Chunk data);

  std::size_t chunk_bytes_;
  std::size_t max_free_;
  std::vector<Chunk> free_;
};

}  // namespace wardgate::proxy
