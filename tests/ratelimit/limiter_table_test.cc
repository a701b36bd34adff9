// LimiterTable on one thread: buckets per key, reclaim of idle keys, the
// table-full fallback, and the races (ABA, duplicate claims) built step by
// step through the test peer.
#include "ratelimit/limiter_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "tests/ratelimit/limiter_table_test_peer.h"

namespace ringshard::ratelimit {
namespace RS_UNITY_ID {

using Peer = LimiterTableTestPeer;

constexpr uint64_t kNow = 1'000'000'000;
constexpr size_t kCapacity = 16;
constexpr unsigned kWindow = 8;

// Hashes that all start probing at slot `home` of a 16-slot table.
uint64_t key_at(size_t home, uint64_t n) { return (n << 8) | home; }

// Thread X's claim of slot 9 for `k` (home 9, window empty), left pending
// at kNow with its first admission (TAT kNow + 1000) made.
Peer::Lookup pending_claim_at_9(LimiterTable& t, uint64_t k) {
  const auto x = Peer::find(t, k, kNow);
  if (!x.claimable || x.slot != 9 || !Peer::begin_claim(t, x, kNow + 1000)) {
    ADD_FAILURE() << "no pending claim of slot 9 (found slot " << x.slot << ")";
  }
  return x;
}

int admit_until_refused(LimiterTable& t, uint64_t key, const Limit& l, uint64_t now) {
  int n = 0;
  while (t.decide_hash(key, l, now).admitted) ++n;
  return n;
}

TEST(LimiterTable, CapacityIsAPowerOfTwoAtLeastTheWindow) {
  EXPECT_EQ(LimiterTable(1000, 1).capacity(), 1024u);
  EXPECT_EQ(LimiterTable(1024, 1).capacity(), 1024u);
  EXPECT_EQ(LimiterTable(3, 1, 8).capacity(), 8u);
  EXPECT_EQ(LimiterTable(16, 1, 500).probe_window(), LimiterTable::kMaxProbeWindow);
  EXPECT_EQ(LimiterTable(16, 1, 0).probe_window(), 1u);
}

TEST(LimiterTable, BurstThenRefusalThenRefill) {
  LimiterTable t(1024, 42);
  const Limit l = *make_limit(10, kNsPerSecond, 5);  // T = 100 ms
  for (uint64_t i = 0; i < 5; ++i) {
    const Decision d = t.decide("10.0.0.1", l, kNow);
    ASSERT_TRUE(d.admitted);
    EXPECT_EQ(d.limit, 5u);
    EXPECT_EQ(d.remaining, 4 - i);
    EXPECT_EQ(d.reset_after_ns, (i + 1) * 100'000'000);
  }
  Decision d = t.decide("10.0.0.1", l, kNow);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.retry_after_ns, 100'000'000u);
  EXPECT_EQ(d.reset_after_ns, 500'000'000u);
  EXPECT_FALSE(t.decide("10.0.0.1", l, kNow + 99'999'999).admitted);
  EXPECT_TRUE(t.decide("10.0.0.1", l, kNow + 100'000'000).admitted);
  EXPECT_FALSE(t.decide("10.0.0.1", l, kNow + 100'000'000).admitted);
}

TEST(LimiterTable, KeysAndRulesHaveTheirOwnBuckets) {
  LimiterTable t(1024, 7);
  const Limit l = *make_limit(1, kNsPerSecond, 2);
  EXPECT_EQ(admit_until_refused(t, t.hash("a"), l, kNow), 2);
  EXPECT_EQ(admit_until_refused(t, t.hash("b"), l, kNow), 2);
  EXPECT_EQ(admit_until_refused(t, t.hash("a", 1), l, kNow), 2);
  EXPECT_NE(t.hash("a", 1), t.hash("a", 2));
  EXPECT_NE(t.hash("a"), LimiterTable(1024, 8).hash("a"));
}

TEST(LimiterTable, IdleKeysAreReclaimed) {
  LimiterTable t(kCapacity, 1, kWindow);
  const Limit l = *make_limit(1, 1000, 3);
  for (uint64_t n = 0; n < kWindow; ++n) {
    ASSERT_TRUE(t.decide_hash(key_at(5, n), l, kNow).admitted);
  }
  // Busy window: a ninth key overflows.
  EXPECT_TRUE(t.decide_hash(key_at(5, 100), l, kNow).admitted);
  EXPECT_EQ(t.stats().overflow, 1u);
  EXPECT_EQ(t.stats().reclaimed, 0u);

  // Every bucket refilled: the ninth key takes the first slot over.
  const uint64_t later = kNow + 1000;
  const Decision d = t.decide_hash(key_at(5, 101), l, later);
  EXPECT_TRUE(d.admitted);
  EXPECT_EQ(d.remaining, 2u);
  EXPECT_EQ(t.stats().reclaimed, 1u);
  EXPECT_EQ(t.stats().overflow, 1u);
  EXPECT_EQ(Peer::key(t, 5), key_at(5, 101));
  // The evicted key was full anyway: it comes back as a full bucket.
  EXPECT_EQ(t.decide_hash(key_at(5, 0), l, later).remaining, 2u);
}

TEST(LimiterTable, FullWindowSharesOneOverflowBucketAndEvictsNobody) {
  LimiterTable t(kCapacity, 1, kWindow);
  const Limit l = *make_limit(1, kNsPerSecond, 4);
  for (uint64_t n = 0; n < kWindow; ++n) {
    ASSERT_TRUE(t.decide_hash(key_at(3, n), l, kNow).admitted);
  }
  int admitted = 0;
  for (uint64_t n = 100; n < 1100; ++n) {
    for (int i = 0; i < 3; ++i) admitted += t.decide_hash(key_at(3, n), l, kNow).admitted;
  }
  EXPECT_EQ(admitted, 4);  // a thousand new keys together got one burst
  EXPECT_EQ(t.stats().overflow, 3000u);
  EXPECT_EQ(t.stats().overflow_refused, 0u);
  EXPECT_EQ(t.stats().reclaimed, 0u);
  // The resident keys kept their state: one used, three left.
  for (uint64_t n = 0; n < kWindow; ++n) {
    EXPECT_EQ(t.decide_hash(key_at(3, n), l, kNow).remaining, 2u);
  }
  // Another limit overflows into a bucket of its own.
  const Limit other = *make_limit(1, kNsPerSecond, 2);
  EXPECT_EQ(admit_until_refused(t, key_at(3, 5000), other, kNow), 2);
}

TEST(LimiterTable, OverflowTableFullRefuses) {
  LimiterTable t(kCapacity, 1, kWindow);
  const Limit l = *make_limit(1, kNsPerSecond, 1);
  for (uint64_t n = 0; n < kWindow; ++n) t.decide_hash(key_at(0, n), l, kNow);
  // 64 distinct busy limits fill the overflow table; the 65th is refused.
  for (uint64_t burst = 1; burst <= LimiterTable::kOverflowCapacity; ++burst) {
    EXPECT_TRUE(t.decide_hash(key_at(0, 100), *make_limit(1, kNsPerSecond, burst), kNow).admitted);
  }
  const Limit last = *make_limit(1, kNsPerSecond, 1000);
  const Decision d = t.decide_hash(key_at(0, 100), last, kNow);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.retry_after_ns, last.interval_ns);
  EXPECT_EQ(t.stats().overflow_refused, 1u);
}

