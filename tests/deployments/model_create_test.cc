// tests/deployments/model_create_test.cc: POST /v1/deployments bodies
// (plugins/deployments/model_create.h): every refusal with its status,
// code, field and reason, and the boundaries of every rule.
#include "plugins/deployments/model_create.h"

#include <gtest/gtest.h>

#include <string>

namespace ringshard::deployments {
namespace RS_UNITY_ID {

constexpr std::string_view kValid =
    R"({"name":"web-1","image":"nginx:1.27","resources":{"cpu":2,"memory":512}})";

struct Outcome {
  bool ok = false;
  CreateRequest req;
  ApiError err;
};

Outcome parse(std::string_view body) {
  Outcome o;
  o.ok = parse_create(body, o.req, o.err);
  return o;
}

// A body with `name`, `image`, `cpu` and `memory` spliced in as JSON text.
std::string body(std::string_view name, std::string_view image = R"("nginx")",
                 std::string_view cpu = "2", std::string_view memory = "512") {
  return std::string(R"({"name":)") + std::string(name) + R"(,"image":)" + std::string(image) +
         R"(,"resources":{"cpu":)" + std::string(cpu) + R"(,"memory":)" + std::string(memory) +
         "}}";
}

void expect_refused(std::string_view input, std::string_view field, std::string_view reason,
                    std::string_view code = "invalid_request", uint16_t status = 400) {
  SCOPED_TRACE(std::string(input.substr(0, 200)));
  const Outcome o = parse(input);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.err.status, status);
  EXPECT_EQ(o.err.code, code);
  EXPECT_EQ(o.err.field, field);
  EXPECT_EQ(o.err.reason, reason);
  EXPECT_FALSE(o.err.message.empty());
}

TEST(ParseCreate, AcceptsAValidBody) {
  const Outcome o = parse(kValid);
  ASSERT_TRUE(o.ok) << o.err.message;
  EXPECT_EQ(o.req.name, "web-1");
  EXPECT_EQ(o.req.image, "nginx:1.27");
  EXPECT_EQ(o.req.resources.cpu, 2);
  EXPECT_EQ(o.req.resources.memory_mib, 512);
}

TEST(ParseCreate, MembersInAnyOrderAndWhitespace) {
  const Outcome o = parse(
      " \n{ \"resources\" : { \"memory\" : 64 , \"cpu\" : 64 } ,\t\"image\":\"a\",\"name\":\"a\"}\r\n");
  ASSERT_TRUE(o.ok) << o.err.message;
  EXPECT_EQ(o.req.resources.cpu, 64);
  EXPECT_EQ(o.req.resources.memory_mib, 64);
}

TEST(ParseCreate, ParserOverloadIsReusable) {
  BodyParser parser;
  CreateRequest req;
  ApiError err;
  EXPECT_FALSE(parse_create(parser, "{", req, err));
  EXPECT_EQ(err.code, "malformed_json");
  EXPECT_TRUE(parse_create(parser, kValid, req, err));
  EXPECT_EQ(req.name, "web-1");
  EXPECT_FALSE(parse_create(parser, body(R"("x")", R"("")"), req, err));
  EXPECT_EQ(err.field, "image");
  EXPECT_TRUE(parse_create(parser, body(R"("b")"), req, err));
  EXPECT_EQ(req.name, "b");
}

TEST(ParseCreate, MalformedJson) {
  for (std::string_view in : {"", "   ", "{", "{\"name\":", "{\"name\":\"a\",}", "{'a':1}",
                              "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":tru}",
                              "{\"a\":truex}", "{\"a\":nul}", "{\"a\":\"\\x\"}",
                              "{\"a\":\"unterminated}", "{} {}", "{}x", "{}]", "[1,]",
                              "{\"a\":[1 2]}", "{\"a\" 1}", "{\"a\":\"\\ud800\"}", "nulll",
                              "falseu", "1 2", "\"a\" \"b\"", "{\"a\":NaN}", "{\"a\":+1}"}) {
    expect_refused(in, "", parse(in).err.reason, "malformed_json");
    EXPECT_FALSE(parse(in).err.reason.empty()) << in;
  }
}

TEST(ParseCreate, MalformedJsonSaysWhy) {
  EXPECT_EQ(parse("").err.reason, "empty body");
  EXPECT_EQ(parse("{}}").err.reason, "content after the JSON value");
  EXPECT_EQ(parse("1 2").err.reason, "content after the JSON value");
  EXPECT_EQ(parse("{} x").err.reason, "unterminated object or array, or content after it");
  EXPECT_EQ(parse("{\"a\":[1}").err.code, "malformed_json");
  EXPECT_EQ(parse("{\"a\":01}").err.reason, "invalid number");
  EXPECT_EQ(parse("{\"a\":\"\x01\"}").err.reason, "unescaped control character in a string");
}

