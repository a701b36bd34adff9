// proxy/upstream_health.cc: shared backend health and passive outlier
// detection (the contract and the sharing rules: proxy/upstream_health.h).
#include "proxy/upstream_health.h"

#include <algorithm>

namespace ringshard::proxy {

UpstreamHealth::UpstreamHealth(const UpstreamGroup& group)
    : config_(group.outlier), n_(group.backends.size()), slots_(new Slot[group.backends.size()]) {}

size_t UpstreamHealth::ejected_count(uint64_t now_ms) const {
  size_t count = 0;
  for (size_t i = 0; i < n_; ++i) count += ejected(i, now_ms);
  return count;
}

Verdict UpstreamHealth::on_result(size_t i, Outcome outcome, uint64_t now_ms) {
  Slot& s = slots_[i];
  if (outcome == Outcome::kSuccess) {
    // Stores only when there is something to reset, so the common case
    // reads shared lines without taking them from the other shards.
    if (s.consecutive_5xx.load(std::memory_order_relaxed) != 0) {
      s.consecutive_5xx.store(0, std::memory_order_relaxed);
    }
    if (s.consecutive_connect.load(std::memory_order_relaxed) != 0) {
      s.consecutive_connect.store(0, std::memory_order_relaxed);
    }
    if (s.ejections.load(std::memory_order_relaxed) != 0 &&
        now_ms >= s.ejected_until_ms.load(std::memory_order_relaxed) + config_.max_ejection_ms) {
      s.ejections.store(0, std::memory_order_relaxed);
    }
    return Verdict::kNone;
  }
  std::atomic<uint32_t>& counter =
      outcome == Outcome::k5xx ? s.consecutive_5xx : s.consecutive_connect;
  uint32_t threshold = outcome == Outcome::k5xx ? config_.consecutive_5xx
                                                : config_.consecutive_connect_failures;
  // Failures of requests that were in flight when it was ejected say
  // nothing new: a readmitted backend starts a fresh run.
  if (ejected(i, now_ms)) return Verdict::kNone;
  uint32_t run = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  if (threshold == 0 || run < threshold) return Verdict::kNone;
  return maybe_eject(i, now_ms);
}

// Several shards may get here for one backend at once (each saw a run at
// or past the threshold): the compare-exchange on ejected_until lets one
// of them eject. The runs start again after an ejection, or after one
// refused by the cap (the next full run tries again).
Verdict UpstreamHealth::maybe_eject(size_t i, uint64_t now_ms) {
  Slot& s = slots_[i];
  uint64_t until = s.ejected_until_ms.load(std::memory_order_relaxed);
  if (until > now_ms) return Verdict::kNone;  // already out
  size_t cap = std::max<size_t>(1, n_ * config_.max_ejection_percent / 100);
  if (config_.max_ejection_percent == 0 || ejected_count(now_ms) >= cap) {
    s.consecutive_5xx.store(0, std::memory_order_relaxed);
    s.consecutive_connect.store(0, std::memory_order_relaxed);
    return Verdict::kEjectionCapped;
  }
  uint32_t n = s.ejections.load(std::memory_order_relaxed) + 1;
  uint64_t duration = config_.base_ejection_ms;
  for (uint32_t k = 1; k < n && duration < config_.max_ejection_ms; ++k) duration *= 2;
  duration = std::min<uint64_t>(duration, config_.max_ejection_ms);
  if (!s.ejected_until_ms.compare_exchange_strong(until, now_ms + duration,
                                                  std::memory_order_relaxed)) {
    return Verdict::kNone;  // another shard ejected it first
  }
  s.ejections.fetch_add(1, std::memory_order_relaxed);
  s.ejections_total.fetch_add(1, std::memory_order_relaxed);
  s.consecutive_5xx.store(0, std::memory_order_relaxed);
  s.consecutive_connect.store(0, std::memory_order_relaxed);
  return Verdict::kEjected;
}

void UpstreamHealth::set_healthy(size_t i, bool healthy) {
  Slot& s = slots_[i];
  bool was = s.healthy.exchange(healthy, std::memory_order_relaxed);
  // Back from down: whatever ejected it is over (it restarted). A backend
  // that passes its checks but fails real requests stays ejected.
  if (healthy && !was) s.ejected_until_ms.store(0, std::memory_order_relaxed);
}

}  // namespace ringshard::proxy
