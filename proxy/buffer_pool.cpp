#include "proxy/buffer_pool.h"

namespace wardgate::proxy {

BufferPool::Lease BufferPool::acquire() {
  if (free_.empty()) {
    // for_overwrite: the relay writes before it reads, zeroing would only cost time.
    return {this, std::make_unique_for_overwrite<std::byte[]>(chunk_bytes_)};
  }
  auto data = std::move(free_.back());
  free_.pop_back();
  return {this, std::move(data)};
}

void BufferPool::give_back(std::unique_ptr<std::byte[]> data) {
  if (free_.size() < max_free_) free_.push_back(std::move(data));
}

}  // namespace wardgate::proxy
