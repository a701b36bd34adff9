// Tests for http/json_body.h: a table of deployment-create bodies (valid,
// invalid JSON, every validation failure), optional fields and the
// unknown-field policy, the error body's shape (checked with json::parse),
// parser reuse and in-place parsing, and the Content-Type check.
#include "http/json_body.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "json/json.h"

namespace ringshard::http {
namespace RS_UNITY_ID {

bool is_dns_label_chars(std::string_view s) {
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

struct Deployment {
  std::string_view name;
  std::string_view image;
  int64_t cpu = 0;
  int64_t memory = 0;
};

// The deployment-create body as a handler would read it.
bool read_deployment(JsonBody& body, Deployment& d) {
  d.name = body.string("name", {.min = 1,
                                .max = 63,
                                .allowed = is_dns_label_chars,
                                .allowed_reason = "must contain only a-z, 0-9 and '-'"});
  d.image = body.string("image", {.min = 1, .max = 255});
  d.cpu = body.integer("resources.cpu", 1, 64);
  d.memory = body.integer("resources.memory", 64, 1048576);
  return body.ok();
}

struct Case {
  const char* name;
  std::string body;
  std::string_view code;  // "" when valid
  std::string_view field = {};
  std::string_view reason = {};  // checked when not empty
};

TEST(JsonBody, DeploymentCreateTable) {
  const std::string ok_tail = R"(,"image":"nginx:1.25","resources":{"cpu":2,"memory":512}})";
  const Case cases[] = {
      {"valid", R"({"name":"web-1")" + ok_tail, ""},
      {"valid, members reordered, whitespace",
       "\n{ \"resources\" : { \"memory\" : 1048576 , \"cpu\" : 64 } ,\t\"image\":\"a\","
       " \"name\" : \"a\" }\n",
       ""},
      {"escaped name", R"({"name":"web\u002d1")" + ok_tail, ""},
      {"63 chars", R"({"name":")" + std::string(63, 'a') + "\"" + ok_tail, ""},
      {"64 chars", R"({"name":")" + std::string(64, 'a') + "\"" + ok_tail,
       "invalid_request", "name", "must be between 1 and 63 characters long"},
      {"empty name", R"({"name":"")" + ok_tail, "invalid_request", "name"},
      {"uppercase name", R"({"name":"Web")" + ok_tail, "invalid_request", "name",
       "must contain only a-z, 0-9 and '-'"},
      {"non-ASCII name", R"({"name":"wéb")" + ok_tail, "invalid_request", "name",
       "must contain only a-z, 0-9 and '-'"},
      {"name a number", R"({"name":5)" + ok_tail, "invalid_request", "name",
       "must be a string"},
      {"name null", R"({"name":null)" + ok_tail, "invalid_request", "name",
       "must be a string"},
      {"name missing", ok_tail.substr(1).insert(0, "{"), "invalid_request", "name",
       "is required"},
      {"image 256", R"({"name":"a","image":")" + std::string(256, 'x') +
                        R"(","resources":{"cpu":2,"memory":512}})",
       "invalid_request", "image"},
      {"image 255 code points",
       R"({"name":"a","image":")" + [] {
         std::string s;
         for (int i = 0; i < 255; ++i) s += "\xc3\xa9";
         return s;
       }() + R"(","resources":{"cpu":2,"memory":512}})",
       ""},
      {"cpu 0", R"({"name":"a","image":"i","resources":{"cpu":0,"memory":512}})",
       "invalid_request", "resources.cpu", "must be between 1 and 64"},
      {"cpu 65", R"({"name":"a","image":"i","resources":{"cpu":65,"memory":512}})",
       "invalid_request", "resources.cpu", "must be between 1 and 64"},
      {"cpu negative", R"({"name":"a","image":"i","resources":{"cpu":-1,"memory":512}})",
       "invalid_request", "resources.cpu"},
      {"cpu huge", R"({"name":"a","image":"i","resources":{"cpu":123456789012345678901234567890,"memory":512}})",
       "invalid_request", "resources.cpu", "must be between 1 and 64"},
      {"cpu float", R"({"name":"a","image":"i","resources":{"cpu":2.0,"memory":512}})",
       "invalid_request", "resources.cpu", "must be an integer"},
      {"cpu exponent", R"({"name":"a","image":"i","resources":{"cpu":2e0,"memory":512}})",
       "invalid_request", "resources.cpu", "must be an integer"},
      {"cpu 1e400", R"({"name":"a","image":"i","resources":{"cpu":1e400,"memory":512}})",
       "invalid_request", "resources.cpu", "must be an integer"},
      {"cpu string", R"({"name":"a","image":"i","resources":{"cpu":"2","memory":512}})",
       "invalid_request", "resources.cpu", "must be an integer"},
      {"memory 63", R"({"name":"a","image":"i","resources":{"cpu":1,"memory":63}})",
       "invalid_request", "resources.memory", "must be between 64 and 1048576"},
      {"memory missing", R"({"name":"a","image":"i","resources":{"cpu":1}})",
       "invalid_request", "resources.memory", "is required"},
      {"resources missing", R"({"name":"a","image":"i"})", "invalid_request",
       "resources.cpu", "is required"},
      {"resources a string", R"({"name":"a","image":"i","resources":"big"})",
       "invalid_request", "resources", "must be an object"},
      {"first error wins", R"({"name":"","image":"","resources":{}})",
       "invalid_request", "name"},
      {"duplicate member", R"({"name":"a","name":"b")" + ok_tail, "invalid_request",
       "name", "is given more than once"},
      {"dotted key collides", R"({"resources.cpu":1,"name":"a")" + ok_tail,
       "invalid_request", "resources.cpu", "is given more than once"},
      {"unknown ignored by default", R"({"name":"a","extra":[1,{"x":2}])" + ok_tail, ""},
      {"array", "[]", "invalid_request", "", "the body must be a JSON object"},
      {"string root", "\"x\"", "invalid_request", ""},
      {"empty", "", "invalid_json", "", "empty body"},
      {"whitespace only", " \n", "invalid_json"},
      {"truncated", R"({"name":"a","image":)", "invalid_json"},
      {"trailing comma", R"({"name":"a",})", "invalid_json"},
      {"trailing bytes", R"({"name":"a")" + ok_tail + "x", "invalid_json"},
      {"two objects", R"({"name":"a")" + ok_tail + "{}", "invalid_json"},
      {"bad literal", R"({"name":"a","x":tru)" + ok_tail, "invalid_json"},
      {"bad literal in array", R"({"name":"a","x":[nul])" + ok_tail, "invalid_json"},
      {"bad number", R"({"name":"a","x":01)" + ok_tail, "invalid_json"},
      {"bad number in array", R"({"name":"a","x":[1.])" + ok_tail, "invalid_json"},
      {"bad escape in ignored member", R"({"name":"a","x":"\q")" + ok_tail,
       "invalid_json"},
      {"bad escape in key", R"({"name":"a","\q":1)" + ok_tail, "invalid_json"},
      {"raw control char", std::string("{\"name\":\"a\x01\"") + ok_tail, "invalid_json"},
      {"invalid UTF-8", std::string("{\"name\":\"a\xff\"") + ok_tail, "invalid_json",
       "", "invalid UTF-8"},
      {"lone surrogate", R"({"name":"\ud800")" + ok_tail, "invalid_json"},
      {"single quotes", "{'name':'a'}", "invalid_json"},
      {"missing colon", R"({"name" "a"})", "invalid_json"},
      {"unclosed array", R"({"name":"a","x":[1,2)" + ok_tail, "invalid_json"},
      {"root literal run on", "falseu", "invalid_json"},
      {"root number then more", "12 3", "invalid_json"},
      {"root string then more", "\"x\"y", "invalid_json"},
      {"root literal", " null ", "invalid_request", "", "the body must be a JSON object"},
      {"malformed array root", "[1C2]", "invalid_json"},
      {"literal run on", R"({"name":"a","x":falseu)" + ok_tail, "invalid_json"},
      {"literal run on in array", R"({"name":"a","x":[nullx])" + ok_tail, "invalid_json"},
      {"repeated member, malformed later", R"({"name":"a","name":"b","x":"\q"})",
       "invalid_json"},
      {"nul byte after", std::string("{}\0", 3), "invalid_json"},
      {"too deep", R"({"name":"a","x":)" + std::string(40, '[') + std::string(40, ']') +
                       ok_tail,
       "invalid_json", "", "nested deeper than 32 levels"},
  };
  JsonBodyParser parser;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    JsonBody body(parser, c.body);
    Deployment d;
    const bool ok = read_deployment(body, d);
    EXPECT_EQ(ok, c.code.empty()) << body.error_json();
    if (c.code.empty()) continue;
    EXPECT_EQ(body.error().status, 400);
    EXPECT_EQ(body.error().code, c.code);
    EXPECT_EQ(body.error().field, c.field);
    if (!c.reason.empty()) {
      EXPECT_EQ(body.error().reason, c.reason);
    }
    EXPECT_FALSE(body.error().reason.empty());
  }
}

