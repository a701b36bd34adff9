// Micro benchmarks of the cross-shard mailbox on live shards (ring wake-ups
// included), of Shard::post_task from other threads (eventfd wake-ups
// included), and of provided-buffer recycling.
#include <benchmark/benchmark.h>
#include <liburing.h>
#include <sys/mman.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/engine.h"

namespace {

using ringshard::engine::ConnectionHandler;
using ringshard::engine::Engine;
using ringshard::engine::EngineConfig;
using ringshard::engine::Shard;
using ringshard::engine::ShardMessage;
using ringshard::engine::ShardTask;

class NoHandler final : public ConnectionHandler {
 public:
  void on_data(ringshard::engine::Connection&, std::span<const char>) override {}
};

std::unique_ptr<Engine> two_shards() {
  EngineConfig ec;
  ec.shards = 2;
  ec.listen = false;
  ec.pin_threads = false;
  ec.recv_buffer_count = 16;
  ec.make_handler = [](Shard&) { return std::make_unique<NoHandler>(); };
  auto e = std::make_unique<Engine>(std::move(ec));
  if (!e->start().ok()) return nullptr;
  return e;
}

struct Done {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  void signal() {
    std::lock_guard l(mu);
    done = true;
    cv.notify_all();
  }
  void wait() {
    std::unique_lock l(mu);
    cv.wait(l, [&] { return done; });
    done = false;
  }
};

// Ping-pong: one message in flight between two shards, so every hop pays
// the wake-up (MSG_RING) and a loop turn: the hand-off latency.
struct PingPong {
  uint64_t left = 0;
  Done done;
};

void bounce(Shard& s, const ShardMessage& m) {
  auto* pp = static_cast<PingPong*>(m.ptr);
  if (--pp->left == 0) {
    pp->done.signal();
    return;
  }
  ShardMessage next = m;
  s.post(1 - s.index(), next);
}

void BM_MailboxPingPong(benchmark::State& state) {
  auto engine = two_shards();
  if (!engine) {
    state.SkipWithError("no io_uring");
    return;
  }
  PingPong pp;
  const uint64_t hops = 10'000;
  for (auto _ : state) {
    pp.left = hops;
    engine->execute(0, [&](Shard& s) { s.post(1, ShardMessage{&bounce, &pp, 0, 0}); });
    pp.done.wait();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * hops));
  engine->drain();
  engine->wait();
}
BENCHMARK(BM_MailboxPingPong)->UseRealTime()->Unit(benchmark::kMillisecond);

// Streaming: shard 0 posts a burst, shard 1 consumes: hand-off throughput.
struct Stream {
  uint64_t received = 0;
  uint64_t expected = 0;
  Done done;
};

void count(Shard&, const ShardMessage& m) {
  auto* st = static_cast<Stream*>(m.ptr);
  if (++st->received == st->expected) st->done.signal();
}

