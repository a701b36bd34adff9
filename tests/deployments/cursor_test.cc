// tests/deployments/cursor_test.cc: list cursors (plugins/deployments/cursor.h):
// round trips, and every kind of tampering refused.
#include "plugins/deployments/cursor.h"

#include <gtest/gtest.h>

#include <string>

namespace ringshard::deployments {
namespace RS_UNITY_ID {

TEST(Cursor, RoundTrips) {
  for (int64_t p : {int64_t{0}, int64_t{1}, int64_t{42}, int64_t{255}, int64_t{256},
                    int64_t{1} << 32, INT64_MAX - 1, INT64_MAX}) {
    const std::string c = encode_cursor(p);
    EXPECT_EQ(c.size(), kCursorLength);
    EXPECT_EQ(c.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos)
        << c;
    EXPECT_EQ(decode_cursor(c), p) << c;
  }
  EXPECT_EQ(decode_cursor(encode_cursor(-5)), 0);
}

TEST(Cursor, DifferentPositionsDifferentCursors) {
  EXPECT_NE(encode_cursor(1), encode_cursor(2));
}

TEST(Cursor, RefusesEveryOneCharacterEdit) {
  const std::string c = encode_cursor(123456789);
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  int accepted = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    for (char ch : kAlphabet) {
      if (ch == c[i]) continue;
      std::string t = c;
      t[i] = ch;
      if (decode_cursor(t).has_value()) ++accepted;
    }
  }
  // A 16-bit check: a few of the 945 edits may collide, not more.
  EXPECT_LE(accepted, 2);
}

TEST(Cursor, RefusesMalformed) {
  const std::string c = encode_cursor(7);
  EXPECT_FALSE(decode_cursor("").has_value());
  EXPECT_FALSE(decode_cursor(c.substr(1)).has_value());
  EXPECT_FALSE(decode_cursor(c + "A").has_value());
  EXPECT_FALSE(decode_cursor(c.substr(0, 14) + "=").has_value());
  EXPECT_FALSE(decode_cursor(c.substr(0, 14) + "+").has_value());
  EXPECT_FALSE(decode_cursor(c.substr(0, 14) + "/").has_value());
  EXPECT_FALSE(decode_cursor("AAAAAAAAAAAAAAA").has_value());
  EXPECT_FALSE(decode_cursor("42").has_value());
  EXPECT_FALSE(decode_cursor(std::string(15, '\0')).has_value());
}

TEST(Cursor, RefusesNonCanonicalPadding) {
  // The last character carries 4 data bits and 2 that must be zero: turning
  // on one of those keeps the bytes but changes the spelling.
  const std::string c = encode_cursor(99);
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const size_t v = kAlphabet.find(c.back());
  ASSERT_EQ(v & 3, 0u);
  std::string t = c;
  t.back() = kAlphabet[v | 1];
  EXPECT_FALSE(decode_cursor(t).has_value());
}

}  // namespace
}  // namespace ringshard::deployments
