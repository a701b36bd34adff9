// LimiterTable under real threads: exact totals, not timings. Every run
// draws its burst, interval, seed and key from a seeded generator, so a
// failure names the run that reproduces it.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cstdint>
#include <latch>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ratelimit/limiter_table.h"

namespace ringshard::ratelimit {
namespace RS_UNITY_ID {

constexpr uint64_t kStart = 5'000'000'000;
constexpr int kRuns = 25;

uint64_t draw(std::mt19937_64& rng, uint64_t lo, uint64_t hi) {
  return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
}

class ThreadCount : public ::testing::TestWithParam<int> {};

// N threads, one key, clock frozen: exactly B admissions in total.
TEST_P(ThreadCount, FrozenClockAdmitsExactlyBurst) {
  const int threads = GetParam();
  for (int run = 0; run < kRuns; ++run) {
    std::mt19937_64 rng(static_cast<uint64_t>(run) * 1000 + static_cast<uint64_t>(threads));
    const uint64_t burst = draw(rng, 1, 2000);
    const Limit limit = *make_limit(1, draw(rng, 1, 1'000'000), burst);
    LimiterTable table(draw(rng, 8, 4096), rng());
    const std::string key = "client-" + std::to_string(rng());

    std::latch start(threads);
    std::vector<uint64_t> admitted(static_cast<size_t>(threads), 0);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        start.arrive_and_wait();
        uint64_t n = 0;
        for (uint64_t i = 0; i < burst + 50; ++i) n += table.decide(key, limit, kStart).admitted;
        admitted[static_cast<size_t>(t)] = n;
      });
    }
    for (auto& w : workers) w.join();
    uint64_t total = 0;
    for (uint64_t n : admitted) total += n;
    ASSERT_EQ(total, burst) << "run " << run << " threads " << threads;
    ASSERT_EQ(table.stats().overflow, 0u);
  }
}

// A coordinator advances the clock between phases (std::barrier's
// completion step); within a phase all threads hammer at one reading. Steps
// stay below (B-1)*T so the bucket never fills up again, hence the total is
// exactly B + floor(elapsed / T).
TEST_P(ThreadCount, SteppedClockAdmitsBurstPlusElapsedOverT) {
  const int threads = GetParam();
  constexpr int kPhases = 20;
  for (int run = 0; run < kRuns; ++run) {
    std::mt19937_64 rng(static_cast<uint64_t>(run) * 7919 + static_cast<uint64_t>(threads));
    const uint64_t burst = draw(rng, 2, 300);
    const uint64_t interval = draw(rng, 1, 1'000'000);
    const Limit limit = *make_limit(1, interval, burst);
    LimiterTable table(1024, rng());
    const std::string key = "token-" + std::to_string(rng());

    std::atomic<uint64_t> now{kStart};
    auto advance = [&]() noexcept {
      now.store(now.load() + draw(rng, 0, (burst - 1) * interval));
    };
    std::barrier phase_end(threads, advance);
    std::vector<uint64_t> admitted(static_cast<size_t>(threads), 0);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        uint64_t n = 0;
        for (int p = 0; p < kPhases; ++p) {
          const uint64_t at = now.load();
          for (uint64_t i = 0; i < burst + 2; ++i) n += table.decide(key, limit, at).admitted;
          phase_end.arrive_and_wait();
        }
        admitted[static_cast<size_t>(t)] = n;
      });
    }
    for (auto& w : workers) w.join();
    uint64_t total = 0;
    for (uint64_t n : admitted) total += n;
    // The last completion step advanced the clock once more: drain it too.
    uint64_t drained = 0;
    while (table.decide(key, limit, now.load()).admitted) ++drained;
    ASSERT_EQ(total + drained, burst + (now.load() - kStart) / interval)
        << "run " << run << " threads " << threads;
  }
}

// The clock runs on its own thread while workers hammer with whatever
// reading they see. Exact totals need quiet phases; what must hold always
// is the GCRA bound: never more than B + floor(elapsed / T).
TEST_P(ThreadCount, RunningClockNeverExceedsTheBound) {
  const int threads = GetParam();
  for (int run = 0; run < 5; ++run) {
    std::mt19937_64 rng(static_cast<uint64_t>(run) * 104729 + static_cast<uint64_t>(threads));
    const uint64_t burst = draw(rng, 1, 100);
    const uint64_t interval = draw(rng, 1000, 100'000);
    const Limit limit = *make_limit(1, interval, burst);
    LimiterTable table(1024, rng());

    std::atomic<uint64_t> now{kStart};
    std::atomic<bool> done{false};
    std::atomic<uint64_t> admitted{0};
    std::latch start(threads + 1);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        start.arrive_and_wait();
        uint64_t n = 0;
        while (!done.load(std::memory_order_relaxed)) {
          n += table.decide("shared", limit, now.load(std::memory_order_relaxed)).admitted;
        }
        admitted.fetch_add(n);
      });
    }
    start.arrive_and_wait();
    for (int step = 0; step < 20'000; ++step) now.fetch_add(draw(rng, 0, interval / 4));
    done.store(true);
    for (auto& w : workers) w.join();
    ASSERT_LE(admitted.load(), burst + (now.load() - kStart) / interval) << "run " << run;
  }
}

// Several new keys, one probe window, all threads at once: claims race,
// pending slots get skipped, duplicates get folded. Per key still exactly B.
TEST_P(ThreadCount, NewKeysInOneWindowAdmitExactlyBurstEach) {
  const int threads = GetParam();
  constexpr uint64_t kKeys = 4;
  for (int run = 0; run < kRuns; ++run) {
    std::mt19937_64 rng(static_cast<uint64_t>(run) * 31 + static_cast<uint64_t>(threads));
    const uint64_t burst = draw(rng, 1, 200);
    const Limit limit = *make_limit(1, draw(rng, 1, 1'000'000), burst);
    // 64-slot window over a 128-slot table: room for every duplicate.
    LimiterTable table(128, 0, LimiterTable::kMaxProbeWindow);
    uint64_t keys[kKeys];
    for (uint64_t k = 0; k < kKeys; ++k) keys[k] = (rng() << 7) | 0;  // all home at slot 0

    std::latch start(threads);
    std::vector<std::vector<uint64_t>> admitted(static_cast<size_t>(threads),
                                                std::vector<uint64_t>(kKeys, 0));
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        start.arrive_and_wait();
        auto& mine = admitted[static_cast<size_t>(t)];
        for (uint64_t i = 0; i < (burst + 20) * kKeys; ++i) {
          const uint64_t k = (i + static_cast<uint64_t>(t)) % kKeys;
          mine[k] += table.decide_hash(keys[k], limit, kStart).admitted;
        }
      });
    }
    for (auto& w : workers) w.join();
    ASSERT_EQ(table.stats().overflow, 0u);
    for (uint64_t k = 0; k < kKeys; ++k) {
      uint64_t total = 0;
      for (const auto& a : admitted) total += a[k];
      ASSERT_EQ(total, burst) << "run " << run << " key " << k;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, ThreadCount, ::testing::Values(2, 4, 8),
                         [](const auto& info) { return std::to_string(info.param) + "threads"; });

}  // namespace
}  // namespace ringshard::ratelimit
