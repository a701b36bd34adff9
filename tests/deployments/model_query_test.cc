// tests/deployments/model_query_test.cc: query strings of the GET routes
// (plugins/deployments/model_query.h).
#include "plugins/deployments/model_query.h"

#include <gtest/gtest.h>

#include <string>

#include "plugins/deployments/cursor.h"

namespace ringshard::deployments {
namespace RS_UNITY_ID {

template <typename Query>
void expect_refused(bool (*parse)(std::string_view, Query&, ApiError&), std::string_view query,
                    std::string_view field, std::string_view reason) {
  SCOPED_TRACE(std::string(query.substr(0, 200)));
  Query q;
  ApiError err;
  EXPECT_FALSE(parse(query, q, err));
  EXPECT_EQ(err.status, 400);
  EXPECT_EQ(err.code, "invalid_request");
  EXPECT_EQ(err.field, field);
  EXPECT_EQ(err.reason, reason);
  EXPECT_FALSE(err.message.empty());
}

ListQuery list(std::string_view query) {
  ListQuery q;
  ApiError err;
  EXPECT_TRUE(parse_list_query(query, q, err)) << query << ": " << err.message;
  return q;
}

WaitQuery wait(std::string_view query) {
  WaitQuery q;
  ApiError err;
  EXPECT_TRUE(parse_wait_query(query, q, err)) << query << ": " << err.message;
  return q;
}

TEST(PercentDecode, Escapes) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%20b+c%2Bd%2f", out));
  EXPECT_EQ(out, "a b c+d/");
  EXPECT_TRUE(percent_decode("a+b", out, false));
  EXPECT_EQ(out, "a+b");
  EXPECT_TRUE(percent_decode("%00%ff", out));
  EXPECT_EQ(out, std::string("\0\xff", 2));
  EXPECT_TRUE(percent_decode("", out));
  EXPECT_EQ(out, "");
  for (std::string_view bad : {"%", "%4", "%zz", "%g0", "a%2", "%%41"}) {
    EXPECT_FALSE(percent_decode(bad, out)) << bad;
  }
}

TEST(QueryParam, FirstDecodedMatch) {
  EXPECT_EQ(query_param("a=1&b=2&a=3", "a"), "1");
  EXPECT_EQ(query_param("?access_token=abc%2Fdef", "access_token"), "abc/def");
  EXPECT_EQ(query_param("x&y=", "x"), "");
  EXPECT_EQ(query_param("acc%65ss_token=t", "access_token"), "t");
  EXPECT_FALSE(query_param("a=1", "b").has_value());
  EXPECT_FALSE(query_param("a=%zz", "a").has_value());
  EXPECT_FALSE(query_param("", "a").has_value());
}

TEST(ListQuery, Defaults) {
  const ListQuery q = list("");
  EXPECT_EQ(q.limit, 100u);
  EXPECT_EQ(q.after_position, 0);
  EXPECT_FALSE(q.status.has_value());
  EXPECT_EQ(list("?").limit, 100u);
  EXPECT_EQ(list("&&").limit, 100u);
}

TEST(ListQuery, AllParameters) {
  const std::string cursor = encode_cursor(42);
  const ListQuery q = list("limit=1000&status=running&cursor=" + cursor);
  EXPECT_EQ(q.limit, 1000u);
  EXPECT_EQ(q.after_position, 42);
  EXPECT_EQ(q.status, Status::kRunning);
  EXPECT_EQ(list("limit=1").limit, 1u);
  EXPECT_EQ(list("limit=%31%30").limit, 10u);
  EXPECT_EQ(list("cursor=").after_position, 0);
  EXPECT_EQ(list("status=terminated").status, Status::kTerminated);
}

TEST(ListQuery, Refusals) {
  constexpr std::string_view kLimit = "must be an integer between 1 and 1000";
  for (std::string_view q : {"limit=0", "limit=1001", "limit=", "limit", "limit=-1", "limit=+5",
                             "limit=1.0", "limit=1e2", "limit=99999999999999999999", "limit=a"}) {
    expect_refused(parse_list_query, q, "limit", kLimit);
  }
  expect_refused(parse_list_query, "cursor=abc", "cursor", "is not a valid cursor");
  expect_refused(parse_list_query, "status=done", "status",
                 "must be one of pending, running, failed, terminating, terminated");
  expect_refused(parse_list_query, "status=", "status",
                 "must be one of pending, running, failed, terminating, terminated");
  expect_refused(parse_list_query, "limit=5&page=2", "page", "unknown parameter");
  expect_refused(parse_list_query, "Limit=5", "Limit", "unknown parameter");
  expect_refused(parse_list_query, "limit=5&limit=6", "limit", "duplicate parameter");
  expect_refused(parse_list_query, "limit=%zz", "limit", "invalid percent-encoding");
  expect_refused(parse_list_query, "li%zzmit=1", "li%zzmit", "invalid percent-encoding");
  expect_refused(parse_list_query, std::string(5000, 'a'), "", "query string too long");
}

TEST(ListQuery, UnknownNamesAreClipped) {
  ListQuery q;
  ApiError err;
  EXPECT_FALSE(parse_list_query(std::string(3000, 'z') + "=1", q, err));
  EXPECT_EQ(err.reason, "unknown parameter");
  EXPECT_LE(err.field.size(), kMaxEcho + 3);
}

TEST(WaitQuery, Timeouts) {
  EXPECT_EQ(wait("status=running").timeout_ms, 30'000u);
  EXPECT_EQ(wait("status=running").status, Status::kRunning);
  EXPECT_EQ(wait("status=failed&timeout=30s").timeout_ms, 30'000u);
  EXPECT_EQ(wait("timeout=500ms&status=running").timeout_ms, 500u);
  EXPECT_EQ(wait("status=running&timeout=2m").timeout_ms, 120'000u);
  EXPECT_EQ(wait("status=running&timeout=5").timeout_ms, 5'000u);
  EXPECT_EQ(wait("status=running&timeout=1ms").timeout_ms, 1u);
  EXPECT_EQ(wait("status=running&timeout=300s").timeout_ms, 300'000u);
  EXPECT_EQ(wait("status=running&timeout=5m").timeout_ms, 300'000u);
  EXPECT_EQ(wait("status=running&timeout=300000ms").timeout_ms, 300'000u);
}

TEST(WaitQuery, Refusals) {
  constexpr std::string_view kForm = "must be a duration such as 30s, 500ms or 2m";
  constexpr std::string_view kRange = "must be between 1ms and 300s";
  expect_refused(parse_wait_query, "", "status", "is required");
  expect_refused(parse_wait_query, "timeout=5s", "status", "is required");
  expect_refused(parse_wait_query, "status=ready", "status",
                 "must be one of pending, running, failed, terminating, terminated");
  for (std::string_view t : {"timeout=", "timeout=s", "timeout=1.5s", "timeout=-1",
                             "timeout=1h", "timeout=10 s", "timeout=1sec", "timeout=9999999999",
                             "timeout=ms", "timeout=+3"}) {
    expect_refused(parse_wait_query, "status=running&" + std::string(t), "timeout", kForm);
  }
  for (std::string_view t : {"timeout=0", "timeout=0s", "timeout=0ms", "timeout=301s",
                             "timeout=6m", "timeout=300001ms", "timeout=999999999m"}) {
    expect_refused(parse_wait_query, "status=running&" + std::string(t), "timeout", kRange);
  }
  expect_refused(parse_wait_query, "status=running&limit=1", "limit", "unknown parameter");
  expect_refused(parse_wait_query, "status=running&status=failed", "status",
                 "duplicate parameter");
}

TEST(ParseDurationMs, Forms) {
  EXPECT_EQ(parse_duration_ms("30s"), 30'000u);
  EXPECT_EQ(parse_duration_ms("7"), 7'000u);
  EXPECT_FALSE(parse_duration_ms("0").has_value());
  EXPECT_FALSE(parse_duration_ms("").has_value());
}

TEST(StreamQuery, Parameters) {
  StreamQuery q;
  ApiError err;
  ASSERT_TRUE(parse_stream_query(
      "deployment_id=deploy_abcdefghijklmnopqrst&since=18446744073709551615&access_token=t%2B1",
      q, err))
      << err.message;
  EXPECT_EQ(q.deployment_id, "deploy_abcdefghijklmnopqrst");
  EXPECT_EQ(q.since, UINT64_MAX);
  EXPECT_EQ(q.access_token, "t+1");
  StreamQuery empty;
  ASSERT_TRUE(parse_stream_query("", empty, err));
  EXPECT_FALSE(empty.deployment_id.has_value());
  EXPECT_FALSE(empty.since.has_value());
  EXPECT_TRUE(empty.access_token.empty());
  expect_refused(parse_stream_query, "deployment_id=web", "deployment_id",
                 "must be a deployment id");
  expect_refused(parse_stream_query, "since=-1", "since", "must be a non-negative integer");
  expect_refused(parse_stream_query, "since=18446744073709551616", "since",
                 "must be a non-negative integer");
  expect_refused(parse_stream_query, "since=", "since", "must be a non-negative integer");
  expect_refused(parse_stream_query, "token=x", "token", "unknown parameter");
}

}  // namespace
}  // namespace ringshard::deployments