// ABA: a reader found key K in slot S; before its CAS, S went idle and was
// reclaimed for K2 at the same clock reading. The reader's CAS must fail.
TEST(LimiterTable, StaleCommitFailsAfterReclaim) {
  LimiterTable t(kCapacity, 1, kWindow);
  const Limit l = *make_limit(1, 1000, 2);
  const uint64_t k = key_at(9, 1);
  const uint64_t k2 = key_at(9, 2);
  ASSERT_TRUE(t.decide_hash(k, l, kNow).admitted);  // K in slot 9, TAT now + 1000

  const uint64_t now = kNow + 5000;  // K is idle again
  const auto reader = Peer::find(t, k, now);
  ASSERT_TRUE(reader.own);
  ASSERT_EQ(reader.slot, 9u);

  ASSERT_TRUE(t.decide_hash(k2, l, now).admitted);  // reclaims slot 9 for K2
  ASSERT_EQ(Peer::key(t, 9), k2);
  const uint64_t k2_state = Peer::state(t, 9);

  Decision d;
  EXPECT_FALSE(Peer::commit(t, reader, k, l, now, &d));
  EXPECT_EQ(Peer::state(t, 9), k2_state);  // K2's bucket untouched
  EXPECT_EQ(t.decide_hash(k2, l, now).remaining, 0u);  // K2: its own two, nothing else
}

