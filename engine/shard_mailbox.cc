// engine/shard_mailbox.cc: what crosses threads into a shard: the
// per-pair mailboxes (post, try_post, backlog, wake-ups), tasks from any
// thread (post_task, and execute on top of it), the drain request and the
// eventfd wake-up.
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>

#include "engine/engine.h"
#include "engine/shard.h"

namespace ringshard::engine {

void Shard::post(unsigned to, const ShardMessage& msg) {
  if (!backlog_[to].empty() || !try_post(to, msg)) {
    backlog_[to].push_back(msg);
    ++backlog_total_;
    metrics_.mailbox_backlogged.add();
  }
}

size_t Shard::mailboxes_allocated() const {
  size_t n = 0;
  for (const auto& inbox : inbox_) n += inbox->get() != nullptr ? 1 : 0;
  return n;
}

bool Shard::try_post(unsigned to, const ShardMessage& msg) {
  Shard& target = engine_.shard(to);
  Inbox& inbox = *target.inbox_[index_];
  SpscRing<ShardMessage>* ring = inbox.ring.load(std::memory_order_relaxed);  // we are its only writer
  if (ring == nullptr) {
    // First message from this shard to `to`: the ring is allocated now, by
    // its only producer, and published to the consumer.
    inbox.owned = std::make_unique<SpscRing<ShardMessage>>(target.mailbox_capacity_);
    ring = inbox.owned.get();
    inbox.ring.store(ring, std::memory_order_release);
  }
  ShardMessage copy = msg;
  if (!ring->try_push(std::move(copy))) {
    if (to == index_) return false;
    // Full: ask the consumer to wake us when it has made room, then look
    // once more, because it may have drained the ring before it could see
    // the flag. The fences order flag and ring on both sides (store-load).
    inbox.sender_blocked.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    ShardMessage again = msg;
    if (!ring->try_push(std::move(again))) return false;
  }
  if (to != index_) wake_shard(target);  // a shard drains its own inbox every turn
  return true;
}

void Shard::wake_shard(Shard& target) {
  if (target.wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_msg_ring(sqe, target.ring_fd(), 0, UserData{Op::kWake, 0, index_}.pack(), 0);
  // The sender needs no completion for the wake-up itself.
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(sqe, UserData{Op::kNone, 0, 0}.pack());
}

bool Shard::flush_backlog() {
  if (backlog_total_ == 0) return false;
  for (unsigned to = 0; to < backlog_.size(); ++to) {
    auto& q = backlog_[to];
    if (!q.empty() && engine_.shard(to).ring_failed()) {
      // Nobody will ever read them (see abandon_after_ring_failure).
      backlog_total_ -= q.size();
      q.clear();
      continue;
    }
    while (!q.empty() && try_post(to, q.front())) {
      q.pop_front();
      --backlog_total_;
    }
  }
  return backlog_total_ != 0;
}

void Shard::run_mailboxes() {
  // Clear the flag before draining: a producer that pushes after our drain
  // sees it clear and sends a new wake-up.
  if (wake_pending_.load(std::memory_order_relaxed)) {
    wake_pending_.store(false, std::memory_order_relaxed);
    // The store must be visible before we read the rings' tails (a
    // store-load order, which acquire/release alone does not give on
    // weakly ordered CPUs); the producer's exchange pairs with it.
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  for (unsigned from = 0; from < inbox_.size(); ++from) {
    Inbox& inbox = *inbox_[from];
    SpscRing<ShardMessage>* ring = inbox.get();
    if (ring == nullptr) continue;  // that shard has never posted here
    // Bounded per turn so one busy sender cannot starve the I/O.
    unsigned popped = 0;
    for (; popped < 4096; ++popped) {
      auto m = ring->try_pop();
      if (!m) break;
      metrics_.mailbox_in.add();
      m->fn(*this, *m);
    }
    if (popped == 0 || from == index_) continue;
    // Room was made: a sender waiting on this ring gets its wake-up now.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (inbox.sender_blocked.load(std::memory_order_relaxed) &&
        inbox.sender_blocked.exchange(false, std::memory_order_acq_rel)) {
      wake_shard(engine_.shard(from));
    }
  }
}

void Shard::post_task(ShardTask* task) {
  switch (tasks_.push(task)) {
    case ShardTaskQueue::Push::kQueuedFirst:
      // The shard may be blocked in its wait; later posts ride on this
      // wake-up until the shard takes the queue. (After an exit this writes
      // to an eventfd nobody reads, which is harmless: it stays open until
      // the Shard is destroyed.)
      wake();
      return;
    case ShardTaskQueue::Push::kQueued:
      return;
    case ShardTaskQueue::Push::kClosed:
      task->run(task, nullptr);
      return;
  }
}

void Shard::run_tasks() {
  // One exchange per turn: tasks posted while these run (by them, or by
  // other threads) wait for the next turn, whose wake-up their post sent.
  ShardTask* task = tasks_.take_all();
  while (task != nullptr) {
    ShardTask* next = task->next;  // read first: run() may free or re-post it
    metrics_.tasks_run.add();
    task->run(task, this);
    task = next;
  }
}

void Shard::cancel_tasks() {
  ShardTask* task = tasks_.close();
  while (task != nullptr) {
    ShardTask* next = task->next;
    task->run(task, nullptr);
    task = next;
  }
}

namespace {

// execute() as a task: the closure travels in a heap block the task frees.
struct ExecuteTask final : ShardTask {
  std::function<void(Shard&)> fn;
};

void run_execute(ShardTask* self, Shard* shard) {
  std::unique_ptr<ExecuteTask> task(static_cast<ExecuteTask*>(self));
  if (shard != nullptr) task->fn(*shard);
}

}  // namespace

void Shard::execute(std::function<void(Shard&)> fn) {
  auto task = std::make_unique<ExecuteTask>();
  task->run = &run_execute;
  task->fn = std::move(fn);
  post_task(task.release());
}

void Shard::request_drain() {
  drain_requested_.store(true, std::memory_order_release);
  wake();
}

void Shard::wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof(one));
}

}  // namespace ringshard::engine
