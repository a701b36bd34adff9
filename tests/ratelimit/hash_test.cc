// The key hash: deterministic per seed, seed-sensitive, well spread.
#include "ratelimit/hash.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <string>
#include <unordered_set>

namespace ringshard::ratelimit {
namespace RS_UNITY_ID {

TEST(Hash, DeterministicAndSeeded) {
  EXPECT_EQ(hash_bytes("10.0.0.1", 1), hash_bytes("10.0.0.1", 1));
  EXPECT_NE(hash_bytes("10.0.0.1", 1), hash_bytes("10.0.0.1", 2));
  EXPECT_NE(hash_bytes("", 1), hash_bytes(std::string_view("\0", 1), 1));
  EXPECT_NE(hash_u64(1, 1), hash_u64(2, 1));
  EXPECT_NE(hash_u64(1, 1), hash_u64(1, 2));
}

TEST(Hash, NoCollisionsAmongSimilarKeysOfEveryLength) {
  std::unordered_set<std::string> keys;
  std::unordered_set<uint64_t> hashes;
  for (size_t len = 0; len <= 40; ++len) {
    for (uint32_t v = 0; v < 3000; ++v) {
      std::string s(len, 'a');
      for (size_t i = 0; i < len && i < 4; ++i) {
        s[len - 1 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
      }
      if (keys.insert(s).second) hashes.insert(hash_bytes(s, 12345));
    }
  }
  EXPECT_EQ(hashes.size(), keys.size());
}

// Flipping one input bit flips about half of the output bits, and the low
// bits (the table's slot index) spread over every slot.
TEST(Hash, AvalancheAndLowBitSpread) {
  for (size_t len : {1u, 3u, 4u, 7u, 8u, 12u, 16u, 17u, 33u}) {
    double total = 0;
    int count = 0;
    for (int trial = 0; trial < 64; ++trial) {
      std::string s(len, static_cast<char>(trial * 37 + 11));
      const uint64_t base = hash_bytes(s, 99);
      for (size_t bit = 0; bit < len * 8; ++bit) {
        std::string t = s;
        t[bit / 8] = static_cast<char>(t[bit / 8] ^ (1 << (bit % 8)));
        total += std::popcount(base ^ hash_bytes(t, 99));
        ++count;
      }
    }
    const double mean = total / count;
    EXPECT_GT(mean, 30.0) << "len " << len;
    EXPECT_LT(mean, 34.0) << "len " << len;
  }
  int buckets[256] = {};
  for (uint32_t i = 0; i < 256 * 64; ++i) {
    const std::string key = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
    ++buckets[hash_bytes(key, 7) & 255];
  }
  for (int b : buckets) {
    EXPECT_GT(b, 30);
    EXPECT_LT(b, 110);
  }
}

}  // namespace
}  // namespace ringshard::ratelimit
