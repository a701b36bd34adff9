// proxy/upstream_health.h: the health of one upstream group's backends,
// shared by every shard of the process, and passive outlier detection.
//
// Why shared: a backend that dies should be avoided by all shards at once,
// not after each shard has seen its own run of failures (with S shards,
// per-shard detection costs S times the failed requests and each shard
// probes on its own). The state is a few atomics per backend, each on its
// own cache line; the request path reads them (relaxed loads: no lock, no
// read-modify-write) and writes only when something changes: a failure
// (one fetch_add), the first success after failures (one store), an
// ejection (rare).
//
// Who writes what:
//   - healthy: the active checker (proxy/health_check.h), one per group,
//     run by one shard (the glue's choice); true until a check fails.
//   - outlier counters and ejection: any shard, through on_result().
//     When a run of failures reaches a threshold, exactly one shard ejects
//     (a compare-exchange on the ejection time); failures reported while a
//     backend is ejected are not counted, so a readmitted backend starts a
//     fresh run. Ejection n lasts
//     base_ejection * 2^(n-1), at most max_ejection; the backend comes
//     back by itself when it ends (no timer: eligibility compares the
//     clock), and n falls back to 0 after a success once the backend has
//     stayed in for max_ejection. At most max_ejection_percent of the
//     group (but at least one backend, unless the percent is 0) is ejected
//     at once; two shards ejecting different backends in the same instant
//     may pass that limit by one each (the price of no lock).
//   - When the active checks bring a backend from down back to up, its
//     ejection is lifted (it has restarted), so a restarted backend returns
//     as soon as its checks pass. Checks passing on a backend that was not
//     down do not lift an ejection: it fails real requests.
//
//   proxy::UpstreamHealth health(group);   // process-wide, outlives the shards' users
//   bool ok = health.available(i, now_ms); // on any shard, per request
//   health.on_result(i, proxy::Outcome::kConnectFailure, now_ms);
//
// Time is a caller-supplied monotonic clock in milliseconds (tests drive
// it). Ejection times are compared across shards, so every shard must pass
// the same process-wide clock (CLOCK_MONOTONIC in ms), not a per-shard one.
// Allocation: at construction only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "proxy/config.h"

namespace ringshard::proxy {

// What became of one request to a backend, as outlier detection counts it.
enum class Outcome : uint8_t {
  kSuccess,         // any answer but a 5xx (4xx is the client's problem)
  k5xx,             // a 5xx answer, or no answer in time after the request was sent
  kConnectFailure,  // connect refused, reset or timed out; TLS handshake failed
};

// What on_result() did.
enum class Verdict : uint8_t {
  kNone,
  kEjected,         // this call ejected the backend
  kEjectionCapped,  // a threshold was reached, but max_ejection_percent is used up
};

class UpstreamHealth {
 public:
  explicit UpstreamHealth(const UpstreamGroup& group);
  UpstreamHealth(const UpstreamHealth&) = delete;
  UpstreamHealth& operator=(const UpstreamHealth&) = delete;

  size_t size() const { return n_; }

  // Any thread.
  bool healthy(size_t i) const { return slots_[i].healthy.load(std::memory_order_relaxed); }
  bool ejected(size_t i, uint64_t now_ms) const {
    return slots_[i].ejected_until_ms.load(std::memory_order_relaxed) > now_ms;
  }
  bool available(size_t i, uint64_t now_ms) const { return healthy(i) && !ejected(i, now_ms); }
  uint64_t ejected_until_ms(size_t i) const {
    return slots_[i].ejected_until_ms.load(std::memory_order_relaxed);
  }
  // Ejections of backend i since start (a counter, for metrics).
  uint64_t ejections_total(size_t i) const {
    return slots_[i].ejections_total.load(std::memory_order_relaxed);
  }
  // Backends ejected at now_ms.
  size_t ejected_count(uint64_t now_ms) const;

  // Passive detection: any shard, after each request to backend i.
  Verdict on_result(size_t i, Outcome outcome, uint64_t now_ms);

  // The active checker's verdicts (its thread only). Going from false to
  // true also lifts an ejection.
  void set_healthy(size_t i, bool healthy);

 private:
  struct alignas(64) Slot {
    std::atomic<bool> healthy{true};
    std::atomic<uint64_t> ejected_until_ms{0};
    std::atomic<uint32_t> ejections{0};  // consecutive ejections: the backoff exponent
    std::atomic<uint32_t> consecutive_5xx{0};
    std::atomic<uint32_t> consecutive_connect{0};
    std::atomic<uint64_t> ejections_total{0};
  };
  Verdict maybe_eject(size_t i, uint64_t now_ms);

  OutlierConfig config_;
  size_t n_;
  std::unique_ptr<Slot[]> slots_;
};

// Per shard, per backend: the circuit breaker's counters. Not shared: each
// shard limits its own connections and requests (BreakerConfig is per
// shard), so the counters are plain integers. try_acquire() refuses at the
// limit (the breaker is open for that resource); every successful
// try_acquire() has exactly one release().
class CircuitBreaker {
 public:
  enum Resource : uint8_t { kConnection, kPending, kRequest, kResourceCount };

  explicit CircuitBreaker(const BreakerConfig& config)
      : limit_{config.max_connections, config.max_pending, config.max_requests} {}

  bool try_acquire(Resource r) {
    if (limit_[r] != 0 && in_use_[r] >= limit_[r]) {
      ++rejected_[r];
      return false;
    }
    ++in_use_[r];
    return true;
  }
  void release(Resource r) {
    if (in_use_[r] > 0) --in_use_[r];
  }
  // Whether a new request would be refused (for a balancer's eligibility).
  bool open(Resource r) const { return limit_[r] != 0 && in_use_[r] >= limit_[r]; }
  uint32_t in_use(Resource r) const { return in_use_[r]; }
  uint64_t rejected(Resource r) const { return rejected_[r]; }

 private:
  uint32_t limit_[kResourceCount];
  uint32_t in_use_[kResourceCount] = {};
  uint64_t rejected_[kResourceCount] = {};
};

}  // namespace ringshard::proxy
