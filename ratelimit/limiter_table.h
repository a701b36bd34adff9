// ratelimit/limiter_table.h: per-key GCRA state shared by every shard,
// without locks.
//
// WHAT. A fixed-capacity open-addressing table (capacity rounded up to a
// power of two, never resized) mapping a 64-bit key hash to one 64-bit
// atomic state word. decide() reads the word, runs gcra_decide(), and
// compare-and-swaps the new TAT in, retrying when another thread got there
// first. A limit is therefore exact per process whichever shard a request
// lands on: N threads hammering one key with a frozen clock admit exactly B
// (the one, bounded, exception is under DUPLICATES).
//
// KEYS. The 64-bit hash IS the identity: two different keys with the same
// hash share one bucket. With a random seed, the chance that some pair among
// n live keys collides is about n^2 / 2^65 (1e-7 for a million keys); a
// colliding pair is limited together, never less than one limit.
// Keys of different rules must differ: pass the rule's id to hash()/decide()
// (it is mixed into the hash), or build key bytes that include it.
//
// SLOT. 16 bytes: the key hash and the state word
//     bit 63  pending: being claimed; its key word is not published yet
//     bit 62  live:    owned by the key in the key word
//     0..61   TAT in nanoseconds of the caller's clock
// Probing is linear over a window of `probe_window` slots (default 16: at
// half load, 1M keys in 2M slots, about 2 decisions in 10^4 found their
// window full in bench/ratelimit_bench.cc, against 1 in 200 with 8) from the key's home slot (hash & (capacity - 1)),
// wrapping at the end. A hit stops at the key's slot; only a new key scans
// the whole window (4 cache lines).
//
// IDENTITY AND ABA. Every write to a state word either raises its TAT
// strictly (an admission adds T; a claim writes now + T over a TAT <= now;
// a merge adds the absorbed backlog) or, once per TAT value, clears the
// pending or the live flag. So a slot never holds the same word twice, and a
// thread that read key K's word and then CASes it fails if anything at all
// happened in between, reclaim for another key included. The identity check
// is exact, not a probabilistic tag. Readers load the state (acquire) before
// the key; a key word only changes while its state is pending, and a pending
// word is never matched, so a (state, key) pair read that way belongs
// together or the CAS fails.
//
// RECLAIM. A slot whose TAT <= now (bucket full again, the same as an unseen
// key) can be claimed by any key whose window holds no slot of its own:
// CAS to pending + the first admission, store the key, publish (clear
// pending). "Idle" is judged with the claiming thread's `now`.
//
// CLAIMS IN FLIGHT. A pending slot is never read for its key and never
// admitted against. A key that finds no slot of its own but a pending one
// in its window waits for it to be published (kClaimWaitSpins pause
// instructions at most, some microseconds; a claim is two stores long),
// because it may be this key's first request on another thread: so two
// threads adding one key at once end up sharing one slot, and the limit
// stays exact. Readers of keys that have their slot never wait.
//
// DUPLICATES. Only a claimer stalled (preempted) between its claim and its
// publish for longer than that wait lets another thread add the same key
// in a second slot. After publishing, a claimer rescans its window; of two
// live slots of one key the one nearer the home slot wins, the other is
// killed (live cleared, TAT kept so it stays unclaimable until refilled)
// and its outstanding backlog is added to the winner. Of two claimers at
// least one sees the other (sequentially consistent publish and rescan),
// so no duplicate survives its creators' decisions; while both slots live
// (and between the kill and the backlog's arrival) the key can be admitted
// up to one burst more than its limit, once.
//
// TABLE FULL. When the window holds no free, idle or own slot, the request
// is decided against one overflow bucket per limit (burst, interval), kept
// in a small second table: all overflowing keys of a rule share one bucket,
// so a flood of new keys is limited as a whole, never admitted without
// limit, and no live entry is evicted (evicting would hand its key a fresh
// burst). If the overflow table's window is full too (more than 64 distinct
// limits overflowing at once) the request is refused. Both are counted in
// stats(); report them as metrics, and size the table above the number of
// keys active within one window time.
//
// THREADS. decide(), hash(), prefetch() and stats() may be called
// concurrently from any thread. Construction and destruction are not
// concurrent with anything. Never blocks, never allocates after construction,
// no exceptions. Time comes from the caller (any monotonic clock in
// nanoseconds below kMaxTimeNs); the table reads no clock.
//
// MEMORY. 16 bytes per slot, allocated once in the constructor (2^21 slots:
// 32 MiB), plus 64 overflow slots.
//
// Example:
//   LimiterTable table(1 << 20, random_seed);
//   auto limit = make_limit(10, kNsPerSecond, 100);   // 10/s, burst 100
//   Decision d = table.decide(client_ip_bytes, *limit, now_ns, rule_id);
//   if (!d.admitted) { /* 429, Retry-After from d.retry_after_ns */ }
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "ratelimit/decision.h"
#include "ratelimit/gcra.h"
#include "ratelimit/hash.h"

