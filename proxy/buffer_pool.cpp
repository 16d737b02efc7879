#include "proxy/buffer_pool.h"

namespace wardgate::proxy {

BufferPool::Lease BufferPool::acquire() {
  if (free_.empty()) {
    // Default-initialised (not zeroed): the relay writes before it reads.
    return {this, Chunk(new std::byte[chunk_bytes_])};
  }
  auto data = std::move(free_.back());
  free_.pop_back();
  return {this, std::move(data)};
}

void BufferPool::give_back(Chunk data) {
  if (free_.size() < max_free_) free_.push_back(std::move(data));
}

}  // namespace wardgate::proxy