TEST(JsonBody, ValuesOfAValidBody) {
  JsonBody body(R"({"name":"web-1","image":"nginx","resources":{"cpu":4,"memory":1024}})");
  Deployment d;
  ASSERT_TRUE(read_deployment(body, d)) << body.error_json();
  EXPECT_EQ(d.name, "web-1");
  EXPECT_EQ(d.image, "nginx");
  EXPECT_EQ(d.cpu, 4);
  EXPECT_EQ(d.memory, 1024);
}

TEST(JsonBody, ErrorBodyShape) {
  JsonBody body(R"({"name":"a","image":"i","resources":{"cpu":99,"memory":512}})");
  Deployment d;
  ASSERT_FALSE(read_deployment(body, d));
  EXPECT_EQ(body.error_json(),
            R"({"error":{"code":"invalid_request","message":"the request body is not valid",)"
            R"("details":{"field":"resources.cpu","reason":"must be between 1 and 64"}}})");

  JsonBody bad("{\"a\":\"\\u0000\",\"\xff\":1}");
  ASSERT_FALSE(bad.ok());
  std::optional<json::Value> v = json::parse(bad.error_json());
  ASSERT_TRUE(v.has_value()) << bad.error_json();
  const json::Value* err = v->find("error");
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->find("code")->as_string(), "invalid_json");
  EXPECT_FALSE(err->find("details")->find("reason")->as_string().empty());

  // A hostile unknown key still yields valid JSON in the error.
  JsonBody unknown(R"({"a\"b\n":1})", {.unknown_fields = UnknownFields::kReject});
  ASSERT_FALSE(unknown.ok());
  v = json::parse(unknown.error_json());
  ASSERT_TRUE(v.has_value()) << unknown.error_json();
  EXPECT_EQ(v->find("error")->find("details")->find("field")->as_string(), "a\"b\n");
  EXPECT_EQ(v->find("error")->find("details")->find("reason")->as_string(),
            "is not a known field");
}

