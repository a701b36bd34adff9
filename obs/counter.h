// obs/counter.h: a counter with one writer thread and any number of readers
// (the convention of engine/metrics.h, repeated here because obs depends on
// nothing but the standard library). The writer uses a relaxed load+store,
// not a locked read-modify-write, because nobody else writes.
#pragma once

#include <atomic>
#include <cstdint>

namespace ringshard::obs {

struct Counter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

}  // namespace ringshard::obs