TEST(ParseCreate, NonUtf8IsMalformed) {
  for (std::string in : {body("\"caf\xC3\"", "\"x\""), body("\"a\"", "\"\xFF\""),
                         body("\"a\"", "\"\xED\xA0\x80\""),  // an encoded surrogate
                         body("\"a\"", "\"\xC0\xAF\""),      // overlong
                         std::string("{\"na\xFFme\":1}")}) {
    const Outcome o = parse(in);
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.err.code, "malformed_json");
    EXPECT_EQ(o.err.reason, "invalid UTF-8");
  }
}

TEST(ParseCreate, NotAnObject) {
  for (std::string_view in : {"[]", "[1,2]", "\"x\"", "1", "-2.5e3", "true", "null"}) {
    expect_refused(in, "", "must be a JSON object");
  }
}

TEST(ParseCreate, UnknownFields) {
  expect_refused(R"({"name":"a","image":"b","resources":{"cpu":1,"memory":64},"x":1})", "x",
                 "unknown field");
  expect_refused(R"({"replicas":3,"name":"a"})", "replicas", "unknown field");
  expect_refused(R"({"name":"a","image":"b","resources":{"cpu":1,"gpu":1,"memory":64}})",
                 "resources.gpu", "unknown field");
  // Names are compared after unescaping; "Name" is not "name".
  expect_refused(R"({"Name":"a"})", "Name", "unknown field");
  const Outcome o = parse(R"({"na\u006de":"web","image":"b","resources":{"cpu":1,"memory":64}})");
  EXPECT_TRUE(o.ok) << o.err.message;
}

TEST(ParseCreate, UnknownFieldNamesAreClipped) {
  const std::string key(5000, 'k');
  const Outcome o = parse("{\"" + key + "\":1}");
  ASSERT_FALSE(o.ok);
  EXPECT_EQ(o.err.reason, "unknown field");
  EXPECT_LE(o.err.field.size(), kMaxEcho + 3);
}

TEST(ParseCreate, DuplicateKeys) {
  expect_refused(R"({"name":"a","name":"b","image":"c","resources":{"cpu":1,"memory":64}})",
                 "name", "duplicate key");
  expect_refused(R"({"name":"a","image":"c","image":"c","resources":{"cpu":1,"memory":64}})",
                 "image", "duplicate key");
  expect_refused(
      R"({"name":"a","image":"c","resources":{"cpu":1,"memory":64},"resources":{"cpu":1,"memory":64}})",
      "resources", "duplicate key");
  expect_refused(R"({"name":"a","image":"c","resources":{"cpu":1,"cpu":2,"memory":64}})",
                 "resources.cpu", "duplicate key");
  expect_refused(R"({"name":"a","image":"c","resources":{"memory":64,"cpu":1,"memory":64}})",
                 "resources.memory", "duplicate key");
  // The same key spelt with an escape is still the same key.
  expect_refused(R"({"name":"a","n\u0061me":"b"})", "name", "duplicate key");
}

TEST(ParseCreate, MissingFields) {
  expect_refused(R"({})", "name", "is required");
  expect_refused(R"({"name":"a"})", "image", "is required");
  expect_refused(R"({"name":"a","image":"b"})", "resources", "is required");
  expect_refused(R"({"name":"a","image":"b","resources":{}})", "resources.cpu", "is required");
  expect_refused(R"({"name":"a","image":"b","resources":{"cpu":1}})", "resources.memory",
                 "is required");
  // Absent members are reported after every present one was checked.
  expect_refused(R"({"resources":{"cpu":0}})", "resources.cpu", "must be between 1 and 64");
}

TEST(ParseCreate, WrongTypes) {
  expect_refused(body("1"), "name", "must be a string");
  expect_refused(body("null"), "name", "must be a string");
  expect_refused(body("[\"a\"]"), "name", "must be a string");
  expect_refused(body("\"a\"", "true"), "image", "must be a string");
  expect_refused(body("\"a\"", "{}"), "image", "must be a string");
  expect_refused(R"({"name":"a","image":"b","resources":[1,64]})", "resources",
                 "must be an object");
  expect_refused(R"({"name":"a","image":"b","resources":null})", "resources",
                 "must be an object");
  expect_refused(body("\"a\"", "\"b\"", "\"2\""), "resources.cpu", "must be an integer");
  expect_refused(body("\"a\"", "\"b\"", "true"), "resources.cpu", "must be an integer");
  expect_refused(body("\"a\"", "\"b\"", "null"), "resources.cpu", "must be an integer");
  expect_refused(body("\"a\"", "\"b\"", "2", "\"512\""), "resources.memory",
                 "must be an integer");
}

TEST(ParseCreate, FloatsAreNotIntegers) {
  for (std::string_view v : {"2.0", "2.5", "2e0", "2E0", "20e-1", "1.0e1", "-0.0", "0.5"}) {
    expect_refused(body("\"a\"", "\"b\"", v), "resources.cpu", "must be an integer");
    expect_refused(body("\"a\"", "\"b\"", "2", v), "resources.memory", "must be an integer");
  }
}

