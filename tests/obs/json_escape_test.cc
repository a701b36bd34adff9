// Tests for obs/json_escape.h, obs/utf8.h and obs/rfc3339.h: every escape
// form, well-formed and ill-formed UTF-8, the output limit, and timestamps.
#include "obs/json_escape.h"

#include <gtest/gtest.h>

#include <string>

#include "json/json.h"
#include "obs/rfc3339.h"
#include "obs/utf8.h"

namespace ringshard::obs {
namespace RS_UNITY_ID {

std::string esc(std::string_view in, EscapeStyle style = EscapeStyle::kJson) {
  std::string out;
  EXPECT_TRUE(append_escaped(out, in, style));
  return out;
}

TEST(JsonEscape, EscapeForms) {
  EXPECT_EQ(esc("plain /path?q=1"), "plain /path?q=1");
  EXPECT_EQ(esc("\"\\"), "\\\"\\\\");
  EXPECT_EQ(esc("\b\f\n\r\t"), "\\b\\f\\n\\r\\t");
  EXPECT_EQ(esc(std::string_view("\0\x1f\x7f", 3)), "\\u0000\\u001f\\u007f");
  EXPECT_EQ(esc(""), "");
}

TEST(JsonEscape, Utf8) {
  EXPECT_EQ(esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf")
      << "well-formed sequences up to U+10FFFF pass through";
  EXPECT_EQ(esc("\xff"), "\\ufffd");
  EXPECT_EQ(esc("\x80"), "\\ufffd") << "stray continuation byte";
  EXPECT_EQ(esc("\xc0\xaf"), "\\ufffd\\ufffd") << "overlong '/'";
  EXPECT_EQ(esc("\xe0\x80\xaf"), "\\ufffd\\ufffd\\ufffd") << "overlong, 3 bytes";
  EXPECT_EQ(esc("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd") << "surrogate U+D800";
  EXPECT_EQ(esc("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd") << "above U+10FFFF";
  EXPECT_EQ(esc("\xe2\x82"), "\\ufffd\\ufffd") << "truncated at the end";
  EXPECT_EQ(esc("\xe2\x82x"), "\\ufffd\\ufffdx");
  EXPECT_EQ(esc("\xff\"", EscapeStyle::kText), "\xEF\xBF\xBD\"") << "text: raw U+FFFD, quotes kept";
}

TEST(JsonEscape, EveryByteGivesValidJson) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  all += all;  // and every byte after every other
  std::string doc;
  append_json_string(doc, all);
  json::ParseError err;
  auto v = json::parse(doc, &err);
  ASSERT_TRUE(v) << err.message << " at " << err.offset;
  const std::string_view back = v->as_string();
  EXPECT_EQ(back.substr(0, 128), std::string_view(all).substr(0, 128)) << "ASCII round-trips";
}

TEST(JsonEscape, LimitStopsAtACharacterBoundary) {
  std::string out;
  EXPECT_FALSE(append_escaped(out, "ab\ncd", EscapeStyle::kJson, 3));
  EXPECT_EQ(out, "ab") << "the 2-byte escape would pass the limit";
  out.clear();
  EXPECT_FALSE(append_escaped(out, "a\xe2\x82\xac", EscapeStyle::kJson, 3));
  EXPECT_EQ(out, "a") << "never half a UTF-8 sequence";
  out.clear();
  EXPECT_TRUE(append_escaped(out, "a\xe2\x82\xac", EscapeStyle::kJson, 4));
  EXPECT_EQ(out, "a\xe2\x82\xac");
  out.clear();
  EXPECT_FALSE(append_escaped(out, "abcdef", EscapeStyle::kJson, 0));
  EXPECT_EQ(out, "");
}

TEST(Utf8, SequenceLengths) {
  auto len = [](std::string_view s) {
    return utf8_sequence_len(reinterpret_cast<const unsigned char*>(s.data()), s.size());
  };
  EXPECT_EQ(len("a"), 1u);
  EXPECT_EQ(len("\xc2\x80"), 2u);
  EXPECT_EQ(len("\xc1\xbf"), 0u);
  EXPECT_EQ(len("\xe0\xa0\x80"), 3u);
  EXPECT_EQ(len("\xed\x9f\xbf"), 3u) << "U+D7FF, just below the surrogates";
  EXPECT_EQ(len("\xee\x80\x80"), 3u) << "U+E000, just above";
  EXPECT_EQ(len("\xf0\x90\x80\x80"), 4u);
  EXPECT_EQ(len("\xf0\x8f\xbf\xbf"), 0u) << "overlong 4-byte";
  EXPECT_EQ(len("\xf5\x80\x80\x80"), 0u);
}

TEST(Rfc3339, Formats) {
  char buf[kRfc3339Len];
  auto fmt = [&](int64_t ms) {
    format_rfc3339_ms(ms, buf);
    return std::string(buf, kRfc3339Len);
  };
  EXPECT_EQ(fmt(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(fmt(1714566896789), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(fmt(951782400000), "2000-02-29T00:00:00.000Z") << "leap day of a century leap year";
  EXPECT_EQ(fmt(4107542399999), "2100-02-28T23:59:59.999Z") << "2100 is not a leap year";
  EXPECT_EQ(fmt(4107542400000), "2100-03-01T00:00:00.000Z");
  EXPECT_EQ(fmt(253402300799999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(fmt(-5), "1970-01-01T00:00:00.000Z") << "clamped";
  EXPECT_GT(unix_now_ms(), 1700000000000);
}

}  // namespace
}  // namespace ringshard::obs
