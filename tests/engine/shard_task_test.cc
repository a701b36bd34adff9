// Tests for Shard::post_task (engine/shard_task.h): the queue on its own
// (order, close), then live engines: tasks from several threads run once
// each, on the right shard's thread, FIFO per producer; a shard posts to
// another and to itself; tasks posted before the loop starts run, tasks
// queued when a shard exits and tasks posted after it are cancelled exactly
// once; and a bounded stress where posts race the exit. execute(), built on
// it, keeps its contract.
#include "engine/shard_task.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/ring_setup.h"

namespace ringshard::engine {
namespace RS_UNITY_ID {

using std::chrono::steady_clock;
constexpr auto kDeadline = std::chrono::seconds(60);  // a safety net only

int io_uring_probe_result() {
  static const int rc = [] {
    int r = 0;
    std::thread([&r] { r = probe_io_uring(); }).join();
    return r;
  }();
  return rc;
}

#define SKIP_WITHOUT_IO_URING()                         \
  if (const int rc = io_uring_probe_result(); rc < 0) { \
    GTEST_SKIP() << describe_ring_failure(rc);          \
  }

class NullHandler final : public ConnectionHandler {
 public:
  void on_data(Connection&, std::span<const char>) override {}
};

// Records each shard's thread (make_handler runs on it) so that a task can
// check where it runs. Slot i is written by shard i's thread before start()
// returns and read by that thread or after wait().
struct ShardThreads {
  std::thread::id ids[8];
};

EngineConfig task_config(unsigned shards, ShardThreads* threads = nullptr) {
  EngineConfig cfg;
  cfg.shards = shards;
  cfg.pin_threads = false;  // CI has two cores
  cfg.listen = false;
  cfg.recv_buffer_count = 16;
  cfg.make_handler = [threads](Shard& s) {
    if (threads != nullptr) threads->ids[s.index()] = std::this_thread::get_id();
    return std::make_unique<NullHandler>();
  };
  return cfg;
}

// Counts calls until `expected` arrived; wait() is the test's sync point.
class Countdown {
 public:
  explicit Countdown(uint64_t expected) : expected_(expected) {}
  void hit() {
    if (count_.fetch_add(1, std::memory_order_acq_rel) + 1 == expected_) {
      std::lock_guard lock(mu_);
      done_ = true;
      cv_.notify_all();
    }
  }
  bool wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, steady_clock::now() + kDeadline, [&] { return done_; });
  }
  uint64_t count() const { return count_.load(std::memory_order_acquire); }

