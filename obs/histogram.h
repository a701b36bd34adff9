// obs/histogram.h: a fixed-bucket latency histogram for one shard, and a
// snapshot that sums the histograms of several shards for a scrape.
//
//   // per shard, per route (owned by the shard, e.g. in its route table):
//   obs::Histogram latency;
//   latency.observe_ns(end_ns - start_ns);       // shard thread only
//
//   // at scrape time, on any thread:
//   obs::HistogramSnapshot snap;
//   for (auto& shard : shards) snap.add(shard.latency);
//   writer.histogram(labels, snap);               // see obs/prometheus.h
//
// Buckets: upper bounds in seconds 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
// 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, +Inf (Prometheus `le`, inclusive:
// a value lands in the first bucket whose bound is >= the value). Values are
// nanoseconds, so the sum keeps sub-microsecond precision and overflows only
// after 584 years of summed latency.
//
// Threads: exactly one writer (the owning shard) calls observe_ns(); any
// thread may read (snapshot). Like engine/metrics.h, the writer uses relaxed
// load+store per word, never an atomic read-modify-write: nobody else writes,
// so there is no lock prefix and no cache line ping-pong. A reader may see a
// bucket and the sum from slightly different moments; the count is derived
// from the buckets, so `_count` always equals the `+Inf` bucket.
//
// observe_ns() is a branchless compare-and-add over 14 bounds (vectorised by
// the compiler), one bucket store and one sum store. No allocation anywhere;
// a Histogram is 128 bytes plus the sum, aligned to a cache line.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace ringshard::obs {

inline constexpr size_t kHistogramBounds = 14;              // finite bounds
inline constexpr size_t kHistogramBuckets = kHistogramBounds + 1;  // + Inf

inline constexpr std::array<uint64_t, kHistogramBounds> kHistogramBoundsNs = {
    500'000,        1'000'000,     2'500'000,     5'000'000,     10'000'000,
    25'000'000,     50'000'000,    100'000'000,   250'000'000,   500'000'000,
    1'000'000'000,  2'500'000'000, 5'000'000'000, 10'000'000'000};

// The same bounds in seconds, as written in `le` labels.
inline constexpr std::array<double, kHistogramBounds> kHistogramBoundsSeconds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,  0.5,    1,     2.5,  5,     10};

// Index of the bucket a value falls in: the number of bounds below it.
inline size_t histogram_bucket(uint64_t ns) {
  size_t idx = 0;
  for (size_t i = 0; i < kHistogramBounds; ++i) idx += ns > kHistogramBoundsNs[i];
  return idx;
}

class alignas(64) Histogram {
 public:
  // Writer (owning shard) only.
  void observe_ns(uint64_t ns) {
    auto& b = buckets_[histogram_bucket(ns)];
    b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    sum_ns_.store(sum_ns_.load(std::memory_order_relaxed) + ns, std::memory_order_relaxed);
  }
  void observe(std::chrono::nanoseconds d) {
    observe_ns(d.count() < 0 ? 0 : static_cast<uint64_t>(d.count()));
  }

  // Any thread. Per-bucket (not cumulative) count.
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t sum_ns() const { return sum_ns_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kHistogramBuckets> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

// A plain-data sum of any number of histograms, built on the reading thread.
struct HistogramSnapshot {
  std::array<uint64_t, kHistogramBuckets> buckets{};  // per bucket, not cumulative
  uint64_t sum_ns = 0;

  void add(const Histogram& h) {
    for (size_t i = 0; i < kHistogramBuckets; ++i) buckets[i] += h.bucket(i);
    sum_ns += h.sum_ns();
  }
  void add(const HistogramSnapshot& s) {
    for (size_t i = 0; i < kHistogramBuckets; ++i) buckets[i] += s.buckets[i];
    sum_ns += s.sum_ns;
  }
  // Prometheus `_bucket{le=...}` values: observations <= bound i.
  std::array<uint64_t, kHistogramBuckets> cumulative() const {
    std::array<uint64_t, kHistogramBuckets> out{};
    uint64_t run = 0;
    for (size_t i = 0; i < kHistogramBuckets; ++i) out[i] = run += buckets[i];
    return out;
  }
  uint64_t count() const {
    uint64_t n = 0;
    for (uint64_t b : buckets) n += b;
    return n;
  }
  double sum_seconds() const { return static_cast<double>(sum_ns) / 1e9; }
  // The upper bound (seconds) of the bucket holding quantile q in [0, 1]
  // (+Inf if it is the last bucket, 0 if empty): a coarse p50/p99 for
  // logs and tests; Prometheus computes the interpolated one itself.
  double quantile_upper_bound(double q) const;
};

}  // namespace ringshard::obs
