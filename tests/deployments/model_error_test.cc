// tests/deployments/model_error_test.cc: the error body and the version
// header (plugins/deployments/model_error.h, model_version.h).
#include "plugins/deployments/model_error.h"

#include <gtest/gtest.h>

#include <string>

#include "plugins/deployments/model_version.h"
#include "tests/deployments/json_test_util.h"

namespace ringshard::deployments {
namespace RS_UNITY_ID {

TEST(RenderError, WithDetails) {
  const ApiError e = field_error("resources.cpu", "must be between 1 and 64");
  EXPECT_EQ(render_error(e),
            R"({"error":{"code":"invalid_request","message":"resources.cpu must be between 1 and 64",)"
            R"("details":{"field":"resources.cpu","reason":"must be between 1 and 64"}}})");
  EXPECT_EQ(render_error(e, "req-1"),
            R"({"error":{"code":"invalid_request","message":"resources.cpu must be between 1 and 64",)"
            R"("details":{"field":"resources.cpu","reason":"must be between 1 and 64","request_id":"req-1"}}})");
}

TEST(RenderError, DetailsAlwaysPresent) {
  ApiError e;
  e.status = 404;
  e.code = "not_found";
  e.message = "gone";
  EXPECT_EQ(render_error(e), R"({"error":{"code":"not_found","message":"gone","details":{}}})");
  EXPECT_EQ(render_error(e, "r"),
            R"({"error":{"code":"not_found","message":"gone","details":{"request_id":"r"}}})");
}

TEST(RenderError, MessageFallbacks) {
  ApiError e;
  e.field = "name";
  e.reason = "is required";
  EXPECT_EQ(testing::string_at(render_error(e), "/error/message"), "name is required");
  e.field.clear();
  EXPECT_EQ(testing::string_at(render_error(e), "/error/message"), "is required");
  e.reason.clear();
  EXPECT_EQ(testing::string_at(render_error(e), "/error/message"), "invalid request");
}

TEST(RenderError, EscapesEverything) {
  ApiError e;
  e.message = "bad \"x\"\n";
  e.field = std::string("f\xFF\x01", 3);
  e.reason = "r\\";
  const std::string out = render_error(e, "id\"");
  ASSERT_TRUE(testing::is_valid_json(out)) << out;
  EXPECT_EQ(testing::string_at(out, "/error/message"), "bad \"x\"\n");
  EXPECT_EQ(testing::string_at(out, "/error/details/field"), "f\xEF\xBF\xBD\x01");
  EXPECT_EQ(testing::string_at(out, "/error/details/request_id"), "id\"");
}

TEST(NotFoundError, Shape) {
  const ApiError e = not_found_error("deploy_x");
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.code, "not_found");
  EXPECT_EQ(e.message, "deployment deploy_x not found");
  EXPECT_LE(not_found_error(std::string(1000, 'a')).message.size(), 120u);
}

TEST(ClipEcho, CutsAtACharacterBoundary) {
  EXPECT_EQ(clip_echo("short"), "short");
  EXPECT_EQ(clip_echo(std::string(80, 'a')), std::string(80, 'a'));
  EXPECT_EQ(clip_echo(std::string(81, 'a')), std::string(80, 'a') + "...");
  std::string s(79, 'a');
  s += "\xC3\xA9\xC3\xA9";
  EXPECT_EQ(clip_echo(s), std::string(79, 'a') + "...");
}

TEST(ApiVersion, Accepted) {
  ApiError err;
  EXPECT_TRUE(check_api_version("", err));
  EXPECT_TRUE(check_api_version("2026-12-01", err));
  EXPECT_TRUE(check_api_version(" 2026-12-01\t", err));
  EXPECT_TRUE(check_api_version("  ", err));
  EXPECT_EQ(kCurrentApiVersion, "2026-12-01");
}

TEST(ApiVersion, Refused) {
  for (std::string_view v : {"2026-12-02", "2025-01-01", "2026-12-1", "latest", "v1",
                             "2026-12-01x", "2026/12/01", "20261201"}) {
    ApiError err;
    EXPECT_FALSE(check_api_version(v, err)) << v;
    EXPECT_EQ(err.status, 400);
    EXPECT_EQ(err.code, "unsupported_api_version");
    EXPECT_EQ(err.field, "API-Version");
    EXPECT_EQ(err.reason, "must be one of: 2026-12-01");
    EXPECT_NE(err.message.find("2026-12-01"), std::string::npos);
    EXPECT_NE(err.message.find(std::string(v)), std::string::npos);
  }
}

}  // namespace
}  // namespace ringshard::deployments
