// Reads and writes ConnectionCaps' slot words directly: a "stalled
// claimer" is a pending word written here that nobody ever publishes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ratelimit/connection_caps.h"

namespace ringshard::ratelimit {

class ConnectionCapsTestPeer {
 public:
  static uint64_t word(const ConnectionCaps& c, size_t slot) { return c.slots_[slot].load(); }
  static size_t home(const ConnectionCaps& c, const ConnKey& k) { return c.slot_at(k, 0); }
  static size_t slot(const ConnectionCaps& c, const ConnKey& k, unsigned i) {
    return c.slot_at(k, i);
  }
  static uint64_t pending(const ConnKey& k, uint64_t nonce) {
    return ConnectionCaps::word(k.tag_, ConnectionCaps::kPending, nonce);
  }
  static uint64_t live(const ConnKey& k, uint64_t count) {
    return ConnectionCaps::word(k.tag_, ConnectionCaps::kLive, count);
  }
  static bool cas(ConnectionCaps& c, size_t slot, uint64_t expected, uint64_t desired) {
    return c.slots_[slot].compare_exchange_strong(expected, desired);
  }
  static size_t used_slots(const ConnectionCaps& c) {
    size_t n = 0;
    for (size_t i = 0; i < c.capacity(); ++i) n += c.slots_[i].load() != 0;
    return n;
  }
  static uint64_t tag(const ConnKey& k) { return k.tag_; }
  static void before_claim(ConnectionCaps& c, void (*hook)(void*), void* arg) {
    c.before_claim_ = hook;
    c.before_claim_arg_ = arg;
  }
};

}  // namespace ringshard::ratelimit