namespace ringshard::ratelimit {

struct TableStats {
  uint64_t overflow = 0;          // decisions made against an overflow bucket
  uint64_t overflow_refused = 0;  // refused because the overflow table was full too
  uint64_t reclaimed = 0;         // idle slots taken over by another key
  uint64_t merged = 0;            // duplicate slots of one key folded together
  uint64_t claim_waits = 0;       // new-key decisions that waited for a claim in flight
};

class LimiterTable {
 public:
  static constexpr unsigned kDefaultProbeWindow = 16;
  static constexpr unsigned kMaxProbeWindow = 64;
  static constexpr size_t kMaxCapacity = size_t{1} << 30;
  static constexpr size_t kOverflowCapacity = 64;
  // How long a new key waits for a claim in flight in its window (pause
  // instructions) before claiming a slot of its own (CLAIMS IN FLIGHT).
  static constexpr unsigned kClaimWaitSpins = 4096;

  // `capacity` is rounded up to a power of two, at least `probe_window`,
  // at most kMaxCapacity; `probe_window` is clamped to [1, kMaxProbeWindow].
  LimiterTable(size_t capacity, uint64_t seed, unsigned probe_window = kDefaultProbeWindow);
  LimiterTable(const LimiterTable&) = delete;
  LimiterTable& operator=(const LimiterTable&) = delete;

  // The key's identity: its bytes hashed with the table's seed and the rule id.
  uint64_t hash(std::string_view key_bytes, uint64_t rule_id = 0) const {
    return hash_bytes(key_bytes, seed_ ^ hash_u64(rule_id, seed_));
  }

  // One request of key `key_bytes` under `limit` at `now_ns`.
  Decision decide(std::string_view key_bytes, const Limit& limit, uint64_t now_ns,
                  uint64_t rule_id = 0) {
    return decide_hash(hash(key_bytes, rule_id), limit, now_ns);
  }
  Decision decide_hash(uint64_t key_hash, const Limit& limit, uint64_t now_ns);

  // Starts loading the key's home slot into the cache: call it for the next
  // request(s) of a batch to overlap the cache miss with other work.
  void prefetch(uint64_t key_hash) const {
    __builtin_prefetch(&main_.slots[key_hash & main_.mask], 1);
  }

  size_t capacity() const { return main_.mask + 1; }
  unsigned probe_window() const { return main_.probe; }
  TableStats stats() const;

 private:
  friend class LimiterTableTestPeer;

  static constexpr uint64_t kPending = uint64_t{1} << 63;
  static constexpr uint64_t kLive = uint64_t{1} << 62;
  static constexpr uint64_t kTatMask = kLive - 1;

  struct alignas(16) Slot {
    std::atomic<uint64_t> state{0};
    std::atomic<uint64_t> key{0};
  };
  struct Region {
    std::unique_ptr<Slot[]> slots;
    uint64_t mask = 0;
    unsigned probe = 1;
  };
  enum class Found { kOwn, kClaimable, kFull };
  struct Probe {
    Found found = Found::kFull;
    size_t slot = 0;
    uint64_t state = 0;
    bool pending_seen = false;  // not kOwn, and the window holds a claim in flight
  };
  // Counters touched only on rare paths, each on its own cache line.
  struct alignas(64) PaddedCounter {
    std::atomic<uint64_t> v{0};
  };

  static Region make_region(size_t capacity, unsigned probe);
  // Decides in `r`; false when the window is full (nothing written).
  bool decide_in(Region& r, uint64_t key_hash, const Limit& limit, uint64_t now_ns, Decision* out);
  // The steps decide_in() is made of (the test peer drives them one by one).
  static Probe find(const Region& r, uint64_t key_hash, uint64_t now_ns);
  enum class Commit { kDone, kLost };
  // Applies one decision to the key's slot, retrying while the slot stays the
  // key's; kLost when it was claimed away (look the key up again).
  static Commit commit(Region& r, size_t slot, uint64_t state, uint64_t key_hash,
                       const Limit& limit, uint64_t now_ns, Decision* out);
  // Claim = begin (CAS to pending + first admission) then finish (publish
  // the key, clear pending, fold duplicates).
  static bool begin_claim(Region& r, size_t slot, uint64_t observed, uint64_t new_tat);
  void finish_claim(Region& r, size_t slot, uint64_t key_hash, uint64_t new_tat, uint64_t now_ns);
  void merge_duplicates(Region& r, size_t mine, uint64_t key_hash, uint64_t now_ns);
  // Clears `slot`'s live flag if it is still the key's; its TAT in *tat.
  static bool kill(Region& r, size_t slot, uint64_t key_hash, uint64_t* tat);
  static void add_backlog(Region& r, size_t slot, uint64_t key_hash, uint64_t backlog,
                          uint64_t now_ns);

  Region main_;
  Region overflow_;
  uint64_t seed_;
  unsigned claim_wait_spins_ = kClaimWaitSpins;  // the test peer may change it
  PaddedCounter overflow_count_;
  PaddedCounter overflow_refused_;
  PaddedCounter reclaimed_;
  PaddedCounter merged_;
  PaddedCounter claim_waits_;
};

}  // namespace ringshard::ratelimit
