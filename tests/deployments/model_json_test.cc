// tests/deployments/model_json_test.cc: BodyParser, the bounded tree the
// validators read (plugins/deployments/model_json.h).
#include "plugins/deployments/model_json.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringshard::deployments {
namespace RS_UNITY_ID {

std::vector<const JsonNode*> children(const BodyParser& p, const JsonNode& n) {
  std::vector<const JsonNode*> out;
  for (uint32_t i = n.first_child; i != kNoNode; i = p.node(i).next) out.push_back(&p.node(i));
  return out;
}

TEST(BodyParser, Tree) {
  BodyParser p;
  ApiError err;
  ASSERT_TRUE(p.parse(R"({"a\n":"x\u00e9","b":[1,-2.5e3,true,false,null],"c":{},"a\n":0})",
                      JsonLimits{}, err))
      << err.message;
  const JsonNode& root = p.node(0);
  EXPECT_EQ(root.kind, JsonKind::kObject);
  EXPECT_EQ(root.children, 4u);
  const auto members = children(p, root);
  ASSERT_EQ(members.size(), 4u);
  EXPECT_EQ(members[0]->key, "a\n");
  EXPECT_EQ(members[0]->kind, JsonKind::kString);
  EXPECT_EQ(members[0]->text, "x\xC3\xA9");
  EXPECT_EQ(members[3]->key, "a\n");  // duplicates are kept, in order
  EXPECT_EQ(members[2]->kind, JsonKind::kObject);
  EXPECT_EQ(members[2]->children, 0u);
  const auto items = children(p, *members[1]);
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[0]->kind, JsonKind::kNumber);
  EXPECT_TRUE(items[0]->integral);
  EXPECT_EQ(items[0]->text, "1");
  EXPECT_FALSE(items[1]->integral);
  EXPECT_EQ(items[1]->text, "-2.5e3");
  EXPECT_TRUE(items[2]->boolean);
  EXPECT_EQ(items[3]->kind, JsonKind::kBool);
  EXPECT_FALSE(items[3]->boolean);
  EXPECT_EQ(items[4]->kind, JsonKind::kNull);
  EXPECT_TRUE(items[0]->key.empty());
}

TEST(BodyParser, NumbersOutsideDoubleAreValidJson) {
  BodyParser p;
  ApiError err;
  ASSERT_TRUE(p.parse("[1e400,123456789012345678901234567890,-0]", JsonLimits{}, err));
  const auto items = children(p, p.node(0));
  EXPECT_EQ(items[0]->text, "1e400");
  EXPECT_TRUE(items[1]->integral);
  int64_t v = 1;
  EXPECT_FALSE(json_token_to_int64(items[1]->text, v));
  EXPECT_TRUE(json_token_to_int64(items[2]->text, v));
  EXPECT_EQ(v, 0);
}

TEST(BodyParser, RootScalars) {
  BodyParser p;
  ApiError err;
  ASSERT_TRUE(p.parse(" 12 ", JsonLimits{}, err));
  EXPECT_EQ(p.node(0).text, "12");
  ASSERT_TRUE(p.parse("\"s\"", JsonLimits{}, err));
  EXPECT_EQ(p.node(0).text, "s");
  ASSERT_TRUE(p.parse("null", JsonLimits{}, err));
  EXPECT_EQ(p.node(0).kind, JsonKind::kNull);
  EXPECT_FALSE(p.parse("falsey", JsonLimits{}, err));
  EXPECT_EQ(err.code, "malformed_json");
  EXPECT_EQ(p.size(), 0u);
}

TEST(BodyParser, Limits) {
  BodyParser p;
  ApiError err;
  EXPECT_FALSE(p.parse("[[[]]]", {.max_bytes = 100, .max_depth = 2, .max_values = 100}, err));
  EXPECT_EQ(err.reason, "nested deeper than 2 levels");
  EXPECT_TRUE(p.parse("[[1]]", {.max_bytes = 100, .max_depth = 2, .max_values = 100}, err));
  EXPECT_FALSE(p.parse("[1,2,3]", {.max_bytes = 100, .max_depth = 2, .max_values = 3}, err));
  EXPECT_EQ(err.reason, "more than 3 JSON values");
  EXPECT_TRUE(p.parse("[1,2]", {.max_bytes = 100, .max_depth = 2, .max_values = 3}, err));
  EXPECT_FALSE(p.parse("[1,2]", {.max_bytes = 4, .max_depth = 2, .max_values = 3}, err));
  EXPECT_EQ(err.status, 413);
  EXPECT_EQ(err.code, "payload_too_large");
  EXPECT_TRUE(p.parse("[1]", {.max_bytes = 3, .max_depth = 2, .max_values = 3}, err));
}

TEST(BodyParser, ReuseAfterABigBody) {
  BodyParser p;
  ApiError err;
  const std::string big = "[\"" + std::string(100000, 'x') + "\"]";
  ASSERT_TRUE(p.parse(big, {.max_bytes = 1 << 20}, err));
  EXPECT_EQ(children(p, p.node(0))[0]->text.size(), 100000u);
  ASSERT_TRUE(p.parse("{\"k\":\"v\"}", JsonLimits{}, err));
  EXPECT_EQ(children(p, p.node(0))[0]->text, "v");
}

}  // namespace
}  // namespace ringshard::deployments
