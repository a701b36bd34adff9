// Tests for http/request_id.h: which client ids are accepted, and the shape,
// spread and independence of generated ids.
#include "http/request_id.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ringshard::http {
namespace RS_UNITY_ID {

TEST(ValidRequestId, AcceptsTheAllowedAlphabet) {
  EXPECT_TRUE(valid_request_id("a"));
  EXPECT_TRUE(valid_request_id("f47ac10b-58cc-4372-a567-0e02b2c3d479"));
  EXPECT_TRUE(valid_request_id("AZaz09._~+/=-"));
  EXPECT_TRUE(valid_request_id("dGhpcyBpcyBiYXNlNjQ="));
}

TEST(ValidRequestId, RefusesEmptyAndTooLong) {
  EXPECT_FALSE(valid_request_id(""));
  EXPECT_TRUE(valid_request_id(std::string(kRequestIdMaxLength, 'x')));
  EXPECT_FALSE(valid_request_id(std::string(kRequestIdMaxLength + 1, 'x')));
}

TEST(ValidRequestId, RefusesEveryOtherByte) {
  const std::string allowed =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/=-";
  for (int c = 0; c < 256; ++c) {
    const std::string id = "ab" + std::string(1, static_cast<char>(c)) + "cd";
    const bool want = allowed.find(static_cast<char>(c)) != std::string::npos;
    EXPECT_EQ(valid_request_id(id), want) << "byte " << c;
  }
}

TEST(RequestIdGenerator, Writes32LowercaseHexDigits) {
  RequestIdGenerator gen;
  char buf[kRequestIdLength];
  for (int i = 0; i < 100; ++i) {
    std::string_view id = gen.next_id(buf);
    ASSERT_EQ(id.size(), 32u);
    EXPECT_EQ(id.data(), buf);
    for (char c : id) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << id;
    EXPECT_TRUE(valid_request_id(id));
  }
}

TEST(RequestIdGenerator, IdsDoNotRepeat) {
  RequestIdGenerator gen;
  std::set<std::string> seen;
  char buf[kRequestIdLength];
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(seen.emplace(gen.next_id(buf)).second);
}

TEST(RequestIdGenerator, TwoGeneratorsSeedDifferently) {
  RequestIdGenerator a;
  RequestIdGenerator b;
  char x[kRequestIdLength];
  char y[kRequestIdLength];
  EXPECT_NE(a.next_id(x), b.next_id(y));
}

TEST(RequestIdGenerator, ExplicitSeedIsDeterministic) {
  RequestIdGenerator a(42);
  RequestIdGenerator b(42);
  RequestIdGenerator c(43);
  for (int i = 0; i < 10; ++i) {
    const uint64_t va = a.next_u64();
    EXPECT_EQ(va, b.next_u64());
    EXPECT_NE(va, c.next_u64());
  }
}

// Every hex position takes all 16 digits and no digit dominates: a broken
// state update or hex encoder (stuck nibble, byte-order slip) shows here.
TEST(RequestIdGenerator, DigitsAreSpreadOverEveryPosition) {
  RequestIdGenerator gen(7);
  constexpr int kIds = 16000;
  int counts[kRequestIdLength][16] = {};
  char buf[kRequestIdLength];
  for (int i = 0; i < kIds; ++i) {
    std::string_view id = gen.next_id(buf);
    for (size_t p = 0; p < id.size(); ++p) {
      const char c = id[p];
      ++counts[p][c <= '9' ? c - '0' : c - 'a' + 10];
    }
  }
  for (size_t p = 0; p < kRequestIdLength; ++p) {
    for (int d = 0; d < 16; ++d) {
      // Expected 1000 each; 1000 +- 200 is more than 6 standard deviations.
      EXPECT_GT(counts[p][d], 800) << "position " << p << " digit " << d;
      EXPECT_LT(counts[p][d], 1200) << "position " << p << " digit " << d;
    }
  }
}

TEST(RequestIdGenerator, FillCoversOddLengths) {
  RequestIdGenerator gen(1);
  uint8_t buf[13] = {};
  gen.fill(buf);
  int zeros = 0;
  for (uint8_t b : buf) zeros += b == 0;
  EXPECT_LT(zeros, 4);
}

TEST(HexEncode, LowercasePairs) {
  const uint8_t in[] = {0x00, 0x0f, 0xa5, 0xff};
  char out[8];
  hex_encode(in, out);
  EXPECT_EQ(std::string_view(out, 8), "000fa5ff");
}

}  // namespace
}  // namespace ringshard::http