 private:
  const uint64_t expected_;
  std::atomic<uint64_t> count_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

// --- the queue on its own ---------------------------------------------------------

TEST(ShardTaskQueue, TakesEverythingOldestFirstAndReportsTheFirstPush) {
  ShardTaskQueue q;
  ShardTask t[4];
  EXPECT_EQ(q.take_all(), nullptr);
  EXPECT_EQ(q.push(&t[0]), ShardTaskQueue::Push::kQueuedFirst);
  EXPECT_EQ(q.push(&t[1]), ShardTaskQueue::Push::kQueued);
  EXPECT_EQ(q.push(&t[2]), ShardTaskQueue::Push::kQueued);
  ShardTask* list = q.take_all();
  ASSERT_EQ(list, &t[0]);
  ASSERT_EQ(list->next, &t[1]);
  ASSERT_EQ(list->next->next, &t[2]);
  EXPECT_EQ(list->next->next->next, nullptr);
  EXPECT_EQ(q.take_all(), nullptr);
  // Emptied: the next push is the one that must wake the consumer.
  EXPECT_EQ(q.push(&t[3]), ShardTaskQueue::Push::kQueuedFirst);
}

TEST(ShardTaskQueue, CloseReturnsWhatWasQueuedAndRefusesLaterPushes) {
  ShardTaskQueue q;
  ShardTask t[3];
  q.push(&t[0]);
  q.push(&t[1]);
  EXPECT_FALSE(q.closed());
  ShardTask* left = q.close();
  EXPECT_TRUE(q.closed());
  ASSERT_EQ(left, &t[0]);
  ASSERT_EQ(left->next, &t[1]);
  EXPECT_EQ(left->next->next, nullptr);
  EXPECT_EQ(q.push(&t[2]), ShardTaskQueue::Push::kClosed);
  EXPECT_EQ(q.take_all(), nullptr);
  EXPECT_EQ(q.close(), nullptr) << "closing twice hands nothing out twice";
}

// --- live shards ------------------------------------------------------------------

// One task per (producer, sequence number), owned by the test: nothing is
// allocated per post. `expected` is per (producer, shard) and touched only
// on that shard's thread.
struct Fanout;

struct SeqTask : ShardTask {
  Fanout* fanout = nullptr;
  unsigned producer = 0;
  unsigned target = 0;
  uint64_t seq = 0;  // per (producer, target)
  std::atomic<int> calls{0};
};

constexpr unsigned kProducers = 4;
constexpr unsigned kShards = 2;

struct Fanout {
  explicit Fanout(uint64_t total) : done(total) {}
  Engine* engine = nullptr;
  ShardThreads threads;
  uint64_t expected[kProducers][kShards] = {};
  uint64_t errors[kShards] = {};  // each written by its shard only
  std::atomic<uint64_t> cancelled{0};
  Countdown done;
};

void run_seq(ShardTask* self, Shard* shard) {
  auto& t = *static_cast<SeqTask*>(self);
  t.calls.fetch_add(1, std::memory_order_relaxed);
  Fanout& f = *t.fanout;
  if (shard == nullptr) {
    f.cancelled.fetch_add(1, std::memory_order_relaxed);
    f.done.hit();
    return;
  }
  const unsigned i = shard->index();
  if (i != t.target || std::this_thread::get_id() != f.threads.ids[i] ||
      f.expected[t.producer][i] != t.seq) {
    ++f.errors[i];
  }
  f.expected[t.producer][i] = t.seq + 1;
  f.done.hit();
}

TEST(ShardTask, TasksFromFourThreadsRunOnceOnTheirShardInOrderPerProducer) {
  SKIP_WITHOUT_IO_URING();
  constexpr uint64_t kPerProducer = 20'000;
  auto f = std::make_unique<Fanout>(kPerProducer * kProducers);
  Engine engine(task_config(kShards, &f->threads));
  ASSERT_TRUE(engine.start().ok());
  std::vector<std::unique_ptr<SeqTask[]>> tasks;
  for (unsigned p = 0; p < kProducers; ++p) {
    tasks.push_back(std::make_unique<SeqTask[]>(kPerProducer));
    uint64_t next[kShards] = {};
    for (uint64_t k = 0; k < kPerProducer; ++k) {
      SeqTask& t = tasks[p][k];
      t.run = &run_seq;
      t.fanout = f.get();
      t.producer = p;
      t.target = static_cast<unsigned>((k + p) % kShards);
      t.seq = next[t.target]++;
    }
  }
  std::vector<std::thread> producers;
  for (unsigned p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (uint64_t k = 0; k < kPerProducer; ++k) {
        engine.shard(tasks[p][k].target).post_task(&tasks[p][k]);
      }
    });
  }
  for (auto& t : producers) t.join();
  EXPECT_TRUE(f->done.wait()) << f->done.count() << " of " << kPerProducer * kProducers;
  engine.drain();
  engine.wait();

  EXPECT_EQ(f->cancelled.load(), 0u);
  for (unsigned i = 0; i < kShards; ++i) EXPECT_EQ(f->errors[i], 0u) << "shard " << i;
  uint64_t ran = 0;
  for (unsigned i = 0; i < kShards; ++i) ran += engine.shard(i).metrics().tasks_run.get();
  EXPECT_EQ(ran, kPerProducer * kProducers);
  for (auto& per : tasks) {
    for (uint64_t k = 0; k < kPerProducer; ++k) ASSERT_EQ(per[k].calls.load(), 1) << k;
  }
}

// A task on shard 0 posts to shard 1 (a plugin answering on another shard)
// and to shard 0 itself; the self-post runs in a later pass, not inside the
// one still running its poster.
struct Relay : ShardTask {
  Engine* engine = nullptr;
  ShardThreads* threads = nullptr;
  Relay* to_other = nullptr;  // set on the first task only
  Relay* to_self = nullptr;   // set on the first task only
  Relay* poster = nullptr;    // set on the self-posted task: the first
  bool running = false;       // the first, while it runs (shard 0 only)
  bool ran_nested = false;    // the self-posted ran inside its poster
  unsigned ran_on = 99;
  bool right_thread = false;
  Countdown* done = nullptr;
};

