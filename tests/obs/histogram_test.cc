// Tests for obs/histogram.h: bucket edges (le is inclusive), the sum,
// summing shards into a snapshot, cumulative counts, one writer with a
// concurrent reader.
#include "obs/histogram.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

namespace ringshard::obs {
namespace RS_UNITY_ID {

TEST(Histogram, BucketEdgesAreInclusive) {
  EXPECT_EQ(histogram_bucket(0), 0u);
  EXPECT_EQ(histogram_bucket(500'000), 0u) << "exactly 0.0005 s is le=0.0005";
  EXPECT_EQ(histogram_bucket(500'001), 1u);
  EXPECT_EQ(histogram_bucket(1'000'000), 1u);
  EXPECT_EQ(histogram_bucket(10'000'000'000), kHistogramBounds - 1);
  EXPECT_EQ(histogram_bucket(10'000'000'001), kHistogramBounds) << "+Inf";
  EXPECT_EQ(histogram_bucket(UINT64_MAX), kHistogramBounds);
  for (size_t i = 0; i < kHistogramBounds; ++i) {
    EXPECT_EQ(histogram_bucket(kHistogramBoundsNs[i]), i);
    EXPECT_EQ(histogram_bucket(kHistogramBoundsNs[i] + 1), i + 1);
    EXPECT_DOUBLE_EQ(kHistogramBoundsSeconds[i], static_cast<double>(kHistogramBoundsNs[i]) / 1e9);
  }
}

TEST(Histogram, CountsAndSum) {
  Histogram h;
  h.observe_ns(100'000);          // 0.1 ms
  h.observe_ns(3'000'000);        // 3 ms -> le=0.005
  h.observe(std::chrono::seconds(20));  // +Inf
  h.observe(std::chrono::nanoseconds(-5));  // clamped to 0
  EXPECT_EQ(h.bucket(0), 2u);
  EXPECT_EQ(h.bucket(3), 1u);
  EXPECT_EQ(h.bucket(kHistogramBounds), 1u);
  EXPECT_EQ(h.sum_ns(), 100'000u + 3'000'000u + 20'000'000'000u);
}

TEST(HistogramSnapshot, SumsShardsCumulatively) {
  Histogram shard0, shard1;
  shard0.observe_ns(200'000);      // bucket 0
  shard0.observe_ns(7'000'000);    // bucket 4 (le=0.01)
  shard1.observe_ns(7'000'000);
  shard1.observe_ns(60'000'000'000);  // +Inf
  HistogramSnapshot snap;
  snap.add(shard0);
  snap.add(shard1);
  EXPECT_EQ(snap.count(), 4u);
  const auto cum = snap.cumulative();
  EXPECT_EQ(cum[0], 1u);
  EXPECT_EQ(cum[3], 1u);
  EXPECT_EQ(cum[4], 3u);
  EXPECT_EQ(cum[kHistogramBounds - 1], 3u);
  EXPECT_EQ(cum[kHistogramBounds], 4u) << "+Inf equals the count";
  EXPECT_DOUBLE_EQ(snap.sum_seconds(), 0.0002 + 0.007 + 0.007 + 60);
  EXPECT_DOUBLE_EQ(snap.quantile_upper_bound(0.5), 0.01);
  EXPECT_DOUBLE_EQ(snap.quantile_upper_bound(0.25), 0.0005);
  EXPECT_TRUE(std::isinf(snap.quantile_upper_bound(1.0)));
  EXPECT_EQ(HistogramSnapshot{}.quantile_upper_bound(0.99), 0.0);

  HistogramSnapshot twice;
  twice.add(snap);
  twice.add(snap);
  EXPECT_EQ(twice.count(), 8u);
}

TEST(Histogram, ReaderSeesMonotonicCountsWhileOneWriterRecords) {
  Histogram h;
  constexpr uint64_t kN = 2'000'000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint64_t i = 0; i < kN; ++i) h.observe_ns((i % 16) * 700'000'000);
    done.store(true, std::memory_order_release);
  });
  uint64_t last = 0;
  while (!done.load(std::memory_order_acquire)) {
    HistogramSnapshot s;
    s.add(h);
    ASSERT_GE(s.count(), last);
    last = s.count();
  }
  writer.join();
  HistogramSnapshot s;
  s.add(h);
  EXPECT_EQ(s.count(), kN) << "one writer, so no increment is lost";
}

}  // namespace
}  // namespace ringshard::obs
