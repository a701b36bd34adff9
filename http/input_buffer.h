// http/input_buffer.h: a connection's carry-over input: bytes of a request
// that spans reads, or pipelined requests waiting for an earlier response.
//
// Starts in a 16 KiB chunk from the shard's BufferPool (so the common case
// allocates nothing) and moves to the heap only for larger bodies. release()
// gives everything back; an empty buffer holds no memory.
//
// Thread: the owning shard's.
#pragma once

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "engine/buffer_pool.h"

namespace ringshard::http {

class InputBuffer {
 public:
  InputBuffer() = default;
  InputBuffer(const InputBuffer&) = delete;
  InputBuffer& operator=(const InputBuffer&) = delete;

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  std::string_view view() const { return {data_, size_}; }

  void append(engine::BufferPool& pool, std::string_view bytes) {
    if (bytes.empty()) return;
    if (data_ == nullptr) {
      data_ = pool.acquire();
      cap_ = engine::BufferPool::kChunkSize;
      pooled_ = true;
    }
    if (size_ + bytes.size() > cap_) grow(pool, size_ + bytes.size());
    std::memcpy(data_ + size_, bytes.data(), bytes.size());
    size_ += bytes.size();
  }

  // Drops the first `n` bytes; releases the memory once empty.
  void consume(engine::BufferPool& pool, size_t n) {
    if (n >= size_) {
      release(pool);
      return;
    }
    std::memmove(data_, data_ + n, size_ - n);
    size_ -= n;
  }

  void release(engine::BufferPool& pool) {
    if (data_ != nullptr) {
      if (pooled_) {
        pool.release(data_);
      } else {
        std::free(data_);
      }
    }
    data_ = nullptr;
    size_ = cap_ = 0;
    pooled_ = false;
  }

 private:
  void grow(engine::BufferPool& pool, size_t need) {
    size_t cap = cap_ * 2;
    while (cap < need) cap *= 2;
    char* p = static_cast<char*>(std::malloc(cap));
    if (p == nullptr) std::abort();
    std::memcpy(p, data_, size_);
    if (pooled_) {
      pool.release(data_);
    } else {
      std::free(data_);
    }
    data_ = p;
    cap_ = cap;
    pooled_ = false;
  }

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t cap_ = 0;
  bool pooled_ = false;
};

}  // namespace ringshard::http