TEST(JsonBody, UnknownFieldPolicy) {
  const JsonBodyLimits reject{.unknown_fields = UnknownFields::kReject};
  struct Case {
    const char* body;
    std::string_view field;  // the unknown one, "" if none
  };
  const Case cases[] = {
      {R"({"name":"a","resources":{"cpu":1}})", ""},
      {R"({"name":"a"})", ""},  // optional resources absent
      {R"({"name":"a","resources":{}})", ""},
      {R"({"name":"a","resources":null})", ""},
      {R"({"name":"a","extra":1})", "extra"},
      {R"({"extra":{},"name":"a"})", "extra"},
      {R"({"name":"a","resources":{"cpu":1,"gpu":true}})", "resources.gpu"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    JsonBody body(c.body, reject);
    body.string("name");
    body.optional_integer("resources.cpu", 1, 64);
    EXPECT_EQ(body.ok(), c.field.empty()) << body.error_json();
    EXPECT_EQ(body.error().field, c.field);
    JsonBody lenient(c.body);
    lenient.string("name");
    lenient.optional_integer("resources.cpu", 1, 64);
    EXPECT_TRUE(lenient.ok()) << lenient.error_json();
  }
}

TEST(JsonBody, OptionalFieldsAndBooleans) {
  JsonBody body(R"({"a":true,"b":null,"c":"x","n":{"d":false},"i":-9223372036854775808})");
  EXPECT_EQ(body.optional_boolean("a"), true);
  EXPECT_EQ(body.optional_boolean("b"), std::nullopt);  // null is absent
  EXPECT_EQ(body.optional_boolean("zz"), std::nullopt);
  EXPECT_EQ(body.optional_string("c"), "x");
  EXPECT_EQ(body.optional_string("missing.deep"), std::nullopt);
  EXPECT_FALSE(body.boolean("n.d"));
  EXPECT_EQ(body.integer("i", INT64_MIN, 0), INT64_MIN);
  EXPECT_TRUE(body.has("n"));
  EXPECT_FALSE(body.has("n.e"));
  EXPECT_TRUE(body.ok()) << body.error_json();

  JsonBody wrong(R"({"a":"true"})");
  EXPECT_FALSE(wrong.boolean("a"));
  EXPECT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().reason, "must be a boolean");

  JsonBody over(R"({"i":9223372036854775808})");
  over.integer("i", INT64_MIN, INT64_MAX);
  EXPECT_FALSE(over.ok());
  EXPECT_EQ(over.error().reason,
            "must be between -9223372036854775808 and 9223372036854775807");

  JsonBody optional_bad(R"({"c":7})");
  EXPECT_EQ(optional_bad.optional_string("c"), std::nullopt);
  EXPECT_FALSE(optional_bad.ok());  // present but wrong: an error
  EXPECT_EQ(optional_bad.error().reason, "must be a string");
}

