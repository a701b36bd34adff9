// plugins/deployments/store_queue.h: the requests waiting for the store
// thread. Any thread pushes; the store thread alone takes, every waiting
// request at once (up to a batch size), which is what makes group commit:
// requests that arrive while a transaction is being fsync'ed wait here and
// go into the next transaction together.
//
// A mutex and a condition variable: push() holds the lock for a deque
// push_back and wakes the store thread if it sleeps. No I/O, so shards may
// call it (the cost is a possible futex wake, never a wait on the disk).
//
// Allocates: the deque's blocks as it grows; nothing per take().
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "plugins/deployments/store.h"

namespace ringshard::deployments {

class StoreQueue {
 public:
  // Any thread. Queues `request` and returns null; after close(), queues
  // nothing and hands the request back.
  std::unique_ptr<StoreRequest> push(std::unique_ptr<StoreRequest> request);

  // The consumer. Waits until a request is queued or the queue is closed,
  // then moves up to `max` waiting requests (oldest first) to the end of
  // `out`. False only when the queue is closed and empty: nothing will
  // ever come again.
  bool take(std::vector<std::unique_ptr<StoreRequest>>& out, size_t max);

  // Any thread. Refuses every later push(); requests already queued are
  // still taken.
  void close();

  // Requests queued now (a snapshot; any thread).
  size_t depth() const { return depth_.load(std::memory_order_relaxed); }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::unique_ptr<StoreRequest>> queue_;
  bool closed_ = false;
  std::atomic<size_t> depth_{0};
};

}  // namespace ringshard::deployments
