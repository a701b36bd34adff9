// ratelimit/hash.h: a seedable 64-bit hash for rate-limit keys.
//
// Keys are arbitrary bytes (an address, a header value, a token). The
// limiter table treats the 64-bit hash as the key's identity, so the hash
// must spread well and must not be predictable by clients: seed it with
// random bits at startup (a fixed seed lets an attacker aim many keys at
// one probe window and push them into the overflow bucket).
//
// The construction multiplies 64x64->128 bits and folds the halves (the
// "multiply-fold" step of the wyhash family), 16 input bytes per step, then
// one more fold with the length. Written for this project; not bit-compatible
// with any published hash.
//
// Threads: pure functions. Allocates nothing. Reads up to `size` bytes at
// `data`; the result is only stable within one build (it reads words in
// host byte order), so never persist it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace ringshard::ratelimit {

namespace hash_detail {
inline constexpr uint64_t kK0 = 0x9e3779b97f4a7c15;
inline constexpr uint64_t kK1 = 0xc2b2ae3d27d4eb4f;
inline constexpr uint64_t kK2 = 0x165667b19e3779f9;
inline constexpr uint64_t kK3 = 0xbf58476d1ce4e5b9;

inline uint64_t fold(uint64_t a, uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
inline uint64_t read64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint64_t read32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
}  // namespace hash_detail

inline uint64_t hash_bytes(const void* data, size_t size, uint64_t seed) {
  using namespace hash_detail;
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = fold(seed ^ kK0, kK1);
  size_t left = size;
  while (left > 16) {
    h = fold(read64(p) ^ kK1, read64(p + 8) ^ h);
    p += 16;
    left -= 16;
  }
  uint64_t a = 0;
  uint64_t b = 0;
  if (left > 8) {
    a = read64(p);
    b = read64(p + left - 8);
  } else if (left >= 4) {
    a = read32(p);
    b = read32(p + left - 4);
  } else if (left > 0) {
    a = (uint64_t{p[0]} << 16) | (uint64_t{p[left / 2]} << 8) | p[left - 1];
  }
  h = fold(a ^ kK2, b ^ h ^ kK1);
  return fold(h ^ kK3, size ^ kK0);
}

inline uint64_t hash_bytes(std::string_view bytes, uint64_t seed) {
  return hash_bytes(bytes.data(), bytes.size(), seed);
}

// A 64-bit value (a rule id, a pre-hashed key) mixed with a seed.
inline uint64_t hash_u64(uint64_t value, uint64_t seed) {
  using namespace hash_detail;
  return fold(fold(value ^ kK1, seed ^ kK2) ^ kK3, value ^ kK0);
}

}  // namespace ringshard::ratelimit
