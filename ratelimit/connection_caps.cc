#include "ratelimit/connection_caps.h"

#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstring>

#include "ratelimit/hash.h"
#include "ratelimit/rate_spec.h"

namespace ringshard::ratelimit {

namespace {

constexpr size_t kNone = SIZE_MAX;
// Seeds the tag hash apart from the home-slot hash, so that keys sharing a
// window do not also share their tag bits.
constexpr uint64_t kTagSeed = 0x6a09e667f3bcc909;
constexpr uint64_t kHashedTag = uint64_t{1} << 37;
constexpr uint64_t kIpv4Tag = uint64_t{1} << 32;

// Every slot operation is sequentially consistent: the argument that a key
// has at most one live slot (header, CLAIMS) orders claims and scans of
// different slots, which acquire/release alone does not.
constexpr auto kOrder = std::memory_order_seq_cst;

}  // namespace

ConnectionCaps::ConnectionCaps(const ConnectionCapsOptions& options)
    : seed_(options.seed),
      when_full_(options.when_full),
      max_total_(options.max_total),
      max_per_ip_(std::min(options.max_per_ip, kMaxPerIp)) {
  probe_ = std::clamp(options.probe_window, 1u, kMaxProbeWindow);
  const size_t capacity = std::bit_ceil(std::clamp<size_t>(options.capacity, probe_, kMaxCapacity));
  // C++20 value-initializes std::atomic: every word starts free (0).
  slots_ = std::make_unique<std::atomic<uint64_t>[]>(capacity);
  mask_ = capacity - 1;
}

ConnKey ConnectionCaps::key(std::string_view b) const {
  ConnKey k;
  if (b.empty()) return k;
  k.home_ = static_cast<uint32_t>(hash_bytes(b, seed_));
  if (b.size() == 6 && b[0] == 4 && static_cast<uint8_t>(b[1]) == 32) {
    // An IPv4 client fits the tag whole: no collision at all.
    const auto* a = reinterpret_cast<const unsigned char*>(b.data()) + 2;
    k.tag_ = kIpv4Tag | (uint64_t{a[0]} << 24) | (uint64_t{a[1]} << 16) | (uint64_t{a[2]} << 8) | a[3];
  } else {
    k.tag_ = kHashedTag | (hash_bytes(b, seed_ ^ kTagSeed) & (kHashedTag - 1));
  }
  return k;
}

ConnKey ConnectionCaps::key(const sockaddr* addr, socklen_t len) const {
  IpKey k;
  if (!ip_key(addr, len, 32, 128, &k)) return {};
  return key(k.view());
}

ConnKey ConnectionCaps::key(int family, std::span<const uint8_t, 16> address) const {
  // The bytes ip_key() builds for /32 and /128 (IPv4-mapped IPv6 is IPv4).
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  std::array<char, 18> b{};
  size_t n = 0;
  if (family == AF_INET) {
    n = 4;
    std::memcpy(b.data() + 2, address.data(), 4);
  } else if (family == AF_INET6 && std::memcmp(address.data(), kMapped, 12) == 0) {
    n = 4;
    std::memcpy(b.data() + 2, address.data() + 12, 4);
  } else if (family == AF_INET6) {
    n = 16;
    std::memcpy(b.data() + 2, address.data(), 16);
  } else {
    return {};
  }
  b[0] = n == 4 ? 4 : 6;
  b[1] = static_cast<char>(n * 8);
  return key(std::string_view(b.data(), 2 + n));
}

bool ConnectionCaps::reserve_total() {
  const uint64_t cap = max_total_.load(std::memory_order_relaxed);
  if (cap == 0) {
    open_.v.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  // One counter in one modification order: exact under any contention.
  uint64_t n = open_.v.load(std::memory_order_relaxed);
  do {
    if (n >= cap) return false;
  } while (!open_.v.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  return true;
}

bool ConnectionCaps::try_open(ConnKey& key) {
  if (key.is_open()) return false;
  // The total first: a reservation given back after a per-IP refusal may
  // make a concurrent opener see the total cap reached an instant too long,
  // never the other way round.
  if (!reserve_total()) {
    refused_total_.v.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const uint32_t cap = max_per_ip_.load(std::memory_order_relaxed);
  if (cap == 0) {
    key.state_ = ConnKey::State::kUntracked;
    return true;
  }
  const PerIp r = key.valid() ? open_per_ip(key, cap) : PerIp::kFull;
  if (r == PerIp::kAdmitted) {
    key.state_ = ConnKey::State::kTracked;
    return true;
  }
  if (r == PerIp::kRefused) {
    release_total();
    refused_per_ip_.v.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (key.valid() && when_full_ == TableFull::kRefuse) {
    release_total();
    refused_table_full_.v.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  untracked_.v.fetch_add(1, std::memory_order_relaxed);
  key.state_ = ConnKey::State::kUntracked;
  return true;
}

void ConnectionCaps::close(ConnKey& key) {
  if (!key.is_open()) return;
  if (key.tracked()) close_per_ip(key);
  release_total();
  key.state_ = ConnKey::State::kClosed;
}

ConnectionCaps::PerIp ConnectionCaps::open_per_ip(const ConnKey& key, uint32_t cap) {
  const uint64_t tag = key.tag_;
  // A pending slot this thread has seen (or written) before the current
  // scan began: it may publish it if the scan finds it unchanged.
  size_t known = kNone;
  uint64_t known_word = 0;
  // This thread's own claim, withdrawn when another slot wins.
  size_t mine = kNone;
  uint64_t mine_word = 0;
  const auto withdraw = [&] {
    if (mine == kNone) return;
    uint64_t e = mine_word;
    slots_[mine].compare_exchange_strong(e, 0, kOrder);  // fails if killed or published
    mine = kNone;
  };
  for (;;) {
    size_t live = kNone;
    uint64_t live_word = 0;
    size_t free_slot = kNone;
    std::array<size_t, kMaxProbeWindow> pending;
    std::array<uint64_t, kMaxProbeWindow> pending_word;
    unsigned npending = 0;
    for (unsigned i = 0; i < probe_; ++i) {
      const size_t s = slot_at(key, i);
      const uint64_t w = slots_[s].load(kOrder);
      if (w == 0) {
        if (free_slot == kNone) free_slot = s;
      } else if (tag_of(w) == tag) {
        if (state_of(w) == kLive) {
          live = s;
          live_word = w;
          break;  // the only live slot of the key
        }
        pending[npending] = s;
        pending_word[npending] = w;
        ++npending;
      }
    }

    if (live != kNone) {
      // The key has its slot: our claim (if any) and the pending slots
      // before it are leftovers; clearing them frees the slots sooner.
      withdraw();
      for (unsigned j = 0; j < npending; ++j) {
        uint64_t e = pending_word[j];
        slots_[pending[j]].compare_exchange_strong(e, 0, kOrder);
      }
      uint64_t w = live_word;
      for (;;) {
        if (low_of(w) >= cap) return PerIp::kRefused;
        if (slots_[live].compare_exchange_weak(w, w + 1, kOrder)) return PerIp::kAdmitted;
        if (tag_of(w) != tag || state_of(w) != kLive) break;  // freed meanwhile: look again
      }
      known = kNone;
      continue;
    }

    if (npending > 0) {
      // Publish the pending slot nearest home, once it is known to predate
      // this scan; kill every other one first.
      if (pending[0] != known || pending_word[0] != known_word) {
        known = pending[0];
        known_word = pending_word[0];
        continue;
      }
      bool killed = true;
      for (unsigned j = 1; j < npending; ++j) {
        uint64_t e = pending_word[j];
        killed = slots_[pending[j]].compare_exchange_strong(e, 0, kOrder) && killed;
      }
      if (!killed) continue;  // one changed under us: look again
      uint64_t e = pending_word[0];
      if (slots_[pending[0]].compare_exchange_strong(e, word(tag, kLive, 1), kOrder)) {
        return PerIp::kAdmitted;  // our claim, if it was another slot, was killed above
      }
      continue;
    }

    // Not in the window: claim a free slot, then look again (the next scan
    // settles races with other claimers of the key).
    mine = kNone;  // a claim of ours that is gone from the window was killed
    if (free_slot == kNone) return PerIp::kFull;
    if (before_claim_ != nullptr) before_claim_(before_claim_arg_);
    const uint64_t nonce = nonce_.v.fetch_add(1, std::memory_order_relaxed) & kCountMask;
    const uint64_t w = word(tag, kPending, nonce);
    uint64_t e = 0;
    if (slots_[free_slot].compare_exchange_strong(e, w, kOrder)) {
      mine = known = free_slot;
      mine_word = known_word = w;
    }
  }
}

void ConnectionCaps::close_per_ip(const ConnKey& key) {
  for (;;) {
    size_t live = kNone;
    uint64_t w = 0;
    for (unsigned i = 0; i < probe_ && live == kNone; ++i) {
      const size_t s = slot_at(key, i);
      w = slots_[s].load(kOrder);
      if (w != 0 && tag_of(w) == key.tag_ && state_of(w) == kLive) live = s;
    }
    // A tracked open connection keeps its key's live slot (count >= 1).
    assert(live != kNone && "close() of a tracked key without a live slot");
    if (live == kNone) return;
    for (;;) {
      // The last connection frees the slot for any key.
      const uint64_t next = low_of(w) == 1 ? 0 : w - 1;
      if (slots_[live].compare_exchange_weak(w, next, kOrder)) return;
      if (w == 0 || tag_of(w) != key.tag_ || state_of(w) != kLive) break;
    }
  }
}

uint32_t ConnectionCaps::open_for(const ConnKey& key) const {
  if (!key.valid()) return 0;
  for (unsigned i = 0; i < probe_; ++i) {
    const uint64_t w = slots_[slot_at(key, i)].load(kOrder);
    if (w != 0 && tag_of(w) == key.tag_ && state_of(w) == kLive) {
      return static_cast<uint32_t>(low_of(w));
    }
  }
  return 0;
}

void ConnectionCaps::set_caps(uint64_t max_total, uint32_t max_per_ip) {
  max_total_.store(max_total, std::memory_order_relaxed);
  max_per_ip_.store(std::min(max_per_ip, kMaxPerIp), std::memory_order_relaxed);
}

ConnectionCapsStats ConnectionCaps::stats() const {
  ConnectionCapsStats s;
  s.open = open_.v.load(std::memory_order_relaxed);
  s.untracked = untracked_.v.load(std::memory_order_relaxed);
  s.refused_total = refused_total_.v.load(std::memory_order_relaxed);
  s.refused_per_ip = refused_per_ip_.v.load(std::memory_order_relaxed);
  s.refused_table_full = refused_table_full_.v.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ringshard::ratelimit
