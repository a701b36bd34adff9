// tests/deployments/json_writer_test.cc: the response writer
// (plugins/deployments/json_writer.h): commas, escaping, UTF-8.
#include "plugins/deployments/json_writer.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/deployments/json_test_util.h"

namespace ringshard::deployments {
namespace RS_UNITY_ID {

std::string json_quoted(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonWriter, CommasAndNesting) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .key("a").integer(-1)
      .key("b").begin_array().uinteger(UINT64_MAX).boolean(true).null().begin_object().end_object()
      .begin_array().end_array().end_array()
      .key("c").string("x")
      .key("d").raw(R"({"r":1})")
      .end_object();
  EXPECT_EQ(out, R"({"a":-1,"b":[18446744073709551615,true,null,{},[]],"c":"x","d":{"r":1}})");
  EXPECT_TRUE(testing::is_valid_json(out));
}

TEST(JsonWriter, RawValueTakesAComma) {
  std::string out;
  JsonWriter w(out);
  w.begin_array().integer(1);
  w.raw_value() += "\"t\"";
  w.end_array();
  EXPECT_EQ(out, R"([1,"t"])");
}

TEST(JsonWriter, AppendsToWhatIsThere) {
  std::string out = "prefix:";
  JsonWriter(out).begin_array().integer(INT64_MIN).end_array();
  EXPECT_EQ(out, "prefix:[-9223372036854775808]");
}

TEST(JsonEscape, QuotesBackslashesAndControls) {
  EXPECT_EQ(json_quoted("a\"b\\c/d"), R"("a\"b\\c/d")");
  EXPECT_EQ(json_quoted("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(json_quoted(std::string_view("\0\x01\x1f\x7f", 4)), R"("\u0000\u0001\u001f\u007f")");
  for (int c = 0; c < 0x20; ++c) {
    const std::string s = json_quoted(std::string(1, static_cast<char>(c)));
    EXPECT_TRUE(testing::is_valid_json(s)) << c;
    EXPECT_EQ(testing::string_at("{\"v\":" + s + "}", "/v"), std::string(1, static_cast<char>(c)));
  }
}

TEST(JsonEscape, NonAsciiPassesThrough) {
  const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x9A\x80 \xE2\x80\xA8";
  EXPECT_EQ(json_quoted(text), "\"" + text + "\"");
  EXPECT_EQ(testing::string_at("{\"v\":" + json_quoted(text) + "}", "/v"), text);
}

TEST(JsonEscape, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(json_quoted("a\xFF" "b"), R"("a\ufffdb")");
  EXPECT_EQ(json_quoted("\xC3"), R"("\ufffd")");              // truncated
  EXPECT_EQ(json_quoted("\xC0\xAF"), R"("\ufffd\ufffd")");    // overlong
  EXPECT_EQ(json_quoted("\xED\xA0\x80"), R"("\ufffd\ufffd\ufffd")");  // a surrogate
  EXPECT_EQ(json_quoted("\xF4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // > U+10FFFF
  EXPECT_EQ(json_quoted("\xE2\x82"), R"("\ufffd\ufffd")");
  for (int c = 0x80; c < 0x100; ++c) {
    EXPECT_TRUE(testing::is_valid_json(json_quoted(std::string(1, static_cast<char>(c))))) << c;
  }
}

}  // namespace
}  // namespace ringshard::deployments
