// client/retry.h: the retry arithmetic of the HTTP client, as pure classes
// with the clock and the randomness passed in (tests use a seeded Jitter
// and no sleeps).
//
//   Backoff: exponential backoff with full jitter (AWS architecture blog,
//   "Exponential Backoff And Jitter"): the delay before retry `attempt`
//   (0 for the first retry) is uniform in [0, min(cap, base * 2^attempt)].
//
//   RetryBudget: retries in flight may be at most `ratio` of the requests
//   in flight, but at least `min_concurrent` (Envoy's retry budget), so a
//   failing upstream sees at most (1 + ratio) times the offered load
//   instead of (1 + max_retries) times.
//
//   Backoff b(25, 250);
//   Jitter rng(seed);
//   uint64_t delay = b.delay_ms(attempt, rng);
//   RetryBudget budget(0.2, 3);
//   budget.request_started();
//   if (budget.try_start_retry()) { ...; budget.retry_finished(); }
//   budget.request_finished();
//
// Thread: one owner (a shard's pool); no allocation.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ringshard::client {

// SplitMix64: small, fast, seedable; not for secrets.
class Jitter {
 public:
  explicit Jitter(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform in [0, bound] (inclusive).
  uint64_t uniform(uint64_t bound);

 private:
  uint64_t state_;
};

class Backoff {
 public:
  Backoff(uint32_t base_ms, uint32_t cap_ms) : base_ms_(base_ms), cap_ms_(cap_ms) {}
  // The ceiling for `attempt`: min(cap, base * 2^attempt), overflow-safe.
  uint64_t ceiling_ms(uint32_t attempt) const;
  uint64_t delay_ms(uint32_t attempt, Jitter& rng) const {
    return rng.uniform(ceiling_ms(attempt));
  }

 private:
  uint32_t base_ms_;
  uint32_t cap_ms_;
};

class RetryBudget {
 public:
  RetryBudget(double ratio, uint32_t min_concurrent)
      : ratio_(ratio), min_concurrent_(min_concurrent) {}

  void request_started() { ++active_requests_; }
  void request_finished() { if (active_requests_ > 0) --active_requests_; }
  // True (and counted) when one more retry fits the budget now.
  bool try_start_retry();
  void retry_finished() { if (active_retries_ > 0) --active_retries_; }

  uint64_t allowed() const;
  uint64_t active_requests() const { return active_requests_; }
  uint64_t active_retries() const { return active_retries_; }

 private:
  double ratio_;
  uint32_t min_concurrent_;
  uint64_t active_requests_ = 0;
  uint64_t active_retries_ = 0;
};

}  // namespace ringshard::client
