#include "ratelimit/limiter_table.h"

#include <algorithm>
#include <bit>

namespace ringshard::ratelimit {

namespace {

Decision to_decision(const GcraResult& g, const Limit& limit) {
  return Decision{g.admitted, limit.burst, g.remaining, g.reset_after_ns, g.retry_after_ns};
}

// Position of `slot` in the probe order of a window starting at `home`.
size_t probe_offset(size_t slot, size_t home, uint64_t mask) { return (slot - home) & mask; }

// A spin-wait hint to the core (and its sibling hyperthread).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

LimiterTable::Region LimiterTable::make_region(size_t capacity, unsigned probe) {
  Region r;
  r.probe = std::clamp(probe, 1u, kMaxProbeWindow);
  capacity = std::clamp<size_t>(capacity, r.probe, kMaxCapacity);
  capacity = std::bit_ceil(capacity);
  r.slots = std::make_unique<Slot[]>(capacity);
  r.mask = capacity - 1;
  return r;
}

LimiterTable::LimiterTable(size_t capacity, uint64_t seed, unsigned probe_window)
    : main_(make_region(capacity, probe_window)),
      overflow_(make_region(kOverflowCapacity, kMaxProbeWindow)),
      seed_(seed) {}

TableStats LimiterTable::stats() const {
  return TableStats{overflow_count_.v.load(std::memory_order_relaxed),
                    overflow_refused_.v.load(std::memory_order_relaxed),
                    reclaimed_.v.load(std::memory_order_relaxed),
                    merged_.v.load(std::memory_order_relaxed),
                    claim_waits_.v.load(std::memory_order_relaxed)};
}

Decision LimiterTable::decide_hash(uint64_t key_hash, const Limit& limit, uint64_t now_ns) {
  // Keeps every TAT inside its 62 bits; a clock that far out is a caller bug.
  now_ns = std::min(now_ns, kMaxTimeNs - 1);
  Decision d;
  if (decide_in(main_, key_hash, limit, now_ns, &d)) return d;

  // Window full of live keys: one shared bucket per limit, in the overflow
  // table. Limits that are equal share it, which is as strict as either.
  overflow_count_.v.fetch_add(1, std::memory_order_relaxed);
  const uint64_t bucket = hash_u64(limit.burst ^ hash_u64(limit.interval_ns, seed_), ~seed_);
  if (decide_in(overflow_, bucket, limit, now_ns, &d)) return d;

  overflow_refused_.v.fetch_add(1, std::memory_order_relaxed);
  return Decision{false, limit.burst, 0, limit.window_ns, limit.interval_ns};
}

bool LimiterTable::decide_in(Region& r, uint64_t key_hash, const Limit& limit, uint64_t now_ns,
                             Decision* out) {
  unsigned waited = 0;
  for (;;) {
    const Probe p = find(r, key_hash, now_ns);
    if (p.found == Found::kOwn) {
      if (commit(r, p.slot, p.state, key_hash, limit, now_ns, out) == Commit::kDone) return true;
      continue;
    }
    // A claim in flight may be this key's own, from another thread: let it
    // publish rather than add the key twice (the header: CLAIMS IN FLIGHT).
    if (p.pending_seen && waited < claim_wait_spins_) {
      if (waited++ == 0) claim_waits_.v.fetch_add(1, std::memory_order_relaxed);
      cpu_relax();
      continue;
    }
    if (p.found == Found::kFull) return false;
    // A fresh bucket: the first request is always admitted (B >= 1).
    const GcraResult g = gcra_decide(0, limit, now_ns);
    if (!begin_claim(r, p.slot, p.state, g.new_tat_ns)) continue;
    if ((p.state & kTatMask) != 0 || (p.state & kLive) != 0) {
      reclaimed_.v.fetch_add(1, std::memory_order_relaxed);
    }
    finish_claim(r, p.slot, key_hash, g.new_tat_ns, now_ns);
    *out = to_decision(g, limit);
    return true;
  }
}

LimiterTable::Probe LimiterTable::find(const Region& r, uint64_t key_hash, uint64_t now_ns) {
  Probe claimable;
  bool have_claimable = false;
  bool pending_seen = false;
  const size_t home = key_hash & r.mask;
  for (unsigned d = 0; d < r.probe; ++d) {
    const size_t i = (home + d) & r.mask;
    const uint64_t s = r.slots[i].state.load(std::memory_order_acquire);
    if (s & kPending) {  // a claim in flight: not ours to touch (maybe our key's)
      pending_seen = true;
      continue;
    }
    if (s & kLive) {
      // The acquire load above orders this load after it (see the header).
      if (r.slots[i].key.load(std::memory_order_relaxed) == key_hash) {
        return Probe{Found::kOwn, i, s};
      }
    }
    // Free (never used), idle (full again) or a killed duplicate that has
    // refilled: all claimable. Anything with TAT > now is busy.
    if ((s & kTatMask) <= now_ns && !have_claimable) {
      claimable = Probe{Found::kClaimable, i, s};
      have_claimable = true;
    }
  }
  Probe out = have_claimable ? claimable : Probe{};
  out.pending_seen = pending_seen;
  return out;
}

LimiterTable::Commit LimiterTable::commit(Region& r, size_t slot, uint64_t state,
                                          uint64_t key_hash, const Limit& limit,
                                          uint64_t now_ns, Decision* out) {
  std::atomic<uint64_t>& word = r.slots[slot].state;
  for (;;) {
    // Only the admission test and the new TAT between the load and the
    // CAS: the rest of the decision (remaining, reset: a division) is
    // computed once the CAS has won, so the window in which another
    // thread's CAS makes ours fail stays a few instructions wide.
    const uint64_t tat = state & kTatMask;
    const uint64_t next = std::max(tat, now_ns) + limit.interval_ns;
    if (next > now_ns + limit.window_ns) {
      // Nothing to write: the refusal is linearized at the load of `state`.
      *out = to_decision(gcra_decide(tat, limit, now_ns), limit);
      return Commit::kDone;
    }
    if (word.compare_exchange_weak(state, kLive | next, std::memory_order_acq_rel,
                                   std::memory_order_acquire)) {
      *out = to_decision(gcra_decide(tat, limit, now_ns), limit);
      return Commit::kDone;
    }
    // `state` now holds the current word. Still this key's only if it is
    // live, published, and the key word (read after it) is still ours.
    if ((state & kPending) || !(state & kLive)) return Commit::kLost;
    if (r.slots[slot].key.load(std::memory_order_relaxed) != key_hash) return Commit::kLost;
  }
}

bool LimiterTable::begin_claim(Region& r, size_t slot, uint64_t observed, uint64_t new_tat) {
  // observed's TAT <= now < new_tat: the word rises, as the header promises.
  return r.slots[slot].state.compare_exchange_strong(observed, kPending | kLive | new_tat,
                                                     std::memory_order_acq_rel,
                                                     std::memory_order_relaxed);
}

void LimiterTable::finish_claim(Region& r, size_t slot, uint64_t key_hash, uint64_t new_tat,
                                uint64_t now_ns) {
  // A pending word is written by its claimer only, so plain stores suffice.
  // The publish is seq_cst so that of two claimers of one key, each
  // publishing then rescanning, at least one sees the other's slot.
  r.slots[slot].key.store(key_hash, std::memory_order_relaxed);
  r.slots[slot].state.store(kLive | new_tat, std::memory_order_seq_cst);
  merge_duplicates(r, slot, key_hash, now_ns);
}

bool LimiterTable::kill(Region& r, size_t slot, uint64_t key_hash, uint64_t* tat) {
  std::atomic<uint64_t>& word = r.slots[slot].state;
  uint64_t s = word.load(std::memory_order_acquire);
  for (;;) {
    if ((s & kPending) || !(s & kLive)) return false;  // someone else folded it
    if (r.slots[slot].key.load(std::memory_order_relaxed) != key_hash) return false;
    // Clear live, keep the TAT: the slot stays busy until its backlog refills.
    if (word.compare_exchange_weak(s, s & ~kLive, std::memory_order_acq_rel,
                                   std::memory_order_acquire)) {
      *tat = s & kTatMask;
      return true;
    }
  }
}

void LimiterTable::add_backlog(Region& r, size_t slot, uint64_t key_hash, uint64_t backlog,
                               uint64_t now_ns) {
  std::atomic<uint64_t>& word = r.slots[slot].state;
  uint64_t s = word.load(std::memory_order_acquire);
  for (;;) {
    // Gone (reclaimed after going idle): the backlog had refilled anyway.
    if ((s & kPending) || !(s & kLive)) return;
    if (r.slots[slot].key.load(std::memory_order_relaxed) != key_hash) return;
    const uint64_t tat = std::max(s & kTatMask, now_ns) + backlog;
    if (word.compare_exchange_weak(s, kLive | tat, std::memory_order_acq_rel,
                                   std::memory_order_acquire)) {
      return;
    }
  }
}

void LimiterTable::merge_duplicates(Region& r, size_t mine, uint64_t key_hash, uint64_t now_ns) {
  const size_t home = key_hash & r.mask;
  for (unsigned d = 0; d < r.probe; ++d) {
    const size_t other = (home + d) & r.mask;
    if (other == mine) continue;
    const uint64_t s = r.slots[other].state.load(std::memory_order_seq_cst);
    if ((s & kPending) || !(s & kLive)) continue;
    if (r.slots[other].key.load(std::memory_order_relaxed) != key_hash) continue;

    // Two live slots of one key: the one nearer home wins and absorbs the
    // loser's outstanding backlog (its TAT beyond now).
    const bool mine_wins = probe_offset(mine, home, r.mask) < probe_offset(other, home, r.mask);
    const size_t loser = mine_wins ? other : mine;
    const size_t winner = mine_wins ? mine : other;
    uint64_t loser_tat = 0;
    if (kill(r, loser, key_hash, &loser_tat)) {
      merged_.v.fetch_add(1, std::memory_order_relaxed);
      if (loser_tat > now_ns) add_backlog(r, winner, key_hash, loser_tat - now_ns, now_ns);
    }
    if (!mine_wins) return;  // my slot is gone (or going); the winner holds the key
  }
}

}  // namespace ringshard::ratelimit
