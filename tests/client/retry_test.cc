// client/retry.h: backoff ceilings and jitter bounds on a seeded RNG, and
// the retry budget's arithmetic. Pure: no clock, no sleeps.
#include "client/retry.h"

#include <gtest/gtest.h>

namespace ringshard::client {
namespace RS_UNITY_ID {

TEST(Backoff, CeilingDoublesFromBaseUpToCap) {
  Backoff b(25, 250);
  EXPECT_EQ(b.ceiling_ms(0), 25u);
  EXPECT_EQ(b.ceiling_ms(1), 50u);
  EXPECT_EQ(b.ceiling_ms(2), 100u);
  EXPECT_EQ(b.ceiling_ms(3), 200u);
  EXPECT_EQ(b.ceiling_ms(4), 250u);
  EXPECT_EQ(b.ceiling_ms(63), 250u);  // no overflow far out
  EXPECT_EQ(b.ceiling_ms(1000), 250u);
}

TEST(Backoff, FullJitterStaysWithinCeilingAndSpreads) {
  Backoff b(25, 250);
  Jitter rng(42);
  for (uint32_t attempt = 0; attempt < 6; ++attempt) {
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < 2000; ++i) {
      const uint64_t d = b.delay_ms(attempt, rng);
      ASSERT_LE(d, b.ceiling_ms(attempt));
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Full jitter: the whole range [0, ceiling] is used.
    EXPECT_EQ(lo, 0u) << attempt;
    EXPECT_EQ(hi, b.ceiling_ms(attempt)) << attempt;
  }
}

TEST(Backoff, SameSeedSameDelays) {
  Backoff b(25, 250);
  Jitter a(7), c(7), d(8);
  bool differs = false;
  for (uint32_t i = 0; i < 50; ++i) {
    const uint64_t x = b.delay_ms(i % 5, a);
    EXPECT_EQ(x, b.delay_ms(i % 5, c));
    differs = differs || x != b.delay_ms(i % 5, d);
  }
  EXPECT_TRUE(differs);
}

TEST(RetryBudget, AtLeastMinConcurrentRetries) {
  RetryBudget budget(0.2, 3);
  budget.request_started();
  EXPECT_TRUE(budget.try_start_retry());
  EXPECT_TRUE(budget.try_start_retry());
  EXPECT_TRUE(budget.try_start_retry());
  EXPECT_FALSE(budget.try_start_retry());
  budget.retry_finished();
  EXPECT_TRUE(budget.try_start_retry());
}

TEST(RetryBudget, TwentyPercentOfActiveRequests) {
  RetryBudget budget(0.2, 3);
  for (int i = 0; i < 100; ++i) budget.request_started();
  EXPECT_EQ(budget.allowed(), 20u);
  int granted = 0;
  while (budget.try_start_retry()) ++granted;
  EXPECT_EQ(granted, 20);
  for (int i = 0; i < 50; ++i) budget.request_finished();
  EXPECT_EQ(budget.allowed(), 10u);
  EXPECT_FALSE(budget.try_start_retry());  // 20 in flight > 10 allowed now
  for (int i = 0; i < 11; ++i) budget.retry_finished();
  EXPECT_TRUE(budget.try_start_retry());
}

}  // namespace
}  // namespace ringshard::client