TEST(JsonBody, Limits) {
  std::string many = "{";
  for (int i = 0; i < 257; ++i) {
    if (i) many += ',';
    many += "\"k" + std::to_string(i) + "\":0";
  }
  many += '}';
  JsonBody too_many(many);
  EXPECT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, "invalid_json");
  JsonBody enough(many, {.max_fields = 300});
  EXPECT_TRUE(enough.ok());

  JsonBody shallow(R"({"a":{"b":1}})", {.max_depth = 1});
  EXPECT_FALSE(shallow.ok());
  JsonBody deep_enough(R"({"a":{"b":1}})", {.max_depth = 2});
  EXPECT_TRUE(deep_enough.ok());

  std::string deep(100000, '[');
  JsonBody very_deep("{\"a\":" + deep);
  EXPECT_FALSE(very_deep.ok());
}

TEST(JsonBody, ParserReuseAndInPlace) {
  JsonBodyParser parser;
  {
    JsonBody big(parser, "{\"s\":\"" + std::string(100000, 'x') + "\"}");
    EXPECT_EQ(big.string("s", {.max = 100000}).size(), 100000u);
  }
  JsonBody small(parser, R"({"s":"y"})");
  EXPECT_EQ(small.string("s"), "y");

  std::string buffer = R"({"s":"in place"})";
  const size_t size = buffer.size();
  buffer.resize(size + kJsonPadding, '\0');
  JsonBody in_place(parser, std::string_view(buffer.data(), size), buffer.size(), {});
  EXPECT_EQ(in_place.string("s"), "in place");
  EXPECT_TRUE(in_place.ok());
  // Too little capacity: copied, same answer.
  JsonBody copied(parser, std::string_view(buffer.data(), size), size, {});
  EXPECT_EQ(copied.string("s"), "in place");
}

TEST(JsonBody, ContentType) {
  struct Case {
    std::string_view ct;
    bool json;
  };
  const Case cases[] = {
      {"application/json", true},
      {"Application/JSON", true},
      {"application/json; charset=utf-8", true},
      {"application/json;charset=\"UTF-8\"", true},
      {"application/json ; foo=bar", true},
      {"application/merge-patch+json", true},
      {"application/json; charset=latin1", false},
      {"", false},
      {"text/json", false},
      {"application/jsonx", false},
      {"application/+json", false},
      {"application/", false},
      {"text/plain", false},
      {"multipart/form-data; boundary=x", false},
  };
  for (const Case& c : cases) EXPECT_EQ(is_json_content_type(c.ct), c.json) << c.ct;
  std::optional<json::Value> v = json::parse(unsupported_media_type_json());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->find("error")->find("code")->as_string(), "unsupported_media_type");
}

}  // namespace
}  // namespace ringshard::http
