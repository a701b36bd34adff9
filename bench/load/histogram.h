// bench/load/histogram.h: a log-linear latency histogram (HDR-style).
//
// Values (nanoseconds) below 128 are exact; above, each power of two is cut
// into 64 buckets, so any recorded value is reported within 1.6%. Fixed
// size (about 30 KiB), no allocation after construction, mergeable: one per
// load-generator shard, merged at the end.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace ringshard::load {

class Histogram {
 public:
  static constexpr int kSubBits = 6;                        // 64 buckets per octave
  static constexpr uint64_t kLinear = uint64_t{2} << kSubBits;  // 128 exact values
  static constexpr size_t kBuckets = kLinear + (64 - kSubBits - 1) * (size_t{1} << kSubBits);

  void record(uint64_t v) {
    ++counts_[index(v)];
    ++count_;
    sum_ += v;
    max_ = std::max(max_, v);
    min_ = std::min(min_, v);
  }

  void merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    max_ = std::max(max_, o.max_);
    min_ = std::min(min_, o.min_);
  }

  uint64_t count() const { return count_; }
  uint64_t max() const { return count_ ? max_ : 0; }
  uint64_t min() const { return count_ ? min_ : 0; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }

  // The value at quantile q (0..1): the middle of the bucket holding it,
  // clamped to the largest value recorded.
  uint64_t percentile(double q) const {
    if (count_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.5);
    if (rank < 1) rank = 1;
    if (rank > count_) rank = count_;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(max_, middle(i));
    }
    return max_;
  }

  static size_t index(uint64_t v) {
    if (v < kLinear) return static_cast<size_t>(v);
    const int msb = 63 - std::countl_zero(v);
    const int shift = msb - kSubBits;  // >= 1
    const uint64_t sub = (v >> shift) - (uint64_t{1} << kSubBits);
    return static_cast<size_t>(kLinear + static_cast<uint64_t>(shift - 1) * (uint64_t{1} << kSubBits) + sub);
  }
  static uint64_t lower(size_t i) {
    if (i < kLinear) return i;
    const size_t k = i - kLinear;
    const int shift = static_cast<int>(k >> kSubBits) + 1;
    const uint64_t sub = (k & ((size_t{1} << kSubBits) - 1)) + (uint64_t{1} << kSubBits);
    return sub << shift;
  }
  static uint64_t middle(size_t i) {
    if (i < kLinear) return i;
    const size_t k = i - kLinear;
    const int shift = static_cast<int>(k >> kSubBits) + 1;
    return lower(i) + ((uint64_t{1} << shift) >> 1);
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = ~uint64_t{0};
};

}  // namespace ringshard::load
