// Micro benchmarks for the engine's data structures: the timer wheel, the
// SPSC mailbox ring and the output queue. Whole-server numbers come from the
// load runs, not from here.
#include <benchmark/benchmark.h>

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/buffer_pool.h"
#include "engine/output_queue.h"
#include "engine/spsc_ring.h"
#include "engine/timer_wheel.h"

namespace ringshard::engine {
namespace {

void count_fired(TimerEntry& e) { ++*static_cast<uint64_t*>(e.context); }

// Arm then disarm one entry among `n` armed ones: what a connection does on
// every request (set the header timeout, clear it when the head is parsed).
void BM_TimerArmDisarm(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  uint64_t fired = 0;
  TimerWheel wheel(0);
  std::vector<TimerEntry> background(n);
  for (size_t i = 0; i < n; ++i) {
    background[i].callback = &count_fired;
    background[i].context = &fired;
    wheel.arm(background[i], 1 + i % 60'000);
  }
  TimerEntry e;
  e.callback = &count_fired;
  e.context = &fired;
  uint64_t deadline = 10'000;
  for (auto _ : state) {
    wheel.arm(e, deadline);
    wheel.disarm(e);
    deadline = deadline * 7 % 60'000 + 1;
  }
  benchmark::DoNotOptimize(fired);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimerArmDisarm)->Arg(0)->Arg(10'000);

// Re-arming an armed entry (the idle timer pushed forward on every read).
void BM_TimerRearm(benchmark::State& state) {
  uint64_t fired = 0;
  TimerWheel wheel(0);
  TimerEntry e;
  e.callback = &count_fired;
  e.context = &fired;
  uint64_t deadline = 5'000;
  for (auto _ : state) {
    wheel.arm(e, deadline);
    deadline = deadline % 60'000 + 3;
  }
  benchmark::DoNotOptimize(fired);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimerRearm);

// One millisecond of advance with `n` timers spread over 60 s, and the
// next_wakeup_in() the shard asks for after it: the per-turn timer cost.
// Fired entries are re-armed a minute ahead so the population stays at n.
void BM_TimerAdvance(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  struct Rearm {
    TimerWheel* wheel;
    uint64_t* now;
  };
  TimerWheel wheel(0);
  uint64_t now = 0;
  Rearm ctx{&wheel, &now};
  std::vector<TimerEntry> entries(n);
  for (size_t i = 0; i < n; ++i) {
    entries[i].context = &ctx;
    entries[i].callback = [](TimerEntry& e) {
      auto& r = *static_cast<Rearm*>(e.context);
      r.wheel->arm(e, *r.now + 60'000);
    };
    wheel.arm(entries[i], 1 + (i * 7919) % 60'000);
  }
  size_t fired = 0;
  for (auto _ : state) {
    ++now;
    fired += wheel.advance(now);
    benchmark::DoNotOptimize(wheel.next_wakeup_in(now));
  }
  state.counters["fired/ms"] =
      benchmark::Counter(static_cast<double>(fired) / static_cast<double>(state.iterations()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimerAdvance)->Arg(0)->Arg(1'000)->Arg(100'000);

// Push then pop on one thread: the cost of the ring itself.
void BM_SpscPushPopSingleThread(benchmark::State& state) {
  SpscRing<uint64_t> ring(4096);
  uint64_t sum = 0;
  uint64_t i = 0;
  for (auto _ : state) {
    ring.try_push(uint64_t{i++});
    sum += *ring.try_pop();
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SpscPushPopSingleThread);

// Bursts: fill a quarter of the ring, then drain it.
void BM_SpscBurstSingleThread(benchmark::State& state) {
  SpscRing<uint64_t> ring(4096);
  constexpr uint64_t kBurst = 1024;
  uint64_t sum = 0;
  for (auto _ : state) {
    for (uint64_t i = 0; i < kBurst; ++i) ring.try_push(uint64_t{i});
    for (uint64_t i = 0; i < kBurst; ++i) sum += *ring.try_pop();
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kBurst));
}
BENCHMARK(BM_SpscBurstSingleThread);

// A producer thread and a consumer thread, as two shards would use a
// mailbox; reports messages per second through the ring. Both yield when
// the ring is full or empty, so an oversubscribed machine slows the run
// down instead of stalling it for whole scheduler quanta; with fewer than
// two free cores this measures the scheduler, not the ring.
void BM_SpscTwoThreads(benchmark::State& state) {
  constexpr uint64_t kBatch = 1 << 16;
  const auto capacity = static_cast<size_t>(state.range(0));
  uint64_t moved = 0;
  for (auto _ : state) {
    SpscRing<uint64_t> ring(capacity);
    std::thread producer([&ring] {
      for (uint64_t i = 0; i < kBatch; ++i) {
        while (!ring.try_push(uint64_t{i})) std::this_thread::yield();
      }
    });
    uint64_t got = 0;
    uint64_t sum = 0;
    while (got < kBatch) {
      if (auto v = ring.try_pop()) {
        sum += *v;
        ++got;
      } else {
        std::this_thread::yield();
      }
    }
    producer.join();
    benchmark::DoNotOptimize(sum);
    moved += got;
  }
  state.SetItemsProcessed(static_cast<int64_t>(moved));
}
BENCHMARK(BM_SpscTwoThreads)->Arg(256)->Arg(4096)->UseRealTime();

// A response as the HTTP layer queues it (a small head appended, a body of
// `size` bytes appended or borrowed), gathered into iovecs and consumed as
// one full send: the per-response cost of the corked write path.
void BM_OutputQueueAppendGatherConsume(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  const bool borrowed = state.range(1) != 0;
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
  const std::string body(size, 'b');
  BufferPool pool;
  OutputQueue q;
  iovec iov[64];
  size_t iovecs = 0;
  for (auto _ : state) {
    q.append(pool, head);
    if (borrowed) {
      q.append_borrowed(body, nullptr, nullptr);
    } else {
      q.append(pool, body);
    }
    iovecs += q.gather(iov, 64);
    q.consume(pool, q.size());
  }
  benchmark::DoNotOptimize(iovecs);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(head.size() + size));
}
BENCHMARK(BM_OutputQueueAppendGatherConsume)
    ->Args({0, 0})
    ->Args({128, 0})
    ->Args({64 * 1024, 0})
    ->Args({64 * 1024, 1});

// Short sends: the queue holds `size` bytes and each send takes 1460 (one
// segment) of them, so every consume splits a segment.
void BM_OutputQueueShortSends(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  const std::string body(size, 'x');
  BufferPool pool;
  OutputQueue q;
  iovec iov[64];
  for (auto _ : state) {
    q.append(pool, body);
    while (!q.empty()) {
      benchmark::DoNotOptimize(q.gather(iov, 64));
      q.consume(pool, q.size() < 1460 ? q.size() : 1460);
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}
BENCHMARK(BM_OutputQueueShortSends)->Arg(16 * 1024)->Arg(256 * 1024);

}  // namespace
}  // namespace ringshard::engine
