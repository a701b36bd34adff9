// Rate-limit admission decisions per second: the lock-free LimiterTable next
// to a token bucket behind a std::mutex, for one key every thread shares
// and for a million distinct keys. items_per_second is the total over all
// threads (wall clock). The clock is synthetic (a counter per thread), so
// the numbers are the decision alone, not clock reads.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

#include "ratelimit/limiter_table.h"

namespace ringshard::ratelimit {
namespace {

constexpr uint64_t kStart = 1'000'000'000;
constexpr size_t kDistinctKeys = 1 << 20;
constexpr size_t kTableCapacity = 1 << 21;
constexpr size_t kPrefetchAhead = 8;

// The classic token bucket the issue compares against: tokens refill
// continuously at `rate` per ns up to `burst`; one lock per decision.
struct TokenBucket {
  double tokens = 0;
  uint64_t last_ns = 0;
  bool take(uint64_t now, double per_ns, double burst) {
    if (now > last_ns) {
      tokens = std::min(burst, tokens + static_cast<double>(now - last_ns) * per_ns);
      last_ns = now;
    }
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }
};

std::vector<uint64_t> distinct_keys() {
  std::mt19937_64 rng(2024);
  std::vector<uint64_t> keys(kDistinctKeys);
  for (auto& k : keys) k = rng();
  return keys;
}

// ---- one key shared by every thread --------------------------------------

// T = 1 ns and every thread's clock moves `threads` ns per decision, so the
// key stays just admissible: nearly every decision is a CAS on one line.
void BM_TableSharedKey(benchmark::State& state) {
  static std::unique_ptr<LimiterTable> table;
  if (state.thread_index() == 0) table = std::make_unique<LimiterTable>(1024, 1);
  const Limit limit = *make_limit(1, 1, 1000);
  const uint64_t key = 0x5ea7ed0c0ffee;  // pre-hashed, like the distinct keys
  const auto step = static_cast<uint64_t>(state.threads());
  uint64_t now = kStart;
  uint64_t admitted = 0;
  for (auto _ : state) {
    admitted += table->decide_hash(key, limit, now).admitted;
    now += step;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["admitted"] = benchmark::Counter(static_cast<double>(admitted) /
                                                  static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kAvgThreads);
  if (state.thread_index() == 0) table.reset();
}
BENCHMARK(BM_TableSharedKey)->Threads(1)->Threads(2)->UseRealTime();

void BM_MutexSharedKey(benchmark::State& state) {
  struct Shared {
    std::mutex mu;
    TokenBucket bucket;
  };
  static std::unique_ptr<Shared> shared;
  if (state.thread_index() == 0) {
    shared = std::make_unique<Shared>();
    shared->bucket = TokenBucket{1000, kStart};
  }
  const auto step = static_cast<uint64_t>(state.threads());
  uint64_t now = kStart;
  uint64_t admitted = 0;
  for (auto _ : state) {
    std::lock_guard lock(shared->mu);
    admitted += shared->bucket.take(now, 1.0, 1000);
    now += step;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["admitted"] = benchmark::Counter(static_cast<double>(admitted) /
                                                  static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kAvgThreads);
  if (state.thread_index() == 0) shared.reset();
}
BENCHMARK(BM_MutexSharedKey)->Threads(1)->Threads(2)->UseRealTime();

// ---- a million distinct keys ---------------------------------------------

// 100/s, burst 100: each key is seen once per million decisions. The table
// (2M slots, 32 MiB) is filled before timing; each thread walks the key
// array from its own offset.
template <bool kPrefetch>
void BM_TableDistinctKeys(benchmark::State& state) {
  static std::unique_ptr<LimiterTable> table;
  static std::vector<uint64_t> keys;
  const Limit limit = *make_limit(100, kNsPerSecond, 100);
  if (state.thread_index() == 0) {
    keys = distinct_keys();
    table = std::make_unique<LimiterTable>(kTableCapacity, 7);
    for (uint64_t k : keys) table->decide_hash(k, limit, kStart);
  }
  size_t i = static_cast<size_t>(state.thread_index()) * (kDistinctKeys / 2);
  uint64_t now = kStart;
  uint64_t admitted = 0;
  for (auto _ : state) {
    if constexpr (kPrefetch) table->prefetch(keys[(i + kPrefetchAhead) & (kDistinctKeys - 1)]);
    admitted += table->decide_hash(keys[i], limit, now).admitted;
    i = (i + 1) & (kDistinctKeys - 1);
    ++now;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["admitted"] = benchmark::Counter(static_cast<double>(admitted) /
                                                  static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kAvgThreads);
  if (state.thread_index() == 0) {
    state.counters["overflow"] = static_cast<double>(table->stats().overflow);
    table.reset();
  }
}
BENCHMARK_TEMPLATE(BM_TableDistinctKeys, true)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_TEMPLATE(BM_TableDistinctKeys, false)->Threads(1)->Threads(2)->UseRealTime();

void BM_MutexDistinctKeys(benchmark::State& state) {
  struct Shared {
    std::mutex mu;
    std::unordered_map<uint64_t, TokenBucket> buckets;
  };
  static std::unique_ptr<Shared> shared;
  static std::vector<uint64_t> keys;
  constexpr double kPerNs = 100.0 / 1e9;
  if (state.thread_index() == 0) {
    keys = distinct_keys();
    shared = std::make_unique<Shared>();
    shared->buckets.reserve(kTableCapacity);
    for (uint64_t k : keys) shared->buckets[k].take(kStart, kPerNs, 100);
  }
  size_t i = static_cast<size_t>(state.thread_index()) * (kDistinctKeys / 2);
  uint64_t now = kStart;
  uint64_t admitted = 0;
  for (auto _ : state) {
    {
      std::lock_guard lock(shared->mu);
      auto [it, fresh] = shared->buckets.try_emplace(keys[i], TokenBucket{100, now});
      admitted += it->second.take(now, kPerNs, 100);
    }
    i = (i + 1) & (kDistinctKeys - 1);
    ++now;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["admitted"] = benchmark::Counter(static_cast<double>(admitted) /
                                                  static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kAvgThreads);
  if (state.thread_index() == 0) shared.reset();
}
BENCHMARK(BM_MutexDistinctKeys)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace ringshard::ratelimit
