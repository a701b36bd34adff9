// ratelimit/gcra.h: the Generic Cell Rate Algorithm as pure functions.
//
// A Limit is a burst B and an emission interval T (nanoseconds between two
// requests at the sustained rate: period / count, rounded up so a limit is
// never looser than what was configured). The whole state of one key is its
// theoretical arrival time (TAT): the instant at which its bucket is full
// again. A TAT at or before `now` means "full", exactly like a key never seen.
//
//   admit iff  max(TAT, now) + T - B*T <= now      new TAT = max(TAT, now) + T
//
// Exactness: with a frozen clock a full bucket admits exactly B requests;
// every further T of elapsed time admits exactly one more (integer
// nanoseconds, no rounding anywhere in the decision).
//
// Threads: pure functions, callable from anywhere. Allocates nothing.
// Time is always passed in by the caller (any monotonic nanosecond clock,
// below kMaxTimeNs); nothing here reads a clock.
//
// Example:
//   auto limit = make_limit(10, kNsPerSecond, 100);     // 10/s, burst 100
//   GcraResult r = gcra_decide(stored_tat, *limit, now_ns);
//   if (r.admitted) stored_tat = r.new_tat_ns;
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

namespace ringshard::ratelimit {

inline constexpr uint64_t kNsPerSecond = 1'000'000'000;
// Bounds that keep every sum below 2^62 (the TAT field of the limiter
// table): clocks below 2^61 ns (73 years of uptime), windows below 2^52 ns.
inline constexpr uint64_t kMaxTimeNs = uint64_t{1} << 61;
inline constexpr uint64_t kMaxWindowNs = uint64_t{1} << 52;  // B*T, ~52 days
inline constexpr uint64_t kMaxBurst = 1'000'000'000;

struct Limit {
  uint64_t burst = 1;        // B: requests admitted at once from a full bucket
  uint64_t interval_ns = 1;  // T: one request refills every T
  uint64_t window_ns = 1;    // B*T: time from empty to full

  friend bool operator==(const Limit&, const Limit&) = default;
};

// `count` requests per `period_ns`, bursts of `burst`. nullopt when a value
// is zero or out of bounds (burst > kMaxBurst, B*T > kMaxWindowNs).
std::optional<Limit> make_limit(uint64_t count, uint64_t period_ns, uint64_t burst);

struct GcraResult {
  bool admitted = false;
  uint64_t new_tat_ns = 0;      // store this when admitted; unchanged otherwise
  uint64_t remaining = 0;       // requests still admitted right now, after this one
  uint64_t reset_after_ns = 0;  // until the bucket is full again
  uint64_t retry_after_ns = 0;  // refusals: until one request would be admitted
};

// floor(a / b) for a, b < 2^53, exact. A double division (pipelined, about
// a third of a 64-bit integer division's latency) and one correction step:
// the correctly rounded quotient is off from the true floor by at most one.
inline uint64_t quotient(uint64_t a, uint64_t b) {
  auto q = static_cast<uint64_t>(static_cast<double>(a) / static_cast<double>(b));
  if (q * b > a) {
    --q;
  } else if (a - q * b >= b) {
    ++q;
  }
  return q;
}

// One decision for one request. `tat_ns` is the stored TAT (0 or anything
// <= now_ns for a full bucket). now_ns < kMaxTimeNs.
inline GcraResult gcra_decide(uint64_t tat_ns, const Limit& limit, uint64_t now_ns) {
  GcraResult r;
  const uint64_t base = std::max(tat_ns, now_ns);
  const uint64_t next = base + limit.interval_ns;
  // allow_at = next - B*T, written so that nothing goes below zero.
  if (next <= now_ns + limit.window_ns) {
    r.admitted = true;
    r.new_tat_ns = next;
    r.remaining = quotient(now_ns + limit.window_ns - next, limit.interval_ns);
    r.reset_after_ns = next - now_ns;
    return r;
  }
  r.new_tat_ns = tat_ns;
  // A TAT is at most B*T past the clock of the admission that stored it,
  // so from any later clock these are at most B*T and T. Only a clock
  // behind that admission's gives more: another shard's reading, taken
  // at the start of its loop turn, can trail by a few microseconds.
  // Clamped, such a refusal says what one with the admitting shard's
  // clock would (Retry-After 3600, not 3601, for 1/h).
  r.reset_after_ns = std::min(base - now_ns, limit.window_ns);
  r.retry_after_ns = std::min(next - limit.window_ns - now_ns, limit.interval_ns);
  return r;
}

}  // namespace ringshard::ratelimit
