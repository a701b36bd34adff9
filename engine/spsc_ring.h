// engine/spsc_ring.h: a bounded single-producer single-consumer ring of
// moved values: the building block of the cross-shard mailboxes.
//
// Exactly one thread pushes and exactly one thread pops. Capacity is fixed at
// construction (rounded up to a power of two); the storage is allocated once,
// there is no allocation per message. try_push() fails when full: the caller
// decides whether to retry later or keep a backlog (Shard does the latter).
// Head and tail live on separate cache lines, and each side caches the other
// side's index so the common case touches no shared line.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <utility>

namespace ringshard::engine {

template <typename T>
class SpscRing {
 public:
  explicit SpscRing(size_t capacity)
      : mask_(std::bit_ceil(capacity < 2 ? size_t{2} : capacity) - 1),
        slots_(std::make_unique<std::optional<T>[]>(mask_ + 1)) {}
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer side.
  bool try_push(T&& value) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ > mask_) return false;
    }
    slots_[tail & mask_].emplace(std::move(value));
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer side.
  std::optional<T> try_pop() {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return std::nullopt;
    }
    std::optional<T> out(std::move(slots_[head & mask_]));
    slots_[head & mask_].reset();
    head_.store(head + 1, std::memory_order_release);
    return out;
  }

  // Either side; a snapshot.
  bool empty() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }
  size_t capacity() const { return mask_ + 1; }

 private:
  static constexpr size_t kLine = 64;
  const size_t mask_;
  std::unique_ptr<std::optional<T>[]> slots_;
  alignas(kLine) std::atomic<size_t> head_{0};  // consumer-owned
  size_t tail_cache_ = 0;                       // consumer's view of tail_
  alignas(kLine) std::atomic<size_t> tail_{0};  // producer-owned
  size_t head_cache_ = 0;                       // producer's view of head_
};

}  // namespace ringshard::engine
