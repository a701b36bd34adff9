// Tests for json/json.h: tables of documents that must parse (each also
// round-trips through dump()) and documents that must not (each with the
// offset and message of the error), in the spirit of JSONTestSuite's y_ and
// n_ cases; then limits, escapes, numbers, duplicate keys, dump and
// append_string, one behaviour per test.
#include "json/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringshard::json {
namespace RS_UNITY_ID {

using namespace std::string_literals;
using namespace std::string_view_literals;

Value parse_ok(std::string_view text, const ParseLimits& limits = {}) {
  ParseError err;
  std::optional<Value> v = parse(text, &err, limits);
  EXPECT_TRUE(v.has_value()) << "error at " << err.offset << ": " << err.message;
  return v ? std::move(*v) : Value();
}

ParseError parse_error(std::string_view text, const ParseLimits& limits = {}) {
  ParseError err;
  std::optional<Value> v = parse(text, &err, limits);
  EXPECT_FALSE(v.has_value()) << "parsed as " << v->dump();
  return err;
}

std::string nested(size_t depth, std::string_view inner = "") {
  return std::string(depth, '[') + std::string(inner) + std::string(depth, ']');
}

// ---- Valid documents: each parses to a value whose dump() is `dumped`.

struct Valid {
  const char* name;
  std::string_view text;
  std::string_view dumped;
};

const Valid kValid[] = {
    {"null", "null", "null"},
    {"true", "true", "true"},
    {"false", "false", "false"},
    {"zero", "0", "0"},
    {"negative_zero", "-0", "-0"},
    {"negative_zero_fraction", "-0.0", "-0"},
    {"integer", "123", "123"},
    {"negative_integer", "-42", "-42"},
    {"fraction", "1.5", "1.5"},
    {"zero_fraction", "0.25", "0.25"},
    {"exponent", "1e2", "100"},
    {"exponent_upper", "1E2", "100"},
    {"exponent_plus", "1e+2", "100"},
    {"exponent_minus", "1e-2", "0.01"},
    {"exponent_leading_zeros", "1e007", "10000000"},
    {"fraction_exponent", "1.25e1", "12.5"},
    {"zero_exponent", "0e10", "0"},
    {"large_exponent_integer", "1e300", "1e+300"},
    {"max_double", "1.7976931348623157e308", "1.7976931348623157e+308"},
    {"min_subnormal", "5e-324", "5e-324"},
    {"underflow_to_zero", "1e-400", "0"},
    {"negative_underflow_to_zero", "-1e-400", "-0"},
    {"many_zeros_underflow", "0.0000000001e-330", "0"},
    {"two_to_53_minus_1", "9007199254740991", "9007199254740991"},
    {"two_to_53", "9007199254740992", "9007199254740992"},
    {"big_integer", "123456789012345678901234567890", "1.2345678901234568e+29"},
    {"empty_string", R"("")", R"("")"},
    {"string", R"("hello")", R"("hello")"},
    {"simple_escapes", R"("\"\\\/\b\f\n\r\t")", R"("\"\\/\b\f\n\r\t")"},
    {"u_escape_ascii", R"("\u0041")", R"("A")"},
    {"u_escape_lowercase_hex", R"("\u00e9")", "\"\xC3\xA9\""},
    {"u_escape_uppercase_hex", R"("\u00E9")", "\"\xC3\xA9\""},
    {"u_escape_nul", R"("\u0000")", R"("\u0000")"},
    {"u_escape_control", R"("\u001F")", R"("\u001f")"},
    {"u_escape_three_byte", R"("\u20AC")", "\"\xE2\x82\xAC\""},
    {"u_escape_bmp_max", R"("\uFFFF")", "\"\xEF\xBF\xBF\""},
    {"surrogate_pair", R"("\uD83D\uDE00")", "\"\xF0\x9F\x98\x80\""},
    {"surrogate_pair_max", R"("\uDBFF\uDFFF")", "\"\xF4\x8F\xBF\xBF\""},
    {"utf8_two_byte", "\"\xC3\xA9\"", "\"\xC3\xA9\""},
    {"utf8_three_byte", "\"\xE2\x82\xAC\"", "\"\xE2\x82\xAC\""},
    {"utf8_four_byte", "\"\xF0\x9F\x98\x80\"", "\"\xF0\x9F\x98\x80\""},
    {"utf8_max", "\"\xF4\x8F\xBF\xBF\"", "\"\xF4\x8F\xBF\xBF\""},
    {"utf8_e0_lowest", "\"\xE0\xA0\x80\"", "\"\xE0\xA0\x80\""},
    {"utf8_before_surrogates", "\"\xED\x9F\xBF\"", "\"\xED\x9F\xBF\""},
    {"del_character", "\"\x7F\"", "\"\x7F\""},
    {"empty_array", "[]", "[]"},
    {"empty_object", "{}", "{}"},
    {"array", "[1,\"a\",true,null]", "[1,\"a\",true,null]"},
    {"object", R"({"a":1,"b":[2]})", R"({"a":1,"b":[2]})"},
    {"nested_empty", "[[],{}]", "[[],{}]"},
    {"object_in_array", R"([{"k":{}}])", R"([{"k":{}}])"},
    {"empty_key", R"({"":0})", R"({"":0})"},
    {"whitespace_everywhere", " \t\r\n[ 1 , { \"a\" : 2 } ] \n", R"([1,{"a":2}])"},
    {"whitespace_empty_array", "[ ]", "[]"},
    {"whitespace_empty_object", "{\n}", "{}"},
    {"member_order_kept", R"({"b":1,"a":2})", R"({"b":1,"a":2})"},
};

class ValidDocument : public ::testing::TestWithParam<Valid> {};

TEST_P(ValidDocument, ParsesAndDumps) {
  EXPECT_EQ(parse_ok(GetParam().text).dump(), GetParam().dumped);
}

TEST_P(ValidDocument, DumpReparsesToTheSameDump) {
  const std::string once = parse_ok(GetParam().text).dump();
  EXPECT_EQ(parse_ok(once).dump(), once);
}

INSTANTIATE_TEST_SUITE_P(Json, ValidDocument, ::testing::ValuesIn(kValid),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- Invalid documents: each fails with this offset and message.

struct Invalid {
  const char* name;
  std::string_view text;
  size_t offset;
  std::string_view message;
};

constexpr std::string_view kEnd = "unexpected end of input";
constexpr std::string_view kUnexpected = "unexpected character";
constexpr std::string_view kTrailing = "unexpected character after the value";
constexpr std::string_view kArraySep = "expected ',' or ']'";
constexpr std::string_view kObjectSep = "expected ',' or '}'";
constexpr std::string_view kKey = "expected a string key";
constexpr std::string_view kColon = "expected ':'";
constexpr std::string_view kLeadingZero = "leading zero in number";
constexpr std::string_view kDigit = "expected a digit";
constexpr std::string_view kRange = "number out of range";
constexpr std::string_view kControl = "control character in string";
constexpr std::string_view kEscape = "invalid escape in string";
constexpr std::string_view kHex = "invalid hex digit in \\u escape";
constexpr std::string_view kSurrogate = "lone surrogate in \\u escape";
constexpr std::string_view kUtf8 = "invalid UTF-8 in string";

const Invalid kInvalid[] = {
    // Structure.
    {"empty", "", 0, kEnd},
    {"only_whitespace", " \n", 2, kEnd},
    {"two_values", "1 2", 2, kTrailing},
    {"value_then_garbage", "[]x", 2, kTrailing},
    {"two_objects", "{}{}", 2, kTrailing},
    {"nul_after_value", "0\0"sv, 1, kTrailing},
    {"utf8_bom", "\xEF\xBB\xBF{}", 0, kUnexpected},
    {"form_feed_whitespace", "\f[]", 0, kUnexpected},
    {"vertical_tab_whitespace", "[\v]", 1, kUnexpected},
    {"nbsp_whitespace", "[\xC2\xA0]", 1, kUnexpected},
    {"unclosed_array", "[1", 2, kEnd},
    {"unclosed_array_after_comma", "[1,", 3, kEnd},
    {"unclosed_empty_array", "[", 1, kEnd},
    {"unclosed_object", "{\"a\":1", 6, kEnd},
    {"unopened_array", "]", 0, kUnexpected},
    {"mismatched_close", "[}", 1, kUnexpected},
    {"mismatched_close_object", "{\"a\":1]", 6, kObjectSep},
    {"trailing_comma_array", "[1,]", 3, kUnexpected},
    {"trailing_comma_object", "{\"a\":1,}", 7, kKey},
    {"leading_comma", "[,1]", 1, kUnexpected},
    {"double_comma", "[1,,2]", 3, kUnexpected},
    {"missing_comma", "[1 2]", 3, kArraySep},
    {"missing_comma_object", "{\"a\":1 \"b\":2}", 7, kObjectSep},
    {"unquoted_key", "{a:1}", 1, kKey},
    {"single_quoted_key", "{'a':1}", 1, kKey},
    {"number_key", "{1:1}", 1, kKey},
    {"missing_colon", "{\"a\" 1}", 5, kColon},
    {"missing_value", "{\"a\":}", 5, kUnexpected},
    {"comma_instead_of_colon", "{\"a\",1}", 4, kColon},
    {"comment", "[1]//", 3, kTrailing},
    {"block_comment", "/**/[]", 0, kUnexpected},
    // Literals.
    {"capital_true", "True", 0, kUnexpected},
    {"truncated_true", "tru", 3, kEnd},
    {"misspelt_false", "fals3", 4, kUnexpected},
    {"truncated_null_in_array", "[nul]", 4, kUnexpected},
    {"nan", "NaN", 0, kUnexpected},
    {"infinity", "Infinity", 0, kUnexpected},
    {"negative_infinity", "-Infinity", 1, kDigit},
    {"undefined", "undefined", 0, kUnexpected},
    // Numbers.
    {"leading_zero", "01", 1, kLeadingZero},
    {"negative_leading_zero", "-012", 2, kLeadingZero},
    {"double_zero", "00", 1, kLeadingZero},
    {"leading_zero_in_array", "[012]", 2, kLeadingZero},
    {"trailing_dot", "1.", 2, kDigit},
    {"trailing_dot_in_array", "[1.]", 3, kDigit},
    {"leading_dot", ".5", 0, kUnexpected},
    {"plus_sign", "+1", 0, kUnexpected},
    {"minus_only", "-", 1, kDigit},
    {"minus_space", "- 1", 1, kDigit},
    {"double_minus", "--1", 1, kDigit},
    {"exponent_without_digits", "1e", 2, kDigit},
    {"exponent_sign_without_digits", "1e+", 3, kDigit},
    {"dot_then_exponent", "1.e5", 2, kDigit},
    {"exponent_then_dot", "1e5.0", 3, kTrailing},
    {"two_dots", "1.2.3", 3, kTrailing},
    {"hex", "0x10", 1, kTrailing},
    {"overflow", "1e309", 0, kRange},
    {"negative_overflow", "-1e309", 0, kRange},
    {"overflow_in_array", "[1, 1e999]", 4, kRange},
    {"overflow_huge_exponent", "1e99999999999999999999999", 0, kRange},
    {"overflow_just_above_max", "1.7976931348623159e308", 0, kRange},
    {"overflow_fraction", "0.0001e313", 0, kRange},
    // Strings.
    {"unterminated_string", "\"abc", 4, kEnd},
    {"single_quotes", "'a'", 0, kUnexpected},
    {"raw_newline", "\"a\nb\"", 2, kControl},
    {"raw_tab", "\"\t\"", 1, kControl},
    {"raw_nul", "\"\0\""sv, 1, kControl},
    {"raw_unit_separator", "\"\x1F\"", 1, kControl},
    {"bad_escape", R"("\x41")", 2, kEscape},
    {"escaped_apostrophe", R"("\'")", 2, kEscape},
    {"escape_at_end", "\"\\", 2, kEnd},
    {"u_escape_short", R"("\u12")", 5, kHex},
    {"u_escape_bad_hex", R"("\u00G0")", 5, kHex},
    {"u_escape_truncated", "\"\\u00", 5, kEnd},
    {"u_escape_uppercase_u", R"("\U0041")", 2, kEscape},
    {"lone_high_surrogate", R"("\uD800")", 1, kSurrogate},
    {"lone_low_surrogate", R"("\uDC00")", 1, kSurrogate},
    {"high_surrogate_then_text", R"("\uD83Dx")", 1, kSurrogate},
    {"high_surrogate_then_escape", R"("\uD83D\n")", 1, kSurrogate},
    {"two_high_surrogates", R"("\uD83D\uD83D")", 1, kSurrogate},
    {"surrogate_pair_reversed", R"("\uDE00\uD83D")", 1, kSurrogate},
    {"low_surrogate_after_text", R"("ab\uDFFF")", 3, kSurrogate},
    {"high_surrogate_then_bad_hex", R"("\uD83D\uZZZZ")", 9, kHex},
    {"high_surrogate_at_end", "\"\\uD83D", 7, kEnd},
    // Raw UTF-8 in strings.
    {"utf8_lone_continuation", "\"\x80\"", 1, kUtf8},
    {"utf8_overlong_c0", "\"\xC0\xAF\"", 1, kUtf8},
    {"utf8_overlong_c1", "\"\xC1\xBF\"", 1, kUtf8},
    {"utf8_overlong_e0", "\"\xE0\x80\xAF\"", 1, kUtf8},
    {"utf8_overlong_f0", "\"\xF0\x8F\xBF\xBF\"", 1, kUtf8},
    {"utf8_surrogate", "\"\xED\xA0\x80\"", 1, kUtf8},
    {"utf8_above_max", "\"\xF4\x90\x80\x80\"", 1, kUtf8},
    {"utf8_f5", "\"\xF5\x80\x80\x80\"", 1, kUtf8},
    {"utf8_ff", "\"a\xFF\"", 2, kUtf8},
    {"utf8_truncated_two_byte", "\"\xC3\"", 1, kUtf8},
    {"utf8_truncated_at_end", "\"\xE2\x82", 1, kUtf8},
    {"utf8_bad_third_byte", "\"\xE2\x82\x41\"", 1, kUtf8},
    {"utf8_in_key", "{\"\xC0\x80\":1}", 2, kUtf8},
    {"utf8_outside_string", "[\xC3\xA9]", 1, kUnexpected},
};

class InvalidDocument : public ::testing::TestWithParam<Invalid> {};

TEST_P(InvalidDocument, FailsWhereAndWhyExpected) {
  const ParseError err = parse_error(GetParam().text);
  EXPECT_EQ(err.offset, GetParam().offset);
  EXPECT_EQ(err.message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(Json, InvalidDocument, ::testing::ValuesIn(kInvalid),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- Limits.

TEST(JsonLimits, DefaultDepthAllows64) {
  EXPECT_TRUE(parse(nested(64)).has_value());
}

TEST(JsonLimits, DefaultDepthRejects65AtTheInnermostBracket) {
  const ParseError err = parse_error(nested(65));
  EXPECT_EQ(err.message, "nesting exceeds max_depth");
  EXPECT_EQ(err.offset, 64u);
}

TEST(JsonLimits, DepthCountsObjectsToo) {
  ParseLimits limits;
  limits.max_depth = 2;
  EXPECT_TRUE(parse(R"({"a":[1]})", nullptr, limits).has_value());
  const ParseError err = parse_error(R"({"a":[{}]})", limits);
  EXPECT_EQ(err.message, "nesting exceeds max_depth");
  EXPECT_EQ(err.offset, 6u);
}

TEST(JsonLimits, DepthZeroAllowsOnlyScalars) {
  ParseLimits limits;
  limits.max_depth = 0;
  EXPECT_TRUE(parse("\"x\"", nullptr, limits).has_value());
  EXPECT_EQ(parse_error("[]", limits).message, "nesting exceeds max_depth");
}

TEST(JsonLimits, SiblingsDoNotAddToDepth) {
  ParseLimits limits;
  limits.max_depth = 2;
  EXPECT_TRUE(parse("[[],[],{\"a\":1},[1]]", nullptr, limits).has_value());
}

TEST(JsonLimits, DepthLimitCanBeRaised) {
  ParseLimits limits;
  limits.max_depth = 2'000;
  const std::string text = nested(2'000, "7");
  EXPECT_EQ(parse_ok(text, limits).dump(), text);
}

TEST(JsonLimits, MaxBytesIsCheckedFirst) {
  ParseLimits limits;
  limits.max_bytes = 4;
  const ParseError err = parse_error("\xFF\xFF\xFF\xFF\xFF", limits);
  EXPECT_EQ(err.message, "input exceeds max_bytes");
  EXPECT_EQ(err.offset, 4u);
}

TEST(JsonLimits, MaxBytesAllowsExactSize) {
  ParseLimits limits;
  limits.max_bytes = 4;
  EXPECT_TRUE(parse("true", nullptr, limits).has_value());
  EXPECT_FALSE(parse("true ", nullptr, limits).has_value());
}

TEST(JsonLimits, MaxItemsAllowsExactCount) {
  ParseLimits limits;
  limits.max_items = 3;
  EXPECT_TRUE(parse("[1,2,3]", nullptr, limits).has_value());
  EXPECT_TRUE(parse(R"({"a":1,"b":2,"c":3})", nullptr, limits).has_value());
}

TEST(JsonLimits, MaxItemsRejectsArrayAtTheFirstItemOver) {
  ParseLimits limits;
  limits.max_items = 3;
  const ParseError err = parse_error("[1,2,3, 4]", limits);
  EXPECT_EQ(err.message, "array or object exceeds max_items");
  EXPECT_EQ(err.offset, 8u);
}

TEST(JsonLimits, MaxItemsRejectsObjectMembers) {
  ParseLimits limits;
  limits.max_items = 1;
  const ParseError err = parse_error(R"({"a":1,"b":2})", limits);
  EXPECT_EQ(err.message, "array or object exceeds max_items");
  EXPECT_EQ(err.offset, 7u);
}

TEST(JsonLimits, MaxItemsIsPerContainer) {
  ParseLimits limits;
  limits.max_items = 2;
  EXPECT_TRUE(parse("[[1,2],[3,4]]", nullptr, limits).has_value());
}

TEST(JsonLimits, MaxItemsZeroAllowsEmptyContainers) {
  ParseLimits limits;
  limits.max_items = 0;
  EXPECT_TRUE(parse("[]", nullptr, limits).has_value());
  EXPECT_TRUE(parse("{}", nullptr, limits).has_value());
  EXPECT_FALSE(parse("[0]", nullptr, limits).has_value());
}

TEST(JsonLimits, MaxStringBytesAllowsExactSize) {
  ParseLimits limits;
  limits.max_string_bytes = 3;
  EXPECT_TRUE(parse(R"(["abc"])", nullptr, limits).has_value());
}

TEST(JsonLimits, MaxStringBytesRejectsAtTheOpeningQuote) {
  ParseLimits limits;
  limits.max_string_bytes = 3;
  const ParseError err = parse_error(R"([1, "abcd"])", limits);
  EXPECT_EQ(err.message, "string exceeds max_string_bytes");
  EXPECT_EQ(err.offset, 4u);
}

TEST(JsonLimits, MaxStringBytesAppliesToKeys) {
  ParseLimits limits;
  limits.max_string_bytes = 3;
  EXPECT_EQ(parse_error(R"({"abcd":1})", limits).message, "string exceeds max_string_bytes");
}

TEST(JsonLimits, MaxStringBytesCountsDecodedBytes) {
  ParseLimits limits;
  limits.max_string_bytes = 3;
  // Six escapes of one byte each decode to six bytes; one \u escape to three.
  EXPECT_FALSE(parse(R"("\n\n\n\n")", nullptr, limits).has_value());
  EXPECT_TRUE(parse(R"("\u20AC")", nullptr, limits).has_value());
  EXPECT_FALSE(parse(R"("a\u20AC")", nullptr, limits).has_value());
}

// ---- Errors.

TEST(JsonErrors, ErrorPointerMayBeNull) {
  EXPECT_FALSE(parse("[", nullptr).has_value());
}

TEST(JsonErrors, ErrorIsUntouchedOnSuccess) {
  ParseError err{7, "sentinel"};
  ASSERT_TRUE(parse("[]", &err).has_value());
  EXPECT_EQ(err.offset, 7u);
  EXPECT_EQ(err.message, "sentinel");
}

TEST(JsonErrors, FirstErrorWins) {
  // The lone surrogate comes before the control character.
  const ParseError err = parse_error("[\"\\uD800\", \"\x01\"]");
  EXPECT_EQ(err.message, "lone surrogate in \\u escape");
  EXPECT_EQ(err.offset, 2u);
}

// ---- Values.

TEST(JsonValue, ObjectMembersAndFind) {
  const Value v = parse_ok(R"({"type":"msg","n":2})");
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.members().size(), 2u);
  const Value* type = v.find("type");
  ASSERT_NE(type, nullptr);
  EXPECT_EQ(type->as_string(), "msg");
  EXPECT_EQ(v.find("n")->as_number(), 2);
  EXPECT_EQ(v.find("missing"), nullptr);
}

TEST(JsonValue, DuplicateKeysFindReturnsFirstAndAllAreKept) {
  const Value v = parse_ok(R"({"a":1,"a":2})");
  ASSERT_EQ(v.members().size(), 2u);
  EXPECT_EQ(v.find("a")->as_number(), 1);
  EXPECT_EQ(v.members()[1].second.as_number(), 2);
  EXPECT_EQ(v.dump(), R"({"a":1,"a":2})");
}

TEST(JsonValue, FindOnNonObjectIsNull) {
  EXPECT_EQ(parse_ok(R"(["a"])").find("a"), nullptr);
}

TEST(JsonValue, FindMatchesDecodedKeys) {
  const Value v = parse_ok(R"({"\u0061\nb":true})");
  ASSERT_NE(v.find("a\nb"), nullptr);
  EXPECT_TRUE(v.find("a\nb")->as_bool());
}

TEST(JsonValue, KeysMayContainNul) {
  const Value v = parse_ok(R"({"a\u0000b":1})");
  EXPECT_NE(v.find("a\0b"sv), nullptr);
  EXPECT_EQ(v.find("a"), nullptr);
}

TEST(JsonValue, WrongTypeAccessorsReturnEmpty) {
  const Value v = parse_ok("\"text\"");
  EXPECT_FALSE(v.as_bool());
  EXPECT_EQ(v.as_number(), 0);
  EXPECT_TRUE(v.items().empty());
  EXPECT_TRUE(v.members().empty());
  EXPECT_EQ(parse_ok("1").as_string(), "");
}

TEST(JsonValue, TypesOfParsedScalars) {
  EXPECT_EQ(parse_ok("null").type(), Type::kNull);
  EXPECT_EQ(parse_ok("false").type(), Type::kBool);
  EXPECT_EQ(parse_ok("0").type(), Type::kNumber);
  EXPECT_EQ(parse_ok("\"\"").type(), Type::kString);
  EXPECT_EQ(parse_ok("[]").type(), Type::kArray);
  EXPECT_EQ(parse_ok("{}").type(), Type::kObject);
}

TEST(JsonValue, ArrayItemsInOrder) {
  const Value v = parse_ok("[3, \"x\", [true]]");
  ASSERT_EQ(v.items().size(), 3u);
  EXPECT_EQ(v.items()[0].as_number(), 3);
  EXPECT_EQ(v.items()[1].as_string(), "x");
  EXPECT_TRUE(v.items()[2].items()[0].as_bool());
}

// ---- Numbers.

TEST(JsonNumber, NegativeZeroKeepsItsSign) {
  const Value v = parse_ok("-0");
  EXPECT_EQ(v.as_number(), 0);
  EXPECT_TRUE(std::signbit(v.as_number()));
}

TEST(JsonNumber, LargestExponentParses) {
  EXPECT_EQ(parse_ok("1e308").as_number(), 1e308);
}

TEST(JsonNumber, OverflowIsRejectedWithAClearMessage) {
  const ParseError err = parse_error("1e309");
  EXPECT_EQ(err.message, "number out of range");
  EXPECT_EQ(err.offset, 0u);
}

TEST(JsonNumber, NearestDoubleIsChosen) {
  EXPECT_EQ(parse_ok("0.1").as_number(), 0.1);
  EXPECT_EQ(parse_ok("2.2250738585072014e-308").as_number(),
            std::numeric_limits<double>::min());
  EXPECT_EQ(parse_ok("9007199254740993").as_number(), 9007199254740992.0);
}

TEST(JsonNumber, LongMantissaParses) {
  const std::string digits = "1." + std::string(2000, '0') + "1";
  EXPECT_EQ(parse_ok(digits).as_number(), 1.0);
}

// ---- Strings and escapes.

TEST(JsonString, SurrogatePairBecomesOneFourByteSequence) {
  EXPECT_EQ(parse_ok(R"("\ud834\udd1e")").as_string(), "\xF0\x9D\x84\x9E");
}

TEST(JsonString, EscapedSolidusDecodesToSlash) {
  EXPECT_EQ(parse_ok(R"("a\/b")").as_string(), "a/b");
}

TEST(JsonString, EscapesBetweenPlainRuns) {
  EXPECT_EQ(parse_ok(R"("ab\tcd\u0041ef")").as_string(), "ab\tcdAef");
}

TEST(JsonString, RawUtf8IsKeptAsIs) {
  EXPECT_EQ(parse_ok("\"caf\xC3\xA9 \xE2\x82\xAC\"").as_string(), "caf\xC3\xA9 \xE2\x82\xAC");
}

// ---- dump().

TEST(JsonDump, HandBuiltValue) {
  const Value v = Value::object({{"a", Value::array({Value::number(1), Value::boolean(false), Value()})},
                                 {"b\"", Value::string("x\ny")}});
  EXPECT_EQ(v.dump(), R"({"a":[1,false,null],"b\"":"x\ny"})");
}

TEST(JsonDump, NonFiniteNumbersAsNull) {
  EXPECT_EQ(Value::number(std::numeric_limits<double>::infinity()).dump(), "null");
  EXPECT_EQ(Value::number(-std::numeric_limits<double>::infinity()).dump(), "null");
  EXPECT_EQ(Value::number(std::nan("")).dump(), "null");
}

TEST(JsonDump, IntegersBelowTwoTo53WithoutExponent) {
  EXPECT_EQ(Value::number(1e15).dump(), "1000000000000000");
  EXPECT_EQ(Value::number(-9007199254740991.0).dump(), "-9007199254740991");
}

TEST(JsonDump, OtherNumbersShortestRoundTrip) {
  EXPECT_EQ(Value::number(0.1).dump(), "0.1");
  EXPECT_EQ(Value::number(1e21).dump(), "1e+21");
  EXPECT_EQ(Value::number(-1.5e-7).dump(), "-1.5e-07");
  EXPECT_EQ(Value::number(1.0 / 3).dump(), "0.3333333333333333");
}

TEST(JsonDump, DumpToAppends) {
  std::string out = "x=";
  parse_ok("[1]").dump_to(out);
  EXPECT_EQ(out, "x=[1]");
}

TEST(JsonDump, ShortestFormsReparseExactly) {
  for (double d : {0.1, 1.0 / 3, 5e-324, 1.7976931348623157e308, 123456.789e10, -2.5e-300}) {
    const Value v = parse_ok(Value::number(d).dump());
    EXPECT_EQ(v.as_number(), d);
  }
}

TEST(JsonDump, DefaultValueIsNull) {
  EXPECT_EQ(Value().dump(), "null");
}

// ---- append_string.

TEST(JsonAppendString, QuotesAndEscapes) {
  std::string out;
  append_string(out, "a\"b\\c");
  EXPECT_EQ(out, R"("a\"b\\c")");
}

TEST(JsonAppendString, NamedControlEscapes) {
  std::string out;
  append_string(out, "\n\r\t\b\f");
  EXPECT_EQ(out, R"("\n\r\t\b\f")");
}

TEST(JsonAppendString, OtherControlsAsU00XX) {
  std::string out;
  append_string(out, "\0\x01\x1f"sv);
  EXPECT_EQ(out, R"("\u0000\u0001\u001f")");
}

TEST(JsonAppendString, SlashAndNonAsciiUnescaped) {
  std::string out;
  append_string(out, "a/b \xC3\xA9 \x7F");
  EXPECT_EQ(out, "\"a/b \xC3\xA9 \x7F\"");
}

TEST(JsonAppendString, AppendsToExistingText) {
  std::string out = "{\"name\":";
  append_string(out, "x");
  EXPECT_EQ(out, "{\"name\":\"x\"");
}

TEST(JsonAppendString, EveryByteRoundTrips) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all += static_cast<char>(c);
  all += "\xC3\xA9\xF0\x9F\x98\x80";
  std::string out;
  append_string(out, all);
  EXPECT_EQ(parse_ok(out).as_string(), all);
}

}  // namespace
}  // namespace ringshard::json
