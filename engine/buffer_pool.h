// engine/buffer_pool.h: per-shard pool of fixed-size byte chunks.
//
// Connections borrow chunks for what must outlive a receive buffer (queued
// output, a request head split across reads) and give them back as soon as
// they are empty, so an idle connection holds no buffer at all: that is what
// keeps memory per idle connection small. The pool caches up to
// `max_cached` free chunks and frees the rest.
//
// Thread: owned by one shard; not thread-safe. Allocates only when its cache
// is empty.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <vector>

namespace ringshard::engine {

class BufferPool {
 public:
  static constexpr size_t kChunkSize = 16 * 1024;

  explicit BufferPool(size_t max_cached = 256) : max_cached_(max_cached) {
    free_.reserve(max_cached);
  }
  ~BufferPool() {
    for (char* c : free_) std::free(c);
  }
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A chunk of kChunkSize bytes; never null (aborts on out-of-memory, as the
  // rest of the process would).
  char* acquire() {
    ++in_use_;
    if (!free_.empty()) {
      char* c = free_.back();
      free_.pop_back();
      return c;
    }
    void* p = std::malloc(kChunkSize);
    if (p == nullptr) std::abort();
    return static_cast<char*>(p);
  }

  void release(char* chunk) {
    --in_use_;
    if (free_.size() < max_cached_) {
      free_.push_back(chunk);
    } else {
      std::free(chunk);
    }
  }

  size_t in_use() const { return in_use_; }
  size_t cached() const { return free_.size(); }

 private:
  size_t max_cached_;
  size_t in_use_ = 0;
  std::vector<char*> free_;
};

}  // namespace ringshard::engine
