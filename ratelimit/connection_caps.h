// ratelimit/connection_caps.h: caps on open connections, in total and per
// client IP, shared by every shard without locks.
//
// WHAT. try_open() admits a connection when fewer than `max_total`
// connections are open in the process and fewer than `max_per_ip` from its
// client address, and counts it; close() uncounts it. 0 means no cap. The
// caps are exact: with any number of threads opening and closing at once,
// never more than max_total connections are admitted and not yet closed,
// and never more than max_per_ip of one address (among those counted per
// address, see TABLE FULL). Call try_open() when a connection is accepted,
// before reading from it, and close() when it closes.
//
// KEYS. A ConnKey names a client address: build it with key() from the
// peer's sockaddr, from ratelimit::ip_key() bytes (normally the full-length
// prefix, /32 and /128; a shorter prefix makes the whole prefix one client),
// or from a family and a 16-byte address. An IPv4-mapped IPv6 address is
// the IPv4 client. An IPv4 /32 key is stored exactly; any other key as a
// 37-bit seeded hash (a tag), so two IPv6 clients share one count only if
// their tags collide and they share a probe window: about 16 / 2^37 per
// pair of live clients, never predictable without the seed, and then they
// are capped together, never above the cap. A key that names no IP (a Unix
// socket peer: key() of another family) is admitted under the global cap
// only, like an untracked one.
//
// TABLE. A fixed-capacity open-addressing table of 64-bit words (capacity
// rounded up to a power of two, never resized), probed linearly over a
// window of `probe_window` slots from the key's home slot. A slot's word
// packs the key's tag, a state and a count, so one compare-and-swap checks
// the identity and changes the count together:
//     bits 26..63  tag (38 bits: IPv4 exact, else flag + 37-bit hash)
//     bits 24..25  state: 0 free, 1 pending (being claimed), 2 live
//     bits  0..23  live: the open connections (1..2^24-1); pending: a nonce
// Because the word IS (key, count), a thread that read (K, live, n) and
// CASes in (K, live, n+1) is right even when the slot was freed and retaken
// meanwhile: a successful CAS sees the current count of K (ABA is harmless).
// A count that reaches 0 frees the slot (word 0) for any key at once.
//
// CLAIMS (a key not in its window). A live slot of a key must be unique, or
// its count would split. A thread CASes a free slot to (K, pending, nonce),
// then scans the window again: a live K slot wins (the pending one is
// withdrawn); else the pending K slot nearest the home slot is published
// (CAS to (K, live, 1), its own admission) and every other pending K slot
// seen is killed (CAS to free). Anyone may publish a pending slot that it
// has seen in two successive scans, so a stalled claimer never stalls the
// others: nobody waits for a pending slot. Why at most one live K slot:
// each publish is justified by a scan that began after the pending word was
// written (the second scan) and saw no other live or pending K slot that it
// did not kill; for two publishes of slots x and y, x's scan read y before
// y's claim and y's scan read x before x's claim, and since each claim
// precedes its own justifying scan (all operations sequentially consistent)
// these orders form a cycle, which is impossible. The nonce (a 24-bit claim
// counter) keeps a stale publish or kill from hitting a later claim of the
// same key in the same slot; it would take 2^24 claims in the whole table
// between a thread's scan and its CAS to fool it.
//
// TABLE FULL. A key with no slot of its own and no free slot in its window
// (every slot live or pending for other keys) is not counted per IP. With
// TableFull::kAdmitUntracked (the default) it is admitted under the global
// cap alone, counted in stats().untracked and marked on the key (tracked()
// is false), so close() uncounts it from the total only; with
// TableFull::kRefuse it is refused (stats().refused_table_full). Nothing is evicted and nothing waits: size
// the table at 2 or more times the number of distinct addresses expected at
// once (a full window at half load is rare; 8 bytes per slot). The global
// cap always holds, so a flood of distinct addresses is still bounded.
//
// THREADS. key(), try_open(), close(), open_for(), set_caps() and stats()
// may be called concurrently from any thread. A ConnKey belongs to one
// connection: its try_open() and close() are not concurrent with each other.
// Construction and destruction are not concurrent with anything. Never
// blocks, never allocates after construction, no exceptions. The loops
// retry only after another thread's CAS changed a word they read.
//
// COST. A known key: one scan until its slot (usually the home slot, one
// cache line) plus one CAS on the word and one on the total. A new key: up
// to three scans of the window (two cache lines at 16) and three CASes.
// With max_per_ip == 0 the table is not touched at all.
//
// Example:
//   ConnectionCaps caps({.max_total = 50'000, .max_per_ip = 256,
//                        .capacity = 1 << 16, .seed = random_seed});
//   conn.cap_key = caps.key(peer_addr, peer_len);
//   if (!caps.try_open(conn.cap_key)) { /* close at once: over a cap */ }
//   ...
//   caps.close(conn.cap_key);   // at close; a no-op for a refused key
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace ringshard::ratelimit {

// What try_open() does with a new address whose probe window is full.
enum class TableFull : uint8_t {
  kAdmitUntracked,  // admit under the global cap only; not counted per IP
  kRefuse,          // refuse (counted in refused_table_full)
};

struct ConnectionCapsOptions {
  uint64_t max_total = 0;    // open connections in all; 0: no cap
  uint32_t max_per_ip = 0;   // per client address; 0: no cap (and no table use);
                             // at most ConnectionCaps::kMaxPerIp
  size_t capacity = 1 << 16; // slots, rounded up to a power of two
  unsigned probe_window = 16;
  uint64_t seed = 0;         // random bits at startup: where keys land, IPv6 tags
  TableFull when_full = TableFull::kAdmitUntracked;
};

struct ConnectionCapsStats {
  uint64_t open = 0;                // admitted and not yet closed (all)
  uint64_t untracked = 0;           // admissions not counted per IP although
                                    // max_per_ip was set: table full, or a
                                    // key of no IP
  uint64_t refused_total = 0;       // refused by max_total
  uint64_t refused_per_ip = 0;      // refused by max_per_ip
  uint64_t refused_table_full = 0;  // refused by TableFull::kRefuse
};

// One connection's client address, as the table knows it, and whether that
// connection is open in the table. 16 bytes; keep it with the connection.
class ConnKey {
 public:
  ConnKey() = default;
  // Names an IP client (else try_open() uses the global cap only).
  bool valid() const { return tag_ != 0; }
  // try_open() returned true and close() was not called yet.
  bool is_open() const { return state_ != State::kClosed; }
  // Open and counted per IP (false: open untracked, or not open).
  bool tracked() const { return state_ == State::kTracked; }

 private:
  friend class ConnectionCaps;
  friend class ConnectionCapsTestPeer;
  enum class State : uint8_t { kClosed, kTracked, kUntracked };
  uint64_t tag_ = 0;
  uint32_t home_ = 0;
  State state_ = State::kClosed;
};

class ConnectionCaps {
 public:
  static constexpr unsigned kMaxProbeWindow = 64;
  static constexpr size_t kMaxCapacity = size_t{1} << 30;
  static constexpr uint32_t kMaxPerIp = (uint32_t{1} << 24) - 1;

  explicit ConnectionCaps(const ConnectionCapsOptions& options);
  ConnectionCaps(const ConnectionCaps&) = delete;
  ConnectionCaps& operator=(const ConnectionCaps&) = delete;

  // Keys. From ip_key() bytes (family 4 or 6, prefix, address; any other
  // non-empty bytes are hashed the same way); from a peer address (AF_INET /
  // AF_INET6, full length); from a family and 16 address bytes (AF_INET:
  // the first 4, in network order). Empty bytes, another family or a short
  // `len` give a key that is not valid().
  ConnKey key(std::string_view ip_key_bytes) const;
  ConnKey key(const sockaddr* addr, socklen_t len) const;
  ConnKey key(int family, std::span<const uint8_t, 16> address) const;

  // Admits and counts one connection of `key` when under both caps; on true
  // `key` records how it was counted (keep it for close()). On false nothing
  // is counted and `key` stays closed. A key that is already open is
  // refused (counted nowhere): one key per connection.
  bool try_open(ConnKey& key);
  // Uncounts what try_open() counted and marks `key` closed; a no-op for a
  // key that is not open (refused, or closed already).
  void close(ConnKey& key);

  // Open connections counted for `key`'s address (0 with no per-IP cap).
  uint32_t open_for(const ConnKey& key) const;
  // New caps for the admissions that follow; open connections stay. Keys
  // opened while max_per_ip was 0 stay untracked until they close.
  void set_caps(uint64_t max_total, uint32_t max_per_ip);
  uint64_t max_total() const { return max_total_.load(std::memory_order_relaxed); }
  uint32_t max_per_ip() const { return max_per_ip_.load(std::memory_order_relaxed); }

  size_t capacity() const { return mask_ + 1; }
  unsigned probe_window() const { return probe_; }
  ConnectionCapsStats stats() const;

 private:
  friend class ConnectionCapsTestPeer;

  static constexpr unsigned kCountBits = 24;
  static constexpr uint64_t kCountMask = (uint64_t{1} << kCountBits) - 1;
  static constexpr unsigned kStateShift = kCountBits;
  static constexpr uint64_t kStateMask = uint64_t{3} << kStateShift;
  static constexpr uint64_t kPending = uint64_t{1} << kStateShift;
  static constexpr uint64_t kLive = uint64_t{2} << kStateShift;
  static constexpr unsigned kTagShift = kCountBits + 2;

  enum class PerIp { kAdmitted, kRefused, kFull };

  static uint64_t word(uint64_t tag, uint64_t state, uint64_t low) {
    return (tag << kTagShift) | state | low;
  }
  static uint64_t tag_of(uint64_t w) { return w >> kTagShift; }
  static uint64_t state_of(uint64_t w) { return w & kStateMask; }
  static uint64_t low_of(uint64_t w) { return w & kCountMask; }

  bool reserve_total();
  void release_total() { open_.v.fetch_sub(1, std::memory_order_relaxed); }
  PerIp open_per_ip(const ConnKey& key, uint32_t cap);
  void close_per_ip(const ConnKey& key);
  size_t slot_at(const ConnKey& key, unsigned i) const { return (key.home_ + i) & mask_; }

  struct alignas(64) PaddedCounter {
    std::atomic<uint64_t> v{0};
  };

  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
  uint64_t mask_ = 0;
  unsigned probe_ = 1;
  uint64_t seed_ = 0;
  TableFull when_full_;
  // Tests only (ConnectionCapsTestPeer): called after a scan that found no
  // slot of the key, before the claim's CAS, to put another thread's work
  // there. Null otherwise; only the rare claim path looks at it.
  void (*before_claim_)(void* arg) = nullptr;
  void* before_claim_arg_ = nullptr;
  std::atomic<uint64_t> max_total_;
  std::atomic<uint32_t> max_per_ip_;
  PaddedCounter open_;  // the one counter every admission and close touches
  PaddedCounter nonce_;
  PaddedCounter untracked_;
  PaddedCounter refused_total_;
  PaddedCounter refused_per_ip_;
  PaddedCounter refused_table_full_;
};

}  // namespace ringshard::ratelimit