TEST(ParseCreate, CpuBounds) {
  EXPECT_TRUE(parse(body("\"a\"", "\"b\"", "1")).ok);
  EXPECT_TRUE(parse(body("\"a\"", "\"b\"", "64")).ok);
  EXPECT_TRUE(parse(body("\"a\"", "\"b\"", "-0")).ok == false);
  for (std::string_view v : {"0", "-1", "65", "-0", "9223372036854775807",
                             "9223372036854775808", "-9223372036854775809",
                             "100000000000000000000000000000000000000"}) {
    expect_refused(body("\"a\"", "\"b\"", v), "resources.cpu", "must be between 1 and 64");
  }
}

TEST(ParseCreate, MemoryBounds) {
  EXPECT_TRUE(parse(body("\"a\"", "\"b\"", "1", "64")).ok);
  EXPECT_TRUE(parse(body("\"a\"", "\"b\"", "1", "1048576")).ok);
  for (std::string_view v : {"63", "0", "-64", "1048577", "18446744073709551616"}) {
    expect_refused(body("\"a\"", "\"b\"", "1", v), "resources.memory",
                   "must be between 64 and 1048576");
  }
}

TEST(ParseCreate, NameRules) {
  EXPECT_TRUE(parse(body("\"a\"")).ok);
  EXPECT_TRUE(parse(body("\"0\"")).ok);
  EXPECT_TRUE(parse(body("\"a-b-9\"")).ok);
  EXPECT_TRUE(parse(body("\"a--b\"")).ok);
  EXPECT_TRUE(parse(body("\"" + std::string(63, 'x') + "\"")).ok);
  expect_refused(body("\"\""), "name", "must be between 1 and 63 characters long");
  expect_refused(body("\"" + std::string(64, 'x') + "\""), "name",
                 "must be between 1 and 63 characters long");
  for (std::string_view n : {"\"Web\"", "\"a_b\"", "\"a.b\"", "\"a b\"", "\"caf\\u00e9\"",
                             "\"a\\u0000\"", "\"a/b\""}) {
    expect_refused(body(n), "name", "must contain only a-z, 0-9 and '-'");
  }
  for (std::string_view n : {"\"-a\"", "\"a-\"", "\"-\""}) {
    expect_refused(body(n), "name", "must start and end with a letter or a digit");
  }
}

TEST(ParseCreate, ImageRules) {
  EXPECT_TRUE(parse(body("\"a\"", "\"b\"")).ok);
  EXPECT_TRUE(parse(body("\"a\"", "\"registry.example:5000/team/app@sha256:abc\"")).ok);
  EXPECT_TRUE(parse(body("\"a\"", "\"" + std::string(255, 'i') + "\"")).ok);
  // Non-ASCII passes (UTF-8 checked by the parser): 2 bytes each.
  EXPECT_TRUE(parse(body("\"a\"", "\"caf\xC3\xA9\"")).ok);
  expect_refused(body("\"a\"", "\"\""), "image", "must not be empty");
  expect_refused(body("\"a\"", "\"" + std::string(256, 'i') + "\""), "image",
                 "must be at most 255 bytes");
  // 128 two-byte characters: 128 code points, 256 bytes.
  std::string wide;
  for (int i = 0; i < 128; ++i) wide += "\xC3\xA9";
  expect_refused(body("\"a\"", "\"" + wide + "\""), "image", "must be at most 255 bytes");
  for (std::string_view img : {"\"a\\nb\"", "\"a\\tb\"", "\"a\\u0000\"", "\"\\u007f\"",
                               "\"\\u0085\"", "\"\\u009f\""}) {
    expect_refused(body("\"a\"", img), "image", "must not contain control characters");
  }
  EXPECT_TRUE(parse(body("\"a\"", "\"\\u00a0\"")).ok);  // NBSP is not a control
}

TEST(ParseCreate, NestingIsBounded) {
  std::string deep(1000, '[');
  deep += std::string(1000, ']');
  expect_refused(deep, "", "nested deeper than 16 levels");
  // The root object is level 1: 15 arrays inside it reach 16, one more is too deep.
  std::string in = R"({"name":"a","x":)" + std::string(16, '[') + std::string(16, ']') + "}";
  expect_refused(in, "", "nested deeper than 16 levels");
  in = R"({"name":"a","x":)" + std::string(15, '[') + std::string(15, ']') + "}";
  expect_refused(in, "x", "unknown field");
}

TEST(ParseCreate, ValueCountIsBounded) {
  std::string in = R"({"x":[)";
  for (int i = 0; i < 600; ++i) in += i ? ",0" : "0";
  in += "]}";
  expect_refused(in, "", "more than 512 JSON values");
}

TEST(ParseCreate, SizeIsBounded) {
  std::string in = body("\"a\"", "\"" + std::string(kCreateLimits.max_bytes, 'i') + "\"");
  expect_refused(in, "", "must be at most 65536 bytes", "payload_too_large", 413);
}

TEST(ParseCreate, RulesAsFunctions) {
  EXPECT_TRUE(name_problem("web").empty());
  EXPECT_FALSE(name_problem("Web").empty());
  EXPECT_TRUE(image_problem("nginx").empty());
  EXPECT_FALSE(image_problem(std::string_view("a\0b", 3)).empty());
}

}  // namespace
}  // namespace ringshard::deployments
