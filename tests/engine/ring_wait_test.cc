// engine/ring_wait.h: the batching policy, and a shard that batches its
// waits after a turn that reaped a burst of completions (or never does,
// when batching is off or the kernel cannot).
#include "engine/ring_wait.h"

#include <sys/socket.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/ring_setup.h"
#include "tests/support/http_client.h"

namespace ringshard::engine {
namespace RS_UNITY_ID {

using namespace std::chrono_literals;

TEST(BatchPolicy, LightLoadWaitsForOneCompletion) {
  const BatchPolicy p{.min_wait_us = 50};
  EXPECT_EQ(p.want(0, 1'000'000'000), 1u);
  EXPECT_EQ(p.want(BatchPolicy::kMinBatch - 1, 1'000'000'000), 1u);
}

TEST(BatchPolicy, AsksForTwiceTheLastBatchUpToTheCap) {
  const BatchPolicy p{.min_wait_us = 50};
  EXPECT_EQ(p.want(BatchPolicy::kMinBatch, 1'000'000'000), 2 * BatchPolicy::kMinBatch);
  EXPECT_EQ(p.want(10, 1'000'000'000), 20u);
  EXPECT_EQ(p.want(BatchPolicy::kMaxBatch / 2, 1'000'000'000), BatchPolicy::kMaxBatch);
  EXPECT_EQ(p.want(1000, 1'000'000'000), BatchPolicy::kMaxBatch);
}

TEST(BatchPolicy, OffOrATimerDueWithinTheMinWaitGivesThePlainWait) {
  EXPECT_EQ(BatchPolicy{.min_wait_us = 0}.want(32, 1'000'000'000), 1u);
  const BatchPolicy p{.min_wait_us = 50};
  EXPECT_EQ(p.want(32, 50'000), 1u) << "the timer comes first";
  EXPECT_EQ(p.want(32, 0), 1u);
  EXPECT_EQ(p.want(32, 50'001), 64u);
}

class EchoHandler final : public ConnectionHandler {
 public:
  void on_data(Connection& conn, std::span<const char> data) override {
    conn.write(std::string_view(data.data(), data.size()));
  }
};

// Whether this kernel and ring mode batch: probed on a throwaway thread
// (SINGLE_ISSUER ties a ring to its creator).
bool kernel_can_batch(int& probe_error) {
  bool can = false;
  std::thread([&] {
    io_uring ring{};
    unsigned flags = 0;
    probe_error = create_ring(ring, RingSetup{.sq_entries = 8, .cq_entries = 16}, flags);
    if (probe_error == 0) {
      can = ring_can_batch(ring, flags);
      io_uring_queue_exit(&ring);
    }
  }).join();
  return can;
}

struct Burst {
  uint64_t batched_waits = 0;
  unsigned batch_wait_us = 0;
};

// One shard echoing to 16 connections. The shard is held in a task while
// every client sends a byte, so its next wait finds all 16 receives at
// once; every client must get its echo, and the turn after that burst is
// a batched wait when batching is on.
Burst echo_burst(uint32_t batch_wait_us) {
  EngineConfig cfg;
  cfg.shards = 1;
  cfg.pin_threads = false;
  cfg.listen_host = "127.0.0.1";
  cfg.listen_port = 0;
  cfg.recv_buffer_count = 256;
  cfg.batch_wait_us = batch_wait_us;
  cfg.defer_accept = false;  // accepted at once, not on the first byte
  cfg.make_handler = [](Shard&) { return std::make_unique<EchoHandler>(); };
  Engine engine(cfg);
  Burst out;
  if (!engine.start().ok()) {
    ADD_FAILURE() << "engine did not start";
    return out;
  }
  constexpr unsigned kClients = 16;
  std::vector<test::TestConnection> clients;
  for (unsigned i = 0; i < kClients; ++i) clients.emplace_back(engine.port());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (engine.shard(0).metrics().accepted.get() < kClients &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(engine.shard(0).metrics().accepted.get(), kClients);

  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool held = false;
    bool open = false;
  };
  auto gate = std::make_shared<Gate>();
  engine.execute(0, [gate](Shard&) {
    std::unique_lock lock(gate->mu);
    gate->held = true;
    gate->cv.notify_all();
    gate->cv.wait(lock, [&] { return gate->open; });
  });
  {
    std::unique_lock lock(gate->mu);
    EXPECT_TRUE(gate->cv.wait_for(lock, 10s, [&] { return gate->held; }));
  }
  for (auto& c : clients) EXPECT_TRUE(c.send("x"));
  {
    std::lock_guard lock(gate->mu);
    gate->open = true;
    gate->cv.notify_all();
  }
  for (auto& c : clients) {
    char b = 0;
    EXPECT_EQ(::recv(c.fd(), &b, 1, 0), 1);
    EXPECT_EQ(b, 'x');
  }
  // The echoes were flushed in the burst's turn; the wait after it is the
  // batched one. A second round trip proves that wait has returned.
  EXPECT_TRUE(clients[0].send("y"));
  char b = 0;
  EXPECT_EQ(::recv(clients[0].fd(), &b, 1, 0), 1);
  out.batched_waits = engine.shard(0).metrics().batched_waits.get();
  out.batch_wait_us = engine.batch_wait_us();
  for (auto& c : clients) c.close();
  engine.drain();
  engine.wait();
  return out;
}

TEST(RingWait, ABurstMakesTheNextWaitABatchedOne) {
  int probe_error = 0;
  const bool can = kernel_can_batch(probe_error);
  if (probe_error < 0) GTEST_SKIP() << describe_ring_failure(probe_error);
  const Burst b = echo_burst(50);
  if (!can) {
    EXPECT_EQ(b.batch_wait_us, 0u) << "no DEFER_TASKRUN or no min wait: batching is off";
    EXPECT_EQ(b.batched_waits, 0u);
    GTEST_SKIP() << "this kernel has no IORING_FEAT_MIN_TIMEOUT (Linux 6.13+)";
  }
  EXPECT_EQ(b.batch_wait_us, 50u);
  EXPECT_GE(b.batched_waits, 1u);
}

TEST(RingWait, BatchingOffNeverBatches) {
  int probe_error = 0;
  kernel_can_batch(probe_error);
  if (probe_error < 0) GTEST_SKIP() << describe_ring_failure(probe_error);
  const Burst b = echo_burst(0);
  EXPECT_EQ(b.batch_wait_us, 0u);
  EXPECT_EQ(b.batched_waits, 0u);
}

}  // namespace
}  // namespace ringshard::engine
