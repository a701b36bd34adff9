// proxy/hash.h: the deterministic hashes and random numbers of the proxy.
//
// Consistent hashing must pick the same backend on every shard and in every
// process built from the same source, so it cannot use std::hash (whose
// values are the library's choice) or std::uniform_int_distribution (whose
// algorithm is too). hash64() is FNV-1a over the bytes followed by the
// splitmix64 finalizer (FNV alone leaves the low bits poorly mixed, and the
// Maglev table is indexed modulo a prime). Rng is splitmix64: tiny, fast,
// seedable, and good enough for picking backends and jitter (not for
// secrets).
//
// Pure, header-only, no allocation; any thread (an Rng belongs to one).
#pragma once

#include <cstdint>
#include <string_view>

namespace ringshard::proxy {

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

inline uint64_t hash64(std::string_view bytes, uint64_t seed = 0) {
  uint64_t h = 0xcbf29ce484222325ull ^ mix64(seed);
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return mix64(h);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ull;
    return mix64(state_);
  }
  // Uniform in [0, n) for n > 0 (Lemire's multiply-shift; the bias is
  // below 2^-32 for the n used here).
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

 private:
  uint64_t state_;
};

}  // namespace ringshard::proxy