void run_relay(ShardTask* self, Shard* shard) {
  auto& r = *static_cast<Relay*>(self);
  if (shard == nullptr) return;
  r.ran_on = shard->index();
  r.right_thread = std::this_thread::get_id() == r.threads->ids[shard->index()];
  if (r.to_other != nullptr) {
    r.running = true;
    r.engine->shard(1).post_task(r.to_other);
    shard->post_task(r.to_self);
    r.running = false;
  }
  if (r.poster != nullptr) r.ran_nested = r.poster->running;
  r.done->hit();
}

TEST(ShardTask, AShardPostsToAnotherAndToItself) {
  SKIP_WITHOUT_IO_URING();
  ShardThreads threads;
  Engine engine(task_config(2, &threads));
  ASSERT_TRUE(engine.start().ok());
  Countdown done(3);
  Relay first, other, again;
  for (Relay* r : {&first, &other, &again}) {
    r->run = &run_relay;
    r->engine = &engine;
    r->threads = &threads;
    r->done = &done;
  }
  first.to_other = &other;
  first.to_self = &again;
  again.poster = &first;
  engine.shard(0).post_task(&first);
  ASSERT_TRUE(done.wait());
  engine.drain();
  engine.wait();
  EXPECT_EQ(first.ran_on, 0u);
  EXPECT_EQ(other.ran_on, 1u);
  EXPECT_EQ(again.ran_on, 0u);
  EXPECT_TRUE(first.right_thread);
  EXPECT_TRUE(other.right_thread);
  EXPECT_TRUE(again.right_thread);
  EXPECT_FALSE(again.ran_nested);
}

struct Flagged : ShardTask {
  std::atomic<int> runs{0};
  std::atomic<int> cancels{0};
  std::atomic<std::thread::id> cancelled_on{};
  Countdown* done = nullptr;
};

void run_flagged(ShardTask* self, Shard* shard) {
  auto& t = *static_cast<Flagged*>(self);
  if (shard == nullptr) {
    t.cancelled_on.store(std::this_thread::get_id());
    t.cancels.fetch_add(1);
  } else {
    t.runs.fetch_add(1);
  }
  if (t.done != nullptr) t.done->hit();
}

TEST(ShardTask, PostedBeforeTheLoopStartsRunsOnceItDoes) {
  SKIP_WITHOUT_IO_URING();
  // make_handler runs on the shard's thread before its loop: the earliest
  // moment a task can be posted.
  Countdown done(1);
  Flagged early;
  early.run = &run_flagged;
  early.done = &done;
  EngineConfig cfg = task_config(1);
  cfg.make_handler = [&early](Shard& s) {
    s.post_task(&early);
    return std::make_unique<NullHandler>();
  };
  Engine engine(cfg);
  ASSERT_TRUE(engine.start().ok());
  EXPECT_TRUE(done.wait());
  engine.drain();
  engine.wait();
  EXPECT_EQ(early.runs.load(), 1);
  EXPECT_EQ(early.cancels.load(), 0);
}

TEST(ShardTask, PostedAfterTheEngineStoppedIsCancelledOnceByPostTask) {
  SKIP_WITHOUT_IO_URING();
  Engine engine(task_config(2));
  ASSERT_TRUE(engine.start().ok());
  engine.drain();
  engine.wait();
  Flagged late[2];
  for (unsigned i = 0; i < 2; ++i) {
    late[i].run = &run_flagged;
    engine.shard(i).post_task(&late[i]);
    // Synchronously, on this thread: the poster may free the task at once.
    EXPECT_EQ(late[i].cancels.load(), 1);
    EXPECT_EQ(late[i].cancelled_on.load(), std::this_thread::get_id());
    EXPECT_EQ(late[i].runs.load(), 0);
  }
}

