// engine/output_queue.h: a connection's queue of bytes waiting to be sent.
//
// The write strategy, in one place: protocol code appends while it handles a
// batch of completions; nothing is sent yet (the connection is corked). At
// the end of the loop turn the shard gathers the queue into one iovec array
// and issues one sendmsg per connection, with at most one send in flight.
// A short send consumes what went out and the rest waits for the next one.
//
// Two kinds of segment: bytes copied into 16 KiB chunks borrowed from the
// shard's BufferPool (small writes coalesce into one chunk), and borrowed
// slices (a static string, a large body) with an optional release callback
// that runs once the slice has been sent or dropped. An empty queue holds no
// chunk, so idle connections cost no buffer memory.
//
// Thread: owned by its connection's shard.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/buffer_pool.h"

namespace ringshard::engine {

class OutputQueue {
 public:
  using Release = void (*)(void* context);

  OutputQueue() = default;
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;

  // Copies `bytes` into pooled chunks.
  void append(BufferPool& pool, std::string_view bytes);
  // Hands out up to `want` writable bytes at the tail (at least 1 if want>0)
  // for the caller to fill; commit() then says how many it used. Lets
  // serializers write in place instead of through a temporary.
  char* reserve(BufferPool& pool, size_t want, size_t& got);
  void commit(size_t used);
  // Same, and gives back a tail chunk that ends up empty (reserve() then
  // nothing written), so an idle connection never keeps a chunk.
  void commit(BufferPool& pool, size_t used);
  // `n` contiguous writable bytes (n <= BufferPool::kChunkSize), starting
  // a new chunk when the tail has less room; null if n is too large.
  char* reserve_contiguous(BufferPool& pool, size_t n);
  // Queues a slice that stays owned by the caller until `release(context)`.
  void append_borrowed(std::string_view bytes, Release release, void* context);

  size_t size() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }

  // Fills up to `max` iovecs from the front; returns how many.
  size_t gather(iovec* iov, size_t max) const;
  // Drops `n` sent bytes from the front, returning emptied chunks.
  void consume(BufferPool& pool, size_t n);
  // Drops everything (connection closing).
  void clear(BufferPool& pool);

 private:
  struct Segment {
    char* data;         // chunk base (owned) or slice start (borrowed)
    uint32_t begin;     // first unsent byte, offset from data
    uint32_t end;       // one past the last byte, offset from data
    Release release;    // borrowed only; may be null
    void* context;
    bool owned;
  };
  void drop_front(BufferPool& pool);

  std::vector<Segment> segments_;
  size_t head_ = 0;   // first live segment
  size_t bytes_ = 0;  // unsent bytes over all live segments
};

}  // namespace ringshard::engine
