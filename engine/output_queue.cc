#include "engine/output_queue.h"

#include <cassert>
#include <cstring>

namespace ringshard::engine {

char* OutputQueue::reserve(BufferPool& pool, size_t want, size_t& got) {
  if (head_ < segments_.size()) {
    Segment& tail = segments_.back();
    if (tail.owned && tail.end < BufferPool::kChunkSize) {
      got = BufferPool::kChunkSize - tail.end;
      if (got > want) got = want;
      return tail.data + tail.end;
    }
  }
  char* chunk = pool.acquire();
  segments_.push_back(Segment{chunk, 0, 0, nullptr, nullptr, true});
  got = want < BufferPool::kChunkSize ? want : BufferPool::kChunkSize;
  return chunk;
}

char* OutputQueue::reserve_contiguous(BufferPool& pool, size_t n) {
  if (n > BufferPool::kChunkSize) return nullptr;
  if (head_ < segments_.size()) {
    Segment& tail = segments_.back();
    if (tail.owned && BufferPool::kChunkSize - tail.end >= n) return tail.data + tail.end;
  }
  char* chunk = pool.acquire();
  segments_.push_back(Segment{chunk, 0, 0, nullptr, nullptr, true});
  return chunk;
}

void OutputQueue::commit(size_t used) {
  assert(!segments_.empty() && segments_.back().owned);
  segments_.back().end += static_cast<uint32_t>(used);
  bytes_ += used;
}

void OutputQueue::commit(BufferPool& pool, size_t used) {
  if (used > 0) {
    commit(used);
    return;
  }
  if (head_ < segments_.size()) {
    const Segment& tail = segments_.back();
    if (tail.owned && tail.begin == tail.end && tail.end == 0) {
      pool.release(tail.data);
      segments_.pop_back();
      if (head_ == segments_.size()) {
        segments_.clear();
        head_ = 0;
      }
    }
  }
}

void OutputQueue::append(BufferPool& pool, std::string_view bytes) {
  while (!bytes.empty()) {
    size_t got = 0;
    char* dst = reserve(pool, bytes.size(), got);
    std::memcpy(dst, bytes.data(), got);
    commit(got);
    bytes.remove_prefix(got);
  }
}

void OutputQueue::append_borrowed(std::string_view bytes, Release release,
                                  void* context) {
  if (bytes.empty()) {
    if (release != nullptr) release(context);
    return;
  }
  // Slices larger than 4 GiB are split so offsets fit in 32 bits.
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const size_t n = left > (1u << 30) ? (1u << 30) : left;
    left -= n;
    segments_.push_back(Segment{const_cast<char*>(p), 0, static_cast<uint32_t>(n),
                                left == 0 ? release : nullptr, context, false});
    bytes_ += n;
    p += n;
  }
}

size_t OutputQueue::gather(iovec* iov, size_t max) const {
  size_t n = 0;
  for (size_t i = head_; i < segments_.size() && n < max; ++i) {
    const Segment& s = segments_[i];
    if (s.end == s.begin) continue;
    iov[n].iov_base = s.data + s.begin;
    iov[n].iov_len = s.end - s.begin;
    ++n;
  }
  return n;
}

void OutputQueue::drop_front(BufferPool& pool) {
  Segment& s = segments_[head_];
  if (s.owned) {
    pool.release(s.data);
  } else if (s.release != nullptr) {
    s.release(s.context);
  }
  ++head_;
  if (head_ == segments_.size()) {
    segments_.clear();  // keeps capacity: no allocation on the next request
    head_ = 0;
  }
}

void OutputQueue::consume(BufferPool& pool, size_t n) {
  assert(n <= bytes_);
  bytes_ -= n;
  while (n > 0) {
    Segment& s = segments_[head_];
    const size_t avail = s.end - s.begin;
    if (n < avail) {
      s.begin += static_cast<uint32_t>(n);
      return;
    }
    n -= avail;
    s.begin = s.end;
    // A fully sent owned tail chunk with room left could take more bytes,
    // but returning it keeps idle connections chunk-free.
    drop_front(pool);
  }
  // Drop emptied segments at the front (empty borrowed slices).
  while (head_ < segments_.size() && segments_[head_].begin == segments_[head_].end) {
    drop_front(pool);
  }
  if (head_ > 32 && head_ * 2 > segments_.size()) {
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<long>(head_));
    head_ = 0;
  }
}

void OutputQueue::clear(BufferPool& pool) {
  while (head_ < segments_.size()) drop_front(pool);
  bytes_ = 0;
}

}  // namespace ringshard::engine
