// Drives LimiterTable's internal steps one at a time, so tests can put
// another thread's work between a lookup and its compare-and-swap.
#pragma once

#include <cstdint>

#include "ratelimit/limiter_table.h"

namespace ringshard::ratelimit {

class LimiterTableTestPeer {
 public:
  struct Lookup {
    bool own = false;
    bool claimable = false;
    size_t slot = 0;
    uint64_t state = 0;
  };

  static Lookup find(const LimiterTable& t, uint64_t key_hash, uint64_t now_ns) {
    const auto p = LimiterTable::find(t.main_, key_hash, now_ns);
    return Lookup{p.found == LimiterTable::Found::kOwn,
                  p.found == LimiterTable::Found::kClaimable, p.slot, p.state};
  }
  // One commit attempt chain from a looked-up state; false when the slot was
  // claimed away (decide() would look the key up again).
  static bool commit(LimiterTable& t, const Lookup& l, uint64_t key_hash, const Limit& limit,
                     uint64_t now_ns, Decision* out) {
    return LimiterTable::commit(t.main_, l.slot, l.state, key_hash, limit, now_ns, out) ==
           LimiterTable::Commit::kDone;
  }
  static bool begin_claim(LimiterTable& t, const Lookup& l, uint64_t new_tat) {
    return LimiterTable::begin_claim(t.main_, l.slot, l.state, new_tat);
  }
  static void finish_claim(LimiterTable& t, const Lookup& l, uint64_t key_hash, uint64_t new_tat,
                           uint64_t now_ns) {
    t.finish_claim(t.main_, l.slot, key_hash, new_tat, now_ns);
  }
  // How many pauses a new key waits for a claim in flight (0: none, as if
  // the claimer had stalled past the wait).
  static void set_claim_wait_spins(LimiterTable& t, unsigned spins) { t.claim_wait_spins_ = spins; }
  static uint64_t state(const LimiterTable& t, size_t slot) {
    return t.main_.slots[slot].state.load();
  }
  static uint64_t key(const LimiterTable& t, size_t slot) { return t.main_.slots[slot].key.load(); }
  static bool live(uint64_t state) { return (state & LimiterTable::kLive) != 0; }
  static uint64_t tat(uint64_t state) { return state & LimiterTable::kTatMask; }
};

}  // namespace ringshard::ratelimit
