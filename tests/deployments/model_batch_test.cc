// tests/deployments/model_batch_test.cc: POST /v1/batch bodies
// (plugins/deployments/model_batch.h): what refuses the whole request,
// what only one op, and the rendered answer.
#include "plugins/deployments/model_batch.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/deployments/json_test_util.h"

namespace ringshard::deployments {
namespace RS_UNITY_ID {

constexpr std::string_view kId = "deploy_abcdefghijklmnopqrst";
constexpr std::string_view kCreateBody =
    R"({"name":"web","image":"nginx","resources":{"cpu":1,"memory":64}})";

std::string batch_of(std::string_view ops) { return "{\"batch\":[" + std::string(ops) + "]}"; }

void expect_refused(std::string_view body, std::string_view field, std::string_view reason,
                    std::string_view code = "invalid_request", uint16_t status = 400) {
  SCOPED_TRACE(std::string(body.substr(0, 200)));
  std::vector<BatchOp> ops(3);
  ApiError err;
  EXPECT_FALSE(parse_batch(body, ops, err));
  EXPECT_TRUE(ops.empty());
  EXPECT_EQ(err.status, status);
  EXPECT_EQ(err.code, code);
  EXPECT_EQ(err.field, field);
  EXPECT_EQ(err.reason, reason);
}

std::vector<BatchOp> accepted(std::string_view body) {
  std::vector<BatchOp> ops;
  ApiError err;
  EXPECT_TRUE(parse_batch(body, ops, err)) << err.message;
  return ops;
}

TEST(ParseBatch, ThreeKindsInOrder) {
  const auto ops = accepted(batch_of(
      std::string(R"({"op":"get","path":"/deployments/)") + std::string(kId) + R"("},)" +
      R"({"op":"create","body":)" + std::string(kCreateBody) + "}," +
      R"({"path":"/v1/deployments/)" + std::string(kId) + R"(","op":"delete"})"));
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(ops[0].kind, BatchOp::Kind::kGet);
  EXPECT_TRUE(ops[0].ok);
  EXPECT_EQ(ops[0].id, kId);
  EXPECT_EQ(ops[1].kind, BatchOp::Kind::kCreate);
  EXPECT_TRUE(ops[1].ok);
  EXPECT_EQ(ops[1].create.name, "web");
  EXPECT_EQ(ops[1].create.resources.memory_mib, 64);
  EXPECT_EQ(ops[2].kind, BatchOp::Kind::kDelete);
  EXPECT_TRUE(ops[2].ok);
  EXPECT_EQ(ops[2].id, kId);
}

TEST(ParseBatch, OneToAHundredOps) {
  std::string ops;
  for (int i = 0; i < 100; ++i) {
    if (i) ops += ',';
    ops += R"({"op":"create","body":)" + std::string(kCreateBody) + "}";
  }
  EXPECT_EQ(accepted(batch_of(ops)).size(), 100u);
  expect_refused(batch_of(ops + R"(,{"op":"get","path":"/deployments/x"})"), "batch",
                 "must contain between 1 and 100 operations");
  expect_refused(batch_of(""), "batch", "must contain between 1 and 100 operations");
}

TEST(ParseBatch, RefusesTheWholeRequest) {
  expect_refused("{\"batch\":[", "", "unterminated object or array, or content after it",
                 "malformed_json");
  expect_refused("[]", "", "must be a JSON object");
  expect_refused("\"batch\"", "", "must be a JSON object");
  expect_refused("{}", "batch", "is required");
  expect_refused(R"({"batch":{}})", "batch", "must be an array");
  expect_refused(R"({"batch":null})", "batch", "must be an array");
  expect_refused(R"({"batch":[{"op":"get","path":"/deployments/x"}],"atomic":true})", "atomic",
                 "unknown field");
  expect_refused(R"({"batch":[],"batch":[]})", "batch", "duplicate key");
  expect_refused(batch_of("1"), "batch[0]", "must be an object");
  expect_refused(batch_of(R"({"op":"get","path":"/deployments/x"},[])"), "batch[1]",
                 "must be an object");
  expect_refused(batch_of(R"({"path":"/deployments/x"})"), "batch[0].op", "is required");
  expect_refused(batch_of(R"({"op":"patch","path":"/deployments/x"})"), "batch[0].op",
                 "must be one of get, create, delete");
  expect_refused(batch_of(R"({"op":"GET","path":"/deployments/x"})"), "batch[0].op",
                 "must be one of get, create, delete");
  expect_refused(batch_of(R"({"op":1})"), "batch[0].op", "must be one of get, create, delete");
  expect_refused(batch_of(R"({"op":"get","path":"/deployments/x","headers":{}})"),
                 "batch[0].headers", "unknown field");
  expect_refused(batch_of(R"({"op":"get","op":"get","path":"/deployments/x"})"), "batch[0].op",
                 "duplicate key");
  expect_refused(batch_of(R"({"op":"get","path":"/a","path":"/b"})"), "batch[0].path",
                 "duplicate key");
  // A member the op does not take is unknown for it.
  expect_refused(batch_of(std::string(R"({"op":"create","path":"/deployments/x","body":)") +
                          std::string(kCreateBody) + "}"),
                 "batch[0].path", "unknown field");
  expect_refused(batch_of(R"({"op":"get","path":"/deployments/x","body":{}})"), "batch[0].body",
                 "unknown field");
}

TEST(ParseBatch, TheFirstBadElementWins) {
  expect_refused(batch_of(R"({"op":"get"},{"op":"x"},{"nope":1})"), "batch[1].op",
                 "must be one of get, create, delete");
}

TEST(ParseBatch, BadOpsAreAnsweredInPlace) {
  const auto ops = accepted(batch_of(
      R"({"op":"get"},)"
      R"({"op":"get","path":7},)"
      R"({"op":"delete","path":"/deployments/"},)"
      R"({"op":"delete","path":"/deployments/deploy_abcdefghijklmnopqrst/wait"},)"
      R"({"op":"get","path":"/v2/deployments/deploy_abcdefghijklmnopqrst"},)"
      R"({"op":"get","path":"/deployments/deploy_NOPE"},)"
      R"({"op":"create"},)"
      R"({"op":"create","body":[]},)"
      R"({"op":"create","body":{"name":"a","image":"b","resources":{"cpu":100,"memory":64}}},)"
      R"({"op":"create","body":{"name":"a","name":"b"}},)"
      R"({"op":"get","path":"/deployments/deploy_abcdefghijklmnopqrst"})"));
  ASSERT_EQ(ops.size(), 11u);
  const auto expect_op = [&](size_t i, uint16_t status, std::string_view code,
                             std::string_view field, std::string_view reason) {
    SCOPED_TRACE(i);
    EXPECT_FALSE(ops[i].ok);
    EXPECT_EQ(ops[i].error.status, status);
    EXPECT_EQ(ops[i].error.code, code);
    EXPECT_EQ(ops[i].error.field, field);
    EXPECT_EQ(ops[i].error.reason, reason);
  };
  constexpr std::string_view kShape = "must be /deployments/{id} or /v1/deployments/{id}";
  expect_op(0, 400, "invalid_request", "path", "is required");
  expect_op(1, 400, "invalid_request", "path", "must be a string");
  expect_op(2, 400, "invalid_request", "path", kShape);
  expect_op(3, 400, "invalid_request", "path", kShape);
  expect_op(4, 400, "invalid_request", "path", kShape);
  expect_op(5, 404, "not_found", "", "");
  expect_op(6, 400, "invalid_request", "body", "is required");
  expect_op(7, 400, "invalid_request", "body", "must be an object");
  expect_op(8, 400, "invalid_request", "resources.cpu", "must be between 1 and 64");
  expect_op(9, 400, "invalid_request", "name", "duplicate key");
  EXPECT_TRUE(ops[10].ok);
}

TEST(ParseBatch, LimitsOfTheBody) {
  std::string deep = batch_of(std::string(R"({"op":"create","body":{"x":)") +
                              std::string(20, '[') + std::string(20, ']') + "}}");
  expect_refused(deep, "", "nested deeper than 16 levels");
  expect_refused(std::string(kBatchLimits.max_bytes + 1, ' '), "",
                 "must be at most 1048576 bytes", "payload_too_large", 413);
}

TEST(BatchPathId, BothForms) {
  EXPECT_EQ(batch_path_id("/deployments/abc"), "abc");
  EXPECT_EQ(batch_path_id("/v1/deployments/abc"), "abc");
  EXPECT_EQ(batch_path_id("deployments/abc"), "");
  EXPECT_EQ(batch_path_id("/v1/deployments/"), "");
  EXPECT_EQ(batch_path_id("/v1/v1/deployments/abc"), "");
  EXPECT_EQ(batch_path_id("/deployments/abc/"), "");
  EXPECT_EQ(batch_path_id("/deployments/abc?x=1"), "abc?x=1");  // then not a valid id: 404
}

TEST(RenderBatch, ResultsInOrder) {
  const std::string out = render_batch({{201, R"({"id":"a"})"},
                                        {404, R"({"error":{"code":"not_found"}})"},
                                        {204, ""}});
  EXPECT_EQ(out,
            R"({"results":[{"status":201,"body":{"id":"a"}},)"
            R"({"status":404,"body":{"error":{"code":"not_found"}}},{"status":204,"body":null}]})");
  EXPECT_TRUE(testing::is_valid_json(out));
  EXPECT_EQ(render_batch({}), R"({"results":[]})");
}

}  // namespace
}  // namespace ringshard::deployments