// Same, with the slot going K -> K2 -> K: the word never repeats, so the
// reader holding K's old word still fails.
TEST(LimiterTable, StaleCommitFailsAfterSlotReturnsToSameKey) {
  LimiterTable t(kCapacity, 1, kWindow);
  const Limit l = *make_limit(1, 1000, 2);
  const uint64_t k = key_at(9, 1);
  const uint64_t k2 = key_at(9, 2);
  ASSERT_TRUE(t.decide_hash(k, l, kNow).admitted);
  const uint64_t now = kNow + 5000;
  const auto reader = Peer::find(t, k, now);
  ASSERT_TRUE(reader.own);

  ASSERT_TRUE(t.decide_hash(k2, l, now).admitted);          // K2 takes slot 9
  ASSERT_TRUE(t.decide_hash(k, l, now + 5000).admitted);    // K2 idle: K takes it back
  ASSERT_EQ(Peer::key(t, 9), k);
  const uint64_t before = Peer::state(t, 9);

  // The commit must not apply the old word; it sees a new word of K and
  // decides on that one (what decide() would do after a failed CAS).
  Decision d;
  EXPECT_TRUE(Peer::commit(t, reader, k, l, now + 5000, &d));
  EXPECT_TRUE(d.admitted);
  EXPECT_EQ(d.remaining, 0u);  // the second of K's fresh burst, not a first
  EXPECT_EQ(Peer::tat(Peer::state(t, 9)), Peer::tat(before) + 1000);
}

// Two threads add one new key: X has claimed slot 9 (pending) when Y, not
// seeing it, claims slot 10 and admits twice there. X publishes, finds Y's
// slot, and folds it into its own (nearer home): the key's total stays B.
TEST(LimiterTable, DuplicateClaimIsFoldedIntoTheSlotNearerHome) {
  LimiterTable t(kCapacity, 1, kWindow);
  Peer::set_claim_wait_spins(t, 0);  // X stalled past Y's wait
  const Limit l = *make_limit(1, 1000, 3);
  const uint64_t k = key_at(9, 1);

  const Peer::Lookup x = pending_claim_at_9(t, k);
  ASSERT_FALSE(HasFailure());

  EXPECT_EQ(t.decide_hash(k, l, kNow).remaining, 2u);  // Y claims slot 10
  EXPECT_EQ(t.decide_hash(k, l, kNow).remaining, 1u);
  ASSERT_EQ(Peer::key(t, 10), k);

  Peer::finish_claim(t, x, k, kNow + 1000, kNow);
  EXPECT_EQ(t.stats().merged, 1u);
  EXPECT_FALSE(Peer::live(Peer::state(t, 10)));
  EXPECT_EQ(Peer::tat(Peer::state(t, 9)), kNow + 3000);
  EXPECT_FALSE(t.decide_hash(k, l, kNow).admitted);  // 1 (X) + 2 (Y) = B

  // The killed slot stays busy until its backlog would have refilled.
  EXPECT_TRUE(t.decide_hash(key_at(10, 1), l, kNow + 1999).admitted);
  EXPECT_EQ(Peer::key(t, 11), key_at(10, 1));
  EXPECT_TRUE(t.decide_hash(key_at(10, 2), l, kNow + 2000).admitted);
  EXPECT_EQ(Peer::key(t, 10), key_at(10, 2));
}