// Tasks queued when the loop exits: the turn hook runs after the turn's
// tasks and before the exit check, so what a one-shard engine posts from
// it in its draining turn is still queued when the loop leaves.
TEST(ShardTask, TasksQueuedWhenTheShardExitsAreCancelledOnceAtItsExit) {
  SKIP_WITHOUT_IO_URING();
  constexpr int kLeft = 16;
  ShardThreads threads;
  Flagged left[kLeft];
  for (Flagged& t : left) t.run = &run_flagged;
  Engine engine(task_config(1, &threads));
  ASSERT_TRUE(engine.start().ok());
  Countdown hooked(1);
  engine.execute(0, [&](Shard& s) {
    s.set_turn_hook([&s, &left, posted = false]() mutable -> uint64_t {
      if (s.draining() && !posted) {
        posted = true;
        for (Flagged& t : left) s.post_task(&t);
      }
      return 0;
    });
    hooked.hit();
  });
  ASSERT_TRUE(hooked.wait());
  engine.drain();
  engine.wait();
  for (const Flagged& t : left) {
    EXPECT_EQ(t.runs.load(), 0);
    EXPECT_EQ(t.cancels.load(), 1);
    EXPECT_EQ(t.cancelled_on.load(), threads.ids[0]) << "cancelled by the exiting shard";
  }
  EXPECT_EQ(engine.shard(0).metrics().tasks_run.get(), 1u) << "only execute()'s own task";
}

// Posts race the exit: four threads keep posting to two shards while the
// engine drains and stops. Every task gets exactly one call, run or cancel.
TEST(ShardTask, PostsRacingTheExitEachGetExactlyOneCall) {
  SKIP_WITHOUT_IO_URING();
  constexpr uint64_t kPerProducer = 25'000;
  auto f = std::make_unique<Fanout>(kPerProducer * kProducers);
  Engine engine(task_config(kShards, &f->threads));
  ASSERT_TRUE(engine.start().ok());
  std::vector<std::unique_ptr<SeqTask[]>> tasks;
  for (unsigned p = 0; p < kProducers; ++p) {
    tasks.push_back(std::make_unique<SeqTask[]>(kPerProducer));
    uint64_t next[kShards] = {};
    for (uint64_t k = 0; k < kPerProducer; ++k) {
      SeqTask& t = tasks[p][k];
      t.run = &run_seq;
      t.fanout = f.get();
      t.producer = p;
      t.target = static_cast<unsigned>((k * 7 + p) % kShards);
      t.seq = next[t.target]++;
    }
  }
  std::atomic<uint64_t> posted{0};
  std::vector<std::thread> producers;
  for (unsigned p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (uint64_t k = 0; k < kPerProducer; ++k) {
        engine.shard(tasks[p][k].target).post_task(&tasks[p][k]);
        posted.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  // Drain once a quarter went in, so the exit falls among the posts.
  while (posted.load(std::memory_order_relaxed) < kPerProducer) std::this_thread::yield();
  engine.drain();
  engine.wait();
  for (auto& t : producers) t.join();
  EXPECT_TRUE(f->done.wait());

  for (unsigned i = 0; i < kShards; ++i) EXPECT_EQ(f->errors[i], 0u) << "shard " << i;
  uint64_t ran = 0;
  for (unsigned i = 0; i < kShards; ++i) ran += engine.shard(i).metrics().tasks_run.get();
  EXPECT_EQ(ran + f->cancelled.load(), kPerProducer * kProducers);
  for (auto& per : tasks) {
    for (uint64_t k = 0; k < kPerProducer; ++k) ASSERT_EQ(per[k].calls.load(), 1) << k;
  }
}

// execute() rides on post_task: it still runs on the shard, and after the
// exit its function is destroyed without running.
TEST(ShardTask, ExecuteAfterTheEngineStoppedDestroysTheFunctionUnrun) {
  SKIP_WITHOUT_IO_URING();
  Engine engine(task_config(1));
  ASSERT_TRUE(engine.start().ok());
  Countdown ran(1);
  engine.execute(0, [&ran](Shard&) { ran.hit(); });
  ASSERT_TRUE(ran.wait());
  engine.drain();
  engine.wait();
  auto token = std::make_shared<int>(0);
  bool called = false;
  engine.execute(0, [token, &called](Shard&) { called = true; });
  EXPECT_FALSE(called);
  EXPECT_EQ(token.use_count(), 1) << "the closure was destroyed";
}

}  // namespace
}  // namespace ringshard::engine
