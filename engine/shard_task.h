// engine/shard_task.h: ShardTask, a piece of work any thread hands to a
// shard (Shard::post_task), and ShardTaskQueue, the lock-free list a shard
// keeps them in until its loop runs them.
//
//   struct QueryDone : ShardTask {       // caller-owned, intrusive
//     std::string rows;
//     RequestHandle request;
//   };
//   void on_query_done(ShardTask* self, Shard* shard) {
//     std::unique_ptr<QueryDone> done(static_cast<QueryDone*>(self));
//     if (shard == nullptr) return;      // the shard is gone: just free it
//     ... answer done->request on *shard ...
//   }
//   // on a plugin's SQLite thread:
//   auto* done = new QueryDone{...};
//   done->run = &on_query_done;
//   shard.post_task(done);
//
// Ownership: the caller owns the task; from post until its run() is called
// the queue holds it (through `next`) and nobody may touch it. run() is
// called exactly once per post, and from its first instruction the task is
// the caller's again: it may free it or post it again.
//
// ShardTaskQueue is a Treiber stack that is only ever pushed and emptied
// whole: producers CAS a task onto `head_`; the consumer takes the whole
// list with one exchange and reverses it. Pushes take effect in one total
// order (that of the successful CASes), so the reversed list is FIFO in
// that order, per producer in particular. No node is ever popped singly, so
// there is no ABA problem, and nothing is allocated.
//
// Closing is a value of the same word: `head_` == &closed_marker_. The
// consumer closes with one exchange that returns what was still queued, so
// every push lands on exactly one side of it: before (its task is in the
// returned list, which the consumer cancels) or after (the push sees the
// marker, fails, and its caller cancels the task). No flag to check
// separately, hence no window between "checked the flag" and "pushed".
#pragma once

#include <atomic>

namespace ringshard::engine {

class Shard;

struct ShardTask {
  ShardTask* next = nullptr;  // owned by the queue while queued
  // Runs on the shard's thread with shard != nullptr, or, when the shard
  // exited before running it, with shard == nullptr ("cancelled"), on the
  // posting thread (inside post_task) or on the thread tearing the shard
  // down. Exactly one call per post. It must not throw: nothing on the
  // shard's thread catches it (the data path has no exceptions).
  void (*run)(ShardTask* self, Shard* shard) = nullptr;
};

class ShardTaskQueue {
 public:
  enum class Push {
    kQueued,       // behind others: whoever queued the first has woken the consumer
    kQueuedFirst,  // the queue was empty: the caller wakes the consumer
    kClosed,       // not queued: the caller cancels the task
  };

  ShardTaskQueue() = default;
  ShardTaskQueue(const ShardTaskQueue&) = delete;
  ShardTaskQueue& operator=(const ShardTaskQueue&) = delete;

  // Any thread. Lock-free (a CAS loop); allocates nothing.
  Push push(ShardTask* task) {
    ShardTask* head = head_.load(std::memory_order_relaxed);
    do {
      if (head == &closed_marker_) return Push::kClosed;
      task->next = head;
      // Release: the task's contents (and those of every task under it,
      // through the release sequence of the CASes) are visible to the
      // consumer's acquiring exchange.
    } while (!head_.compare_exchange_weak(head, task, std::memory_order_release,
                                          std::memory_order_relaxed));
    return head == nullptr ? Push::kQueuedFirst : Push::kQueued;
  }

  // Consumer only: every queued task, oldest first (linked by `next`), or
  // null. The queue is empty afterwards, so the next push is kQueuedFirst.
  ShardTask* take_all() {
    // Only the consumer writes the marker, so this load cannot miss it.
    if (head_.load(std::memory_order_relaxed) == &closed_marker_) return nullptr;
    return reverse(head_.exchange(nullptr, std::memory_order_acquire));
  }

  // Consumer only (or any thread once the consumer has stopped): closes the
  // queue for good and returns what was still queued, oldest first; later
  // pushes return kClosed. Closing again returns null.
  ShardTask* close() {
    ShardTask* list = head_.exchange(&closed_marker_, std::memory_order_acq_rel);
    return list == &closed_marker_ ? nullptr : reverse(list);
  }

  // Any thread; a snapshot.
  bool closed() const { return head_.load(std::memory_order_acquire) == &closed_marker_; }

 private:
  static ShardTask* reverse(ShardTask* list) {
    ShardTask* fifo = nullptr;
    while (list != nullptr) {
      ShardTask* next = list->next;
      list->next = fifo;
      fifo = list;
      list = next;
    }
    return fifo;
  }

  ShardTask closed_marker_;  // its address is the "closed" value of head_
  alignas(64) std::atomic<ShardTask*> head_{nullptr};
};

}  // namespace ringshard::engine
