// plugins/deployments/store_queue.cc
#include "plugins/deployments/store_queue.h"

#include <algorithm>

namespace ringshard::deployments {

std::unique_ptr<StoreRequest> StoreQueue::push(std::unique_ptr<StoreRequest> request) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return request;
    queue_.push_back(std::move(request));
    depth_.store(queue_.size(), std::memory_order_relaxed);
  }
  // Outside the lock, so the woken thread does not block on it at once.
  ready_.notify_one();
  return nullptr;
}

bool StoreQueue::take(std::vector<std::unique_ptr<StoreRequest>>& out, size_t max) {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [&] { return !queue_.empty() || closed_; });
  if (queue_.empty()) return false;
  const size_t n = std::min(std::max<size_t>(max, 1), queue_.size());
  for (size_t i = 0; i < n; ++i) {
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  depth_.store(queue_.size(), std::memory_order_relaxed);
  return true;
}

void StoreQueue::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
}

}  // namespace ringshard::deployments