void BM_MailboxStream(benchmark::State& state) {
  auto engine = two_shards();
  if (!engine) {
    state.SkipWithError("no io_uring");
    return;
  }
  Stream st;
  const uint64_t n = 100'000;
  for (auto _ : state) {
    st.received = 0;
    st.expected = n;
    engine->execute(0, [&](Shard& s) {
      for (uint64_t i = 0; i < n; ++i) s.post(1, ShardMessage{&count, &st, i, 0});
    });
    st.done.wait();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  engine->drain();
  engine->wait();
}
BENCHMARK(BM_MailboxStream)->UseRealTime()->Unit(benchmark::kMillisecond);

// post_task throughput: `producers` threads (not shards) each post a burst
// of caller-owned tasks to one shard, which counts them. Covers the CAS, the
// coalesced eventfd wake-ups and the shard's take-all pass; the tasks are
// allocated once, outside the timing.
struct TaskStream {
  uint64_t received = 0;  // the shard's thread only
  uint64_t expected = 0;
  Done done;
};

struct CountedTask : ShardTask {
  TaskStream* stream = nullptr;
};

void count_task(ShardTask* self, Shard* shard) {
  if (shard == nullptr) return;
  TaskStream* st = static_cast<CountedTask*>(self)->stream;
  if (++st->received == st->expected) st->done.signal();
}

void BM_PostTask(benchmark::State& state) {
  auto engine = two_shards();
  if (!engine) {
    state.SkipWithError("no io_uring");
    return;
  }
  const unsigned producers = static_cast<unsigned>(state.range(0));
  const uint64_t per_producer = 100'000;
  TaskStream st;
  std::vector<CountedTask> tasks(producers * per_producer);
  for (CountedTask& t : tasks) {
    t.run = &count_task;
    t.stream = &st;
  }
  Shard& target = engine->shard(1);
  const uint64_t turns_before = target.metrics().loop_turns.get();
  for (auto _ : state) {
    // Set on the shard's thread: its counter is not shared with this one.
    engine->execute(1, [&](Shard&) {
      st.received = 0;
      st.expected = tasks.size();
      st.done.signal();
    });
    st.done.wait();
    std::vector<std::thread> threads;
    for (unsigned p = 0; p < producers; ++p) {
      threads.emplace_back([&, p] {
        CountedTask* mine = tasks.data() + p * per_producer;
        for (uint64_t i = 0; i < per_producer; ++i) target.post_task(&mine[i]);
      });
    }
    for (auto& t : threads) t.join();
    st.done.wait();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * tasks.size()));
  // How many tasks one shard turn took on average: the coalescing at work.
  const uint64_t turns = target.metrics().loop_turns.get() - turns_before;
  state.counters["tasks_per_turn"] =
      static_cast<double>(state.iterations() * tasks.size()) / static_cast<double>(turns ? turns : 1);
  engine->drain();
  engine->wait();
}
BENCHMARK(BM_PostTask)->Arg(1)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);

// execute(): post_task plus an allocation and a std::function per call
// (control plane), for comparison.
void BM_Execute(benchmark::State& state) {
  auto engine = two_shards();
  if (!engine) {
    state.SkipWithError("no io_uring");
    return;
  }
  const uint64_t n = 100'000;
  TaskStream st;
  for (auto _ : state) {
    engine->execute(1, [&](Shard&) {
      st.received = 0;
      st.expected = n;
      st.done.signal();
    });
    st.done.wait();
    for (uint64_t i = 0; i < n; ++i) {
      engine->execute(1, [&st](Shard&) {
        if (++st.received == st.expected) st.done.signal();
      });
    }
    st.done.wait();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  engine->drain();
  engine->wait();
}
BENCHMARK(BM_Execute)->UseRealTime()->Unit(benchmark::kMillisecond);

// Returning a received buffer to the provided-buffer ring: what the engine
// does once per receive completion (add), and once per batch (advance).
void BM_BufferRingRecycle(benchmark::State& state) {
  io_uring ring;
  if (io_uring_queue_init(8, &ring, 0) != 0) {
    state.SkipWithError("no io_uring");
    return;
  }
  const unsigned entries = 1024;
  const size_t size = 16 * 1024;
  void* r = mmap(nullptr, sizeof(io_uring_buf) * entries, PROT_READ | PROT_WRITE,
                 MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  auto* br = static_cast<io_uring_buf_ring*>(r);
  char* bufs = static_cast<char*>(
      mmap(nullptr, size * entries, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0));
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br);
  reg.ring_entries = entries;
  reg.bgid = 0;
  if (io_uring_register_buf_ring(&ring, &reg, 0) != 0) {
    state.SkipWithError("no provided buffer rings");
    io_uring_queue_exit(&ring);
    return;
  }
  io_uring_buf_ring_init(br);
  const int mask = io_uring_buf_ring_mask(entries);
  const unsigned batch = static_cast<unsigned>(state.range(0));
  unsigned bid = 0;
  for (auto _ : state) {
    for (unsigned i = 0; i < batch; ++i) {
      io_uring_buf_ring_add(br, bufs + size_t{bid} * size, size, static_cast<unsigned short>(bid),
                            mask, static_cast<int>(i));
      bid = (bid + 1) & (entries - 1);
    }
    io_uring_buf_ring_advance(br, static_cast<int>(batch));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  io_uring_queue_exit(&ring);
  munmap(r, sizeof(io_uring_buf) * entries);
  munmap(bufs, size * entries);
}
BENCHMARK(BM_BufferRingRecycle)->Arg(1)->Arg(16)->Arg(64);

}  // namespace