// The other order: X's pending claim is farther from home than the slot Y
// takes (Y's clock says slot 9 is idle, X's did not). X's own slot loses.
TEST(LimiterTable, DuplicateClaimFartherFromHomeFoldsItself) {
  LimiterTable t(kCapacity, 1, kWindow);
  Peer::set_claim_wait_spins(t, 0);  // X stalled past Y's wait
  const Limit l = *make_limit(1, 1000, 3);
  const uint64_t k = key_at(9, 1);
  ASSERT_TRUE(t.decide_hash(key_at(9, 2), l, kNow).admitted);  // busy until kNow + 1000

  const auto x = Peer::find(t, k, kNow);
  ASSERT_EQ(x.slot, 10u);
  ASSERT_TRUE(Peer::begin_claim(t, x, kNow + 1000));

  const uint64_t y_now = kNow + 1000;
  EXPECT_EQ(t.decide_hash(k, l, y_now).remaining, 2u);  // Y reclaims slot 9
  ASSERT_EQ(Peer::key(t, 9), k);

  Peer::finish_claim(t, x, k, kNow + 1000, kNow);
  EXPECT_EQ(t.stats().merged, 1u);
  EXPECT_FALSE(Peer::live(Peer::state(t, 10)));
  // X's admission (backlog 1000 at X's clock) moved onto slot 9.
  EXPECT_EQ(Peer::tat(Peer::state(t, 9)), y_now + 1000 + 1000);
  EXPECT_EQ(t.decide_hash(k, l, y_now).remaining, 0u);
  EXPECT_FALSE(t.decide_hash(k, l, y_now).admitted);
}

// X has claimed slot 9 for key K (pending, its first admission made) when
// Y, on another thread, asks for K too. Y waits for the claim in flight
// instead of claiming slot 10: once X publishes, Y is decided against X's
// slot, and no second slot (no merge, no window of double admission)
// ever exists. Before the wait, Y took slot 10 at once; with a frozen
// clock a duplicate briefly let the key past its burst (seen under ASan:
// 10 admissions of a burst of 9 in ThreadCount.FrozenClockAdmitsExactlyBurst).
TEST(LimiterTable, ANewKeyWaitsForAClaimInFlightInsteadOfTakingASecondSlot) {
  LimiterTable t(kCapacity, 1, kWindow);
  Peer::set_claim_wait_spins(t, ~0u);  // as long as it takes: the test decides when X publishes
  const Limit l = *make_limit(1, 1000, 3);
  const uint64_t k = key_at(9, 1);

  const Peer::Lookup x = pending_claim_at_9(t, k);
  ASSERT_FALSE(HasFailure());

  Decision y;
  std::atomic<bool> y_done{false};
  std::thread other([&] {
    y = t.decide_hash(k, l, kNow);
    y_done.store(true);
  });
  // Y either waits (the fix) or finishes without waiting (the bug): no
  // timing involved either way.
  while (t.stats().claim_waits == 0 && !y_done.load()) std::this_thread::yield();
  Peer::finish_claim(t, x, k, kNow + 1000, kNow);
  other.join();

  EXPECT_EQ(t.stats().claim_waits, 1u);
  EXPECT_TRUE(y.admitted);
  EXPECT_EQ(y.remaining, 1u);  // X's admission and Y's, in one bucket of 3
  EXPECT_EQ(t.stats().merged, 0u);
  EXPECT_EQ(Peer::state(t, 10), 0u) << "slot 10 was never claimed";
  EXPECT_EQ(t.decide_hash(k, l, kNow).remaining, 0u);
  EXPECT_FALSE(t.decide_hash(k, l, kNow).admitted);
}

}  // namespace
}  // namespace ringshard::ratelimit
