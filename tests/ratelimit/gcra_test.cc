// GCRA math: decisions from a stored TAT, limits from rates.
#include "ratelimit/gcra.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>

namespace ringshard::ratelimit {
namespace RS_UNITY_ID {

constexpr uint64_t kNow = 1'000'000'000'000;

Limit limit_of(uint64_t burst, uint64_t interval_ns) {
  return *make_limit(1, interval_ns, burst);
}

TEST(MakeLimit, IntervalIsPeriodOverCountRoundedUp) {
  auto l = make_limit(10, kNsPerSecond, 100);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->burst, 100u);
  EXPECT_EQ(l->interval_ns, 100'000'000u);
  EXPECT_EQ(l->window_ns, 10'000'000'000u);
  EXPECT_EQ(make_limit(3, kNsPerSecond, 3)->interval_ns, 333'333'334u);
  EXPECT_EQ(make_limit(1'000'000'000, kNsPerSecond, 1)->interval_ns, 1u);
}

TEST(MakeLimit, RejectsZeroAndOutOfBounds) {
  EXPECT_FALSE(make_limit(0, kNsPerSecond, 1));
  EXPECT_FALSE(make_limit(1, 0, 1));
  EXPECT_FALSE(make_limit(1, kNsPerSecond, 0));
  EXPECT_FALSE(make_limit(1, kNsPerSecond, kMaxBurst + 1));
  EXPECT_FALSE(make_limit(1, 3600 * kNsPerSecond, 2'000'000));  // 2e6 hours to refill
  EXPECT_TRUE(make_limit(1, 3600 * kNsPerSecond, 1000));
}

TEST(Quotient, MatchesIntegerDivision) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 1'000'000; ++i) {
    const uint64_t b = (rng() >> (12 + rng() % 52)) + 1;
    const uint64_t a = rng() >> (12 + rng() % 52);
    ASSERT_EQ(quotient(a, b), a / b) << a << " / " << b;
    // Just below and at multiples: where a rounded quotient goes wrong.
    const uint64_t k = (rng() >> 34) + 1;
    if (b <= kMaxWindowNs / k) {
      ASSERT_EQ(quotient(k * b - 1, b), k - 1) << k << " * " << b;
      ASSERT_EQ(quotient(k * b, b), k);
    }
  }
  EXPECT_EQ(quotient(kMaxWindowNs - 1, 1), kMaxWindowNs - 1);
  EXPECT_EQ(quotient(kMaxWindowNs - 1, kMaxWindowNs), 0u);
}

struct Row {
  uint64_t tat_offset;  // stored TAT - now (0: full bucket)
  bool admitted;
  uint64_t new_tat_offset;
  uint64_t remaining;
  uint64_t reset_after;
  uint64_t retry_after;
};

// Burst 4, T = 100 ns, so B*T = 400: the table walks a bucket from full to
// refused and through partial refills.
TEST(GcraDecide, Table) {
  const Limit l = limit_of(4, 100);
  const Row rows[] = {
      {0, true, 100, 3, 100, 0},     // full
      {100, true, 200, 2, 200, 0},
      {200, true, 300, 1, 300, 0},
      {300, true, 400, 0, 400, 0},   // the 4th: last of the burst
      {400, false, 400, 0, 400, 100},
      {350, false, 350, 0, 350, 50},
      {399, false, 399, 0, 399, 99},
      {401, false, 401, 0, 400, 100},  // past now + B*T: a clock behind the admitting one's
      {250, true, 350, 0, 350, 0},   // 50 ns short of another one afterwards
      {150, true, 250, 1, 250, 0},
      {1, true, 101, 2, 101, 0},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.tat_offset);
    const GcraResult r = gcra_decide(kNow + row.tat_offset, l, kNow);
    EXPECT_EQ(r.admitted, row.admitted);
    EXPECT_EQ(r.new_tat_ns, kNow + row.new_tat_offset);
    EXPECT_EQ(r.remaining, row.remaining);
    EXPECT_EQ(r.reset_after_ns, row.reset_after);
    EXPECT_EQ(r.retry_after_ns, row.retry_after);
  }
}

TEST(GcraDecide, PastTatIsAFullBucket) {
  const Limit l = limit_of(5, 1000);
  for (uint64_t tat : {uint64_t{0}, kNow - 1, kNow - 1'000'000, kNow}) {
    const GcraResult r = gcra_decide(tat, l, kNow);
    EXPECT_TRUE(r.admitted);
    EXPECT_EQ(r.new_tat_ns, kNow + 1000);
    EXPECT_EQ(r.remaining, 4u);
  }
}

TEST(GcraDecide, FrozenClockAdmitsExactlyBurst) {
  for (uint64_t burst : {1u, 2u, 7u, 100u, 1000u}) {
    for (uint64_t interval : {1u, 3u, 333'333'334u}) {
      const Limit l = limit_of(burst, interval);
      uint64_t tat = 0;
      uint64_t admitted = 0;
      for (uint64_t i = 0; i < burst + 10; ++i) {
        const GcraResult r = gcra_decide(tat, l, kNow);
        if (r.admitted) {
          ++admitted;
          tat = r.new_tat_ns;
          EXPECT_EQ(r.remaining, burst - admitted);
        } else {
          EXPECT_EQ(r.retry_after_ns, interval);
        }
      }
      EXPECT_EQ(admitted, burst) << "burst " << burst << " T " << interval;
    }
  }
}

// A decision whose clock trails the admission that set the TAT (another
// shard's reading, a little older) still promises no more than B*T until
// full and T until the next admission.
TEST(GcraDecide, AClockBehindTheLastAdmissionPromisesNoLongerWaits) {
  for (uint64_t burst : {1u, 3u}) {
    const Limit l = limit_of(burst, 1000);
    uint64_t tat = 0;
    for (uint64_t i = 0; i < burst; ++i) tat = gcra_decide(tat, l, kNow).new_tat_ns;
    const GcraResult r = gcra_decide(tat, l, kNow - 7);
    EXPECT_FALSE(r.admitted);
    EXPECT_EQ(r.retry_after_ns, 1000u) << "burst " << burst;
    EXPECT_EQ(r.reset_after_ns, burst * 1000) << "burst " << burst;
    EXPECT_EQ(r.new_tat_ns, tat);
  }
}

TEST(GcraDecide, RefillOnManualClock) {
  const Limit l = limit_of(3, 1000);
  uint64_t now = kNow;
  uint64_t tat = 0;
  for (int i = 0; i < 3; ++i) tat = gcra_decide(tat, l, now).new_tat_ns;
  GcraResult r = gcra_decide(tat, l, now);
  EXPECT_FALSE(r.admitted);
  EXPECT_EQ(r.retry_after_ns, 1000u);
  EXPECT_EQ(r.reset_after_ns, 3000u);

  now += 999;  // one nanosecond early
  r = gcra_decide(tat, l, now);
  EXPECT_FALSE(r.admitted);
  EXPECT_EQ(r.retry_after_ns, 1u);

  now += 1;  // exactly T after the bucket ran dry: one more, then none
  r = gcra_decide(tat, l, now);
  ASSERT_TRUE(r.admitted);
  EXPECT_EQ(r.remaining, 0u);
  tat = r.new_tat_ns;
  EXPECT_FALSE(gcra_decide(tat, l, now).admitted);

  now += 2500;  // 2.5 T: two more
  int more = 0;
  while (true) {
    r = gcra_decide(tat, l, now);
    if (!r.admitted) break;
    tat = r.new_tat_ns;
    ++more;
  }
  EXPECT_EQ(more, 2);
  EXPECT_EQ(r.retry_after_ns, 500u);

  now += 10'000;  // long idle: full again, never more than B
  EXPECT_EQ(gcra_decide(tat, l, now).remaining, 2u);
  EXPECT_EQ(gcra_decide(tat, l, now).reset_after_ns, 1000u);
}

}  // namespace
}  // namespace ringshard::ratelimit
