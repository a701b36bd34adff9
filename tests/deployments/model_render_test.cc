// tests/deployments/model_render_test.cc: response bodies and timestamps
// (plugins/deployments/model_render.h).
#include "plugins/deployments/model_render.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/deployments/json_test_util.h"

namespace ringshard::deployments {
namespace RS_UNITY_ID {

Deployment sample() {
  Deployment d;
  d.id = "deploy_abcdefghijklmnopqrst";
  d.name = "web-1";
  d.image = "nginx:1.27";
  d.resources = {2, 512};
  d.status = Status::kRunning;
  d.created_at_ms = 1796493784123;  // 2026-12-05T18:03:04.123Z
  d.updated_at_ms = 1796493785000;
  d.position = 7;
  return d;
}

TEST(Rfc3339, Milliseconds) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(1796493784123), "2026-12-05T18:03:04.123Z");
  EXPECT_EQ(format_rfc3339(951782400000), "2000-02-29T00:00:00.000Z");  // leap day
  EXPECT_EQ(format_rfc3339(4107542399999), "2100-02-28T23:59:59.999Z");  // not a leap year
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(-86400000), "1969-12-31T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(1), "1970-01-01T00:00:00.001Z");
}

TEST(Rfc3339, ClampsToFourDigitYears) {
  EXPECT_EQ(format_rfc3339(INT64_MAX), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(INT64_MIN), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(253402300799999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(-62167219200000), "0000-01-01T00:00:00.000Z");
}

TEST(RenderDeployment, Shape) {
  EXPECT_EQ(render_deployment(sample()),
            R"({"id":"deploy_abcdefghijklmnopqrst","name":"web-1","image":"nginx:1.27",)"
            R"("resources":{"cpu":2,"memory":512},"status":"running",)"
            R"("created_at":"2026-12-05T18:03:04.123Z","updated_at":"2026-12-05T18:03:05.000Z"})");
  std::string out = "[";
  append_deployment(out, sample());
  out += "]";
  EXPECT_TRUE(testing::is_valid_json(out));
}

TEST(RenderDeployment, EscapesStrings) {
  Deployment d = sample();
  d.image = "a\"b\\c\n\x01\xC3\xA9\xFF";
  const std::string out = render_deployment(d);
  ASSERT_TRUE(testing::is_valid_json(out)) << out;
  EXPECT_EQ(testing::string_at(out, "/image"), "a\"b\\c\n\x01\xC3\xA9\xEF\xBF\xBD");
}

TEST(RenderList, CursorOrNull) {
  const std::string last = render_list({sample()}, "");
  EXPECT_TRUE(last.starts_with(R"({"deployments":[{"id":"deploy_abcdefghijklmnopqrst")"));
  EXPECT_TRUE(last.ends_with(R"(],"next_cursor":null})"));
  EXPECT_TRUE(testing::is_valid_json(last));
  EXPECT_EQ(render_list({}, ""), R"({"deployments":[],"next_cursor":null})");
  const std::string more = render_list({sample(), sample()}, "AQID");
  EXPECT_TRUE(more.ends_with(R"(],"next_cursor":"AQID"})"));
  EXPECT_TRUE(testing::is_valid_json(more));
}

TEST(RenderEvent, Shape) {
  Event e;
  e.seq = 42;
  e.deployment_id = "deploy_abcdefghijklmnopqrst";
  e.status = Status::kTerminated;
  e.timestamp_ms = 1796493784123;
  EXPECT_EQ(render_event(e),
            R"({"type":"deployment.update","deployment_id":"deploy_abcdefghijklmnopqrst",)"
            R"("status":"terminated","timestamp":"2026-12-05T18:03:04.123Z","seq":42})");
}

TEST(RenderHealth, Shape) {
  EXPECT_EQ(render_health("0.1.0", 3600), R"({"status":"healthy","version":"0.1.0","uptime":3600})");
  EXPECT_EQ(render_health("x", -5), R"({"status":"healthy","version":"x","uptime":0})");
}

}  // namespace
}  // namespace ringshard::deployments
