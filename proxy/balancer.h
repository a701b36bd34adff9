// proxy/balancer.h: choosing a backend of an upstream group for a request.
//
// One Balancer per shard per upstream group, built from the group's config
// (make_balancer) and used only on that shard's thread: no atomics, no
// locks. Backends are indices 0..n-1 in the order of
// UpstreamGroup::backends.
//
// Eligibility is the caller's: pick() asks `eligible(i)` about the
// backends it considers, and skips those for which it is false (down by
// the active checks, ejected by outlier detection, breaker open: see
// proxy/health.h). When none is eligible pick() returns kNone and the
// caller answers 503.
//
//   auto lb = proxy::make_balancer(group, /*seed=*/shard_id);
//   size_t i = lb->pick(hash_of_key, [&](size_t b) { return view.eligible(b, now); });
//   if (i == proxy::kNone) return respond_503();
//   lb->on_start(i);  ...  lb->on_finish(i);   // least_request counts these
//
// Policies:
//   round_robin    smooth weighted round robin (nginx): over a cycle of
//                  sum(weights) picks every backend gets exactly its weight,
//                  interleaved (5,1,1 gives a a b a c a a, not a a a a a b c).
//   least_request  power of two random choices: two distinct eligible
//                  backends at random, the one with fewer requests in flight
//                  (on this shard) per unit of weight wins.
//   maglev         consistent hashing (Maglev, Eisenbud et al., NSDI 2016):
//                  a lookup table of 65537 entries (a prime, at least 100x
//                  the backends) filled in proportion to the weights from
//                  hashes of the backend addresses only, so every shard and
//                  process builds the same table and a key maps to the same
//                  backend everywhere. Removing a backend moves only (about)
//                  its own keys. An ineligible backend's keys go to the next
//                  eligible entry of the table (the same on every shard).
//
// Allocation: at construction only (maglev: a table of 65537 uint16_t,
// 128 KiB, per shard per group); pick() allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "proxy/config.h"

namespace ringshard::proxy {

inline constexpr size_t kNone = static_cast<size_t>(-1);

// A borrowed predicate over backend indices (a non-owning function
// reference: no allocation, valid for the call it is passed to).
class EligibleRef {
 public:
  template <typename F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, EligibleRef>)
  EligibleRef(F&& f)  // NOLINT: implicit from any callable, like a function_ref
      : ctx_(static_cast<const void*>(&f)),
        call_([](const void* ctx, size_t i) {
          return static_cast<bool>((*static_cast<std::remove_reference_t<F>*>(
              const_cast<void*>(ctx)))(i));
        }) {}
  bool operator()(size_t i) const { return call_(ctx_, i); }

 private:
  const void* ctx_;
  bool (*call_)(const void*, size_t);
};

// Every backend eligible (tests, groups without health state).
inline constexpr auto all_eligible = [](size_t) { return true; };

class Balancer {
 public:
  virtual ~Balancer() = default;
  // A backend for a request, or kNone. `key_hash` is what maglev looks up
  // (hash64() of the hash key's value; see proxy/hash.h); the others
  // ignore it.
  virtual size_t pick(uint64_t key_hash, EligibleRef eligible) = 0;
  // A request started / finished on backend i (least_request's counts;
  // the others ignore them). Every on_start has exactly one on_finish.
  virtual void on_start(size_t i) { (void)i; }
  virtual void on_finish(size_t i) { (void)i; }
  virtual size_t size() const = 0;
};

// Smooth weighted round robin.
class RoundRobinBalancer final : public Balancer {
 public:
  explicit RoundRobinBalancer(std::span<const Backend> backends);
  size_t pick(uint64_t key_hash, EligibleRef eligible) override;
  size_t size() const override { return n_; }

 private:
  size_t n_;
  std::unique_ptr<int64_t[]> weight_;
  std::unique_ptr<int64_t[]> current_;
};

// Power of two random choices over requests in flight / weight.
class LeastRequestBalancer final : public Balancer {
 public:
  LeastRequestBalancer(std::span<const Backend> backends, uint64_t seed);
  size_t pick(uint64_t key_hash, EligibleRef eligible) override;
  void on_start(size_t i) override { ++active_[i]; }
  void on_finish(size_t i) override {
    if (active_[i] > 0) --active_[i];
  }
  size_t size() const override { return n_; }
  uint32_t active(size_t i) const { return active_[i]; }

 private:
  size_t random_eligible(EligibleRef eligible, size_t skip);
  size_t n_;
  std::unique_ptr<uint32_t[]> weight_;
  std::unique_ptr<uint32_t[]> active_;
  uint64_t rng_state_;
};

// Maglev consistent hashing.
class MaglevBalancer final : public Balancer {
 public:
  static constexpr size_t kTableSize = 65537;
  explicit MaglevBalancer(std::span<const Backend> backends);
  size_t pick(uint64_t key_hash, EligibleRef eligible) override;
  size_t size() const override { return n_; }
  // The table entry for a hash, ignoring eligibility (tests).
  size_t lookup(uint64_t key_hash) const { return table_[key_hash % kTableSize]; }

 private:
  size_t n_;
  std::unique_ptr<uint16_t[]> table_;
};

// The group's policy, built for one shard. `seed` seeds least_request's
// random choices (e.g. the shard id; tests pass a constant).
std::unique_ptr<Balancer> make_balancer(const UpstreamGroup& group, uint64_t seed);

}  // namespace ringshard::proxy
