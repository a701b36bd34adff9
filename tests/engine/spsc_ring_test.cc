// Tests for engine/spsc_ring.h: order, full/empty, capacity rounding,
// wrap-around, move-only payloads, and two threads moving ten million values.
#include "engine/spsc_ring.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <thread>

namespace ringshard::engine {
namespace RS_UNITY_ID {

TEST(SpscRing, PopsInPushOrder) {
  SpscRing<int> ring(8);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(ring.try_push(int{i}));
  for (int i = 0; i < 8; ++i) {
    auto v = ring.try_pop();
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(*v, i);
  }
  EXPECT_FALSE(ring.try_pop().has_value());
}

TEST(SpscRing, EmptyAndFull) {
  SpscRing<int> ring(4);
  EXPECT_TRUE(ring.empty());
  EXPECT_FALSE(ring.try_pop().has_value());
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.try_push(int{i}));
    EXPECT_FALSE(ring.empty());
  }
  EXPECT_FALSE(ring.try_push(99)) << "a full ring must refuse";
  EXPECT_FALSE(ring.try_push(100));
  EXPECT_EQ(*ring.try_pop(), 0);
  EXPECT_TRUE(ring.try_push(4)) << "one pop makes room for one push";
  EXPECT_FALSE(ring.try_push(5));
  for (int want = 1; want <= 4; ++want) EXPECT_EQ(*ring.try_pop(), want);
  EXPECT_TRUE(ring.empty());
  EXPECT_FALSE(ring.try_pop().has_value());
}

TEST(SpscRing, CapacityRoundsUpToAPowerOfTwo) {
  EXPECT_EQ(SpscRing<int>(0).capacity(), 2u);
  EXPECT_EQ(SpscRing<int>(1).capacity(), 2u);
  EXPECT_EQ(SpscRing<int>(2).capacity(), 2u);
  EXPECT_EQ(SpscRing<int>(3).capacity(), 4u);
  EXPECT_EQ(SpscRing<int>(5).capacity(), 8u);
  EXPECT_EQ(SpscRing<int>(256).capacity(), 256u);
  EXPECT_EQ(SpscRing<int>(257).capacity(), 512u);
  EXPECT_EQ(SpscRing<int>(4096).capacity(), 4096u);
}

TEST(SpscRing, HoldsExactlyCapacityItems) {
  for (size_t requested : {1u, 3u, 7u, 100u}) {
    SpscRing<int> ring(requested);
    size_t pushed = 0;
    while (ring.try_push(static_cast<int>(pushed))) ++pushed;
    EXPECT_EQ(pushed, ring.capacity()) << "requested " << requested;
  }
}

TEST(SpscRing, WrapsAroundManyTimes) {
  SpscRing<uint64_t> ring(4);
  uint64_t next_push = 0;
  uint64_t next_pop = 0;
  // Vary the fill level so the indices cross the end of the storage at every
  // offset.
  for (int round = 0; round < 100'000; ++round) {
    const int burst = 1 + round % 4;
    for (int i = 0; i < burst; ++i) ASSERT_TRUE(ring.try_push(uint64_t{next_push++}));
    for (int i = 0; i < burst; ++i) {
      auto v = ring.try_pop();
      ASSERT_TRUE(v.has_value());
      ASSERT_EQ(*v, next_pop++);
    }
    ASSERT_TRUE(ring.empty());
  }
  EXPECT_EQ(next_pop, next_push);
}

TEST(SpscRing, MoveOnlyPayloads) {
  SpscRing<std::unique_ptr<int>> ring(4);
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(ring.try_push(std::make_unique<int>(round * 4 + i)));
    auto refused = std::make_unique<int>(-1);
    EXPECT_FALSE(ring.try_push(std::move(refused)));
    for (int i = 0; i < 4; ++i) {
      auto v = ring.try_pop();
      ASSERT_TRUE(v.has_value());
      ASSERT_NE(*v, nullptr);
      EXPECT_EQ(**v, round * 4 + i);
    }
  }
}

TEST(SpscRing, DestroysQueuedPayloads) {
  auto counter = std::make_shared<int>(0);
  {
    SpscRing<std::shared_ptr<int>> ring(8);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(ring.try_push(std::shared_ptr<int>(counter)));
    EXPECT_EQ(counter.use_count(), 6);
    ring.try_pop();  // popped and dropped
    EXPECT_EQ(counter.use_count(), 5);
  }
  EXPECT_EQ(counter.use_count(), 1) << "the ring's destructor frees what is queued";
}

TEST(SpscRing, PopReleasesTheSlot) {
  // A popped value must not stay alive inside the ring.
  auto counter = std::make_shared<int>(0);
  SpscRing<std::shared_ptr<int>> ring(2);
  ASSERT_TRUE(ring.try_push(std::shared_ptr<int>(counter)));
  {
    auto v = ring.try_pop();
    ASSERT_TRUE(v.has_value());
  }
  EXPECT_EQ(counter.use_count(), 1);
}

TEST(SpscRing, TwoThreadsMoveTenMillionIntegersInOrder) {
  constexpr uint64_t kCount = 10'000'000;
  SpscRing<uint64_t> ring(1024);
  std::thread producer([&] {
    for (uint64_t i = 0; i < kCount; ++i) {
      while (!ring.try_push(uint64_t{i})) std::this_thread::yield();
    }
  });
  uint64_t expected = 0;
  uint64_t out_of_order = 0;
  while (expected < kCount) {
    auto v = ring.try_pop();
    if (!v) {
      std::this_thread::yield();
      continue;
    }
    if (*v != expected) ++out_of_order;
    expected = *v + 1;
  }
  producer.join();
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(expected, kCount);
  EXPECT_TRUE(ring.empty());
  EXPECT_FALSE(ring.try_pop().has_value());
}

TEST(SpscRing, TwoThreadsWithATinyRing) {
  // Capacity 2: producer and consumer contend on every element.
  constexpr uint64_t kCount = 200'000;
  SpscRing<std::unique_ptr<uint64_t>> ring(2);
  std::thread producer([&] {
    for (uint64_t i = 0; i < kCount; ++i) {
      auto p = std::make_unique<uint64_t>(i);
      while (!ring.try_push(std::move(p))) std::this_thread::yield();
    }
  });
  uint64_t expected = 0;
  bool ordered = true;
  while (expected < kCount) {
    auto v = ring.try_pop();
    if (!v) {
      std::this_thread::yield();
      continue;
    }
    ordered = ordered && **v == expected;
    ++expected;
  }
  producer.join();
  EXPECT_TRUE(ordered);
}

}  // namespace
}  // namespace ringshard::engine
