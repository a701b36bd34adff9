// Tests for http/router.h: which route a method and path select, the
// parameters captured, 404 and 405 with their Allow lists, and HEAD falling
// back to GET. Routes are told apart by their RouteOptions (each route gets
// a distinct max_body), so no handler has to run.
#include "http/router.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace ringshard::http {
namespace RS_UNITY_ID {

void noop(ServerRequest&, Response&) {}

// The id given to the route that matched (its max_body), 0 for none.
uint64_t route_id(const RouteMatch& m) {
  if (m.handler == nullptr) {
    EXPECT_EQ(m.options, nullptr);
    return 0;
  }
  EXPECT_NE(m.options, nullptr);
  return m.options->max_body;
}

std::string_view param(const PathParams& p, std::string_view name) {
  for (size_t i = 0; i < p.count; ++i) {
    if (p.names[i] == name) return p.values[i];
  }
  return {};
}

Router api_router() {
  Router r;
  r.add(Method::kGet, "/plaintext", noop, {1});
  r.add(Method::kGet, "/users/{id}", noop, {2});
  r.add(Method::kGet, "/users/me", noop, {3});  // literal: wins over {id}
  r.add(Method::kPut, "/users/{id}", noop, {4});
  r.add(Method::kGet, "/orgs/{org}/repos/{repo}", noop, {5});
  r.add(Method::kPost, "/upload", noop, {6});
  r.add(Method::kDelete, "/upload", noop, {7});
  r.add(Method::kGet, "/", noop, {8});
  r.add(Method::kGet, "/files/{name}", noop, {9});
  r.add(Method::kHead, "/files/{name}", noop, {10});
  r.add(Method::kGet, "/a/{x}", noop, {11});
  r.add(Method::kGet, "/a/{y}", noop, {12});  // same shape, added later
  return r;
}

TEST(Router, LiteralRouteMatchesExactly) {
  const Router r = api_router();
  PathParams p;
  RouteMatch m = r.match(Method::kGet, "/plaintext", p);
  EXPECT_EQ(route_id(m), 1u);
  EXPECT_TRUE(m.path_matched);
  EXPECT_EQ(m.allow_count, 0u);
  EXPECT_EQ(p.count, 0u);
  EXPECT_EQ(route_id(r.match(Method::kGet, "/", p)), 8u);
  EXPECT_EQ(route_id(r.match(Method::kGet, "/plaintext/", p)), 0u);
  EXPECT_EQ(route_id(r.match(Method::kGet, "/plaintex", p)), 0u);
  EXPECT_EQ(route_id(r.match(Method::kGet, "/PLAINTEXT", p)), 0u);
}

TEST(Router, ParameterSegmentsAreCaptured) {
  const Router r = api_router();
  PathParams p;
  RouteMatch m = r.match(Method::kGet, "/users/42", p);
  EXPECT_EQ(route_id(m), 2u);
  ASSERT_EQ(p.count, 1u);
  EXPECT_EQ(p.names[0], "id");
  EXPECT_EQ(p.values[0], "42");

  m = r.match(Method::kGet, "/orgs/acme/repos/ringshard", p);
  EXPECT_EQ(route_id(m), 5u);
  ASSERT_EQ(p.count, 2u);
  EXPECT_EQ(param(p, "org"), "acme");
  EXPECT_EQ(param(p, "repo"), "ringshard");
}

TEST(Router, CapturedValuesAreViewsIntoThePath) {
  const Router r = api_router();
  const std::string path = "/users/abc";
  PathParams p;
  ASSERT_EQ(route_id(r.match(Method::kGet, path, p)), 2u);
  ASSERT_EQ(p.count, 1u);
  EXPECT_EQ(p.values[0].data(), path.data() + 7);
}

TEST(Router, LiteralRoutesWinOverPatterns) {
  const Router r = api_router();
  PathParams p;
  p.count = 1;  // left over from an earlier request
  EXPECT_EQ(route_id(r.match(Method::kGet, "/users/me", p)), 3u);
  EXPECT_EQ(p.count, 0u);
}

TEST(Router, PatternsMatchInTheOrderAdded) {
  const Router r = api_router();
  PathParams p;
  EXPECT_EQ(route_id(r.match(Method::kGet, "/a/1", p)), 11u);
  ASSERT_EQ(p.count, 1u);
  EXPECT_EQ(p.names[0], "x");
}

TEST(Router, PatternNeedsEverySegmentAndNoMore) {
  const Router r = api_router();
  PathParams p;
  for (std::string_view path :
       {"/users/", "/users", "/users/42/", "/users/42/x", "/orgs/acme/repos",
        "/orgs/acme/repos/", "/orgs//repos/x", "/orgs/acme/repo/x", "users/42",
        ""}) {
    RouteMatch m = r.match(Method::kGet, path, p);
    EXPECT_EQ(route_id(m), 0u) << path;
    EXPECT_FALSE(m.path_matched) << path;
    EXPECT_EQ(p.count, 0u) << path;
  }
}

TEST(Router, UnknownPathIs404) {
  const Router r = api_router();
  PathParams p;
  p.count = 2;
  RouteMatch m = r.match(Method::kGet, "/nowhere", p);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.options, nullptr);
  EXPECT_FALSE(m.path_matched);
  EXPECT_EQ(m.allow_count, 0u);
  // No parameters from a route that did not match, nor from an earlier
  // request.
  EXPECT_EQ(p.count, 0u);
}

TEST(Router, WrongMethodIs405WithTheAllowList) {
  const Router r = api_router();
  PathParams p;
  RouteMatch m = r.match(Method::kPost, "/plaintext", p);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.path_matched);
  EXPECT_EQ(allow_header(m), "GET, HEAD");  // a GET route answers HEAD too
  EXPECT_EQ(p.count, 0u);

  m = r.match(Method::kGet, "/upload", p);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.path_matched);
  EXPECT_EQ(allow_header(m), "POST, DELETE");  // in the order added, no HEAD

  m = r.match(Method::kHead, "/upload", p);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.path_matched);
  EXPECT_EQ(allow_header(m), "POST, DELETE");

  m = r.match(Method::kDelete, "/users/42", p);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.path_matched);
  EXPECT_EQ(allow_header(m), "GET, HEAD, PUT");
  EXPECT_EQ(p.count, 0u);
}

TEST(Router, OtherMethodsOnAParamRouteMatchTheirOwnRoute) {
  const Router r = api_router();
  PathParams p;
  EXPECT_EQ(route_id(r.match(Method::kPut, "/users/7", p)), 4u);
  ASSERT_EQ(p.count, 1u);
  EXPECT_EQ(p.values[0], "7");
  EXPECT_EQ(route_id(r.match(Method::kPost, "/upload", p)), 6u);
  EXPECT_EQ(route_id(r.match(Method::kDelete, "/upload", p)), 7u);
  EXPECT_EQ(p.count, 0u);
}

TEST(Router, HeadFallsBackToGetKeepingParameters) {
  const Router r = api_router();
  PathParams p;
  RouteMatch m = r.match(Method::kHead, "/orgs/acme/repos/ringshard", p);
  EXPECT_EQ(route_id(m), 5u);
  EXPECT_TRUE(m.path_matched);
  ASSERT_EQ(p.count, 2u);
  EXPECT_EQ(param(p, "org"), "acme");
  EXPECT_EQ(param(p, "repo"), "ringshard");

  // The PUT route on the same path is looked at after the GET one; the
  // parameters are still those of the GET route.
  m = r.match(Method::kHead, "/users/42", p);
  EXPECT_EQ(route_id(m), 2u);
  ASSERT_EQ(p.count, 1u);
  EXPECT_EQ(p.names[0], "id");
  EXPECT_EQ(p.values[0], "42");

  EXPECT_EQ(route_id(r.match(Method::kHead, "/plaintext", p)), 1u);
  EXPECT_EQ(p.count, 0u);
}

TEST(Router, HeadFallbackKeepsTheFirstGetRoute) {
  Router r;
  r.add(Method::kGet, "/v/{first}", noop, {1});
  r.add(Method::kGet, "/v/{second}", noop, {2});
  r.add(Method::kPost, "/v/{third}", noop, {3});
  PathParams p;
  EXPECT_EQ(route_id(r.match(Method::kHead, "/v/9", p)), 1u);
  ASSERT_EQ(p.count, 1u);
  EXPECT_EQ(p.names[0], "first");
  EXPECT_EQ(p.values[0], "9");
}

TEST(Router, ExplicitHeadRouteWinsOverTheGetFallback) {
  const Router r = api_router();
  PathParams p;
  RouteMatch m = r.match(Method::kHead, "/files/report.pdf", p);
  EXPECT_EQ(route_id(m), 10u);
  ASSERT_EQ(p.count, 1u);
  EXPECT_EQ(p.values[0], "report.pdf");
  EXPECT_EQ(route_id(r.match(Method::kGet, "/files/report.pdf", p)), 9u);
}

TEST(Router, HeadOnAPathWithoutGetIs404Or405) {
  Router r;
  r.add(Method::kPost, "/only-post", noop, {1});
  PathParams p;
  RouteMatch m = r.match(Method::kHead, "/only-post", p);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.path_matched);
  EXPECT_EQ(allow_header(m), "POST");
  m = r.match(Method::kHead, "/elsewhere", p);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_FALSE(m.path_matched);
}

TEST(Router, EmptyRouterMatchesNothing) {
  const Router r;
  PathParams p;
  RouteMatch m = r.match(Method::kGet, "/", p);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_FALSE(m.path_matched);
}

TEST(Router, EightParametersFitANinthIsRefused) {
  Router r;
  r.add(Method::kGet, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", noop, {1});
  PathParams p;
  EXPECT_EQ(route_id(r.match(Method::kGet, "/1/2/3/4/5/6/7/8", p)), 1u);
  ASSERT_EQ(p.count, kMaxParams);
  EXPECT_EQ(p.names[7], "h");
  EXPECT_EQ(p.values[7], "8");
  EXPECT_THROW(r.add(Method::kGet, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", noop),
               std::invalid_argument);
}

TEST(Router, MalformedPatternsAreRefusedAtStartup) {
  Router r;
  EXPECT_THROW(r.add(Method::kGet, "", noop), std::invalid_argument);
  EXPECT_THROW(r.add(Method::kGet, "nope", noop), std::invalid_argument);
  EXPECT_THROW(r.add(Method::kGet, "/a{b}", noop), std::invalid_argument);
  EXPECT_THROW(r.add(Method::kGet, "/{b", noop), std::invalid_argument);
  r.add(Method::kGet, "/dup", noop);
  EXPECT_THROW(r.add(Method::kGet, "/dup", noop), std::invalid_argument);
  r.add(Method::kPost, "/dup", noop);  // another method is not a duplicate
}

}  // namespace
}  // namespace ringshard::http

namespace ringshard::http {
namespace RS_UNITY_ID {

HandlerFn noop2() {
  return [](ServerRequest&, Response&) {};
}

TEST(Router, AllowListsEveryMatchingPatternOnce) {
  Router r;
  r.add(Method::kGet, "/users/me", noop2());
  r.add(Method::kPut, "/users/{id}", noop2());
  r.add(Method::kHead, "/users/me", noop2());
  PathParams p;
  const RouteMatch m = r.match(Method::kDelete, "/users/me", p);
  ASSERT_TRUE(m.path_matched);
  EXPECT_EQ(m.handler, nullptr);
  // PUT comes from the {id} pattern; HEAD appears once although it is
  // both implied by GET and registered on its own.
  EXPECT_EQ(allow_header(m), "GET, HEAD, PUT");
}

TEST(Router, ExtensionMethodsMatchByTokenAndCase) {
  Router r;
  r.add("PURGE", "/cache/{key}", noop, {1});
  r.add("GET", "/cache/{key}", noop, {2});  // a standard name is the standard method
  r.add("M-SEARCH", "*", noop, {3});
  PathParams p;
  EXPECT_EQ(route_id(r.match(Method::kUnknown, "/cache/a", p, "PURGE")), 1u);
  EXPECT_EQ(param(p, "key"), "a");
  EXPECT_EQ(route_id(r.match(Method::kGet, "/cache/a", p, "GET")), 2u);
  EXPECT_EQ(route_id(r.match(Method::kUnknown, "*", p, "M-SEARCH")), 3u);
  const RouteMatch other = r.match(Method::kUnknown, "/cache/a", p, "purge");
  EXPECT_EQ(other.handler, nullptr);
  EXPECT_TRUE(other.path_matched);
  EXPECT_EQ(allow_header(other), "PURGE, GET, HEAD");
  EXPECT_TRUE(r.has_method(Method::kUnknown, "PURGE"));
  EXPECT_FALSE(r.has_method(Method::kUnknown, "purge"));
  EXPECT_TRUE(r.has_method(Method::kHead, "HEAD"));
  EXPECT_FALSE(r.has_method(Method::kPost, "POST"));
  EXPECT_THROW(r.add("BAD METHOD", "/x", noop), std::invalid_argument);
  EXPECT_THROW(r.add("", "/x", noop), std::invalid_argument);
}

// Prefix routes (the reverse proxy's) come before every other route,
// take any method, match at segment boundaries and prefer the longest
// prefix; their filter sees the request.
TEST(Router, PrefixRoutesWinAtSegmentBoundariesLongestFirst) {
  Router r = api_router();
  r.add_prefix("/users", nullptr, noop, {10});
  r.add_prefix("/users/admin/", nullptr, noop, {11});
  PathParams p;
  EXPECT_EQ(route_id(r.match(Method::kGet, "/users/7", p)), 10u);
  EXPECT_EQ(p.count, 0u);
  EXPECT_EQ(route_id(r.match(Method::kGet, "/users", p)), 10u);
  EXPECT_EQ(route_id(r.match(Method::kPost, "/users/me", p)), 10u);
  EXPECT_EQ(route_id(r.match(Method::kUnknown, "/users/x", p, "PROPFIND")), 10u);
  EXPECT_EQ(route_id(r.match(Method::kGet, "/users/admin", p)), 11u);
  EXPECT_EQ(route_id(r.match(Method::kGet, "/users/admin/x", p)), 11u);
  EXPECT_EQ(route_id(r.match(Method::kGet, "/usersx", p)), 0u);
  EXPECT_EQ(route_id(r.match(Method::kGet, "/plaintext", p)), 1u);
  EXPECT_EQ(r.pattern(r.match(Method::kGet, "/users/1", p).route), "/users/*");
}

TEST(Router, PrefixRouteFilterDecidesAndRootTakesEverything) {
  Router r = api_router();
  r.add_prefix("/", [](const Request& req) { return req.method == Method::kPost; }, noop, {20});
  PathParams p;
  Request req;
  req.method = Method::kPost;
  EXPECT_EQ(route_id(r.match(Method::kPost, "/anything", p, {}, &req)), 20u);
  EXPECT_EQ(route_id(r.match(Method::kPost, "/", p, {}, &req)), 20u);
  // Without the request a filtered prefix route cannot match.
  EXPECT_EQ(route_id(r.match(Method::kPost, "/anything", p)), 0u);
  req.method = Method::kGet;
  EXPECT_EQ(route_id(r.match(Method::kGet, "/plaintext", p, {}, &req)), 1u);
  req.method = Method::kPost;
  EXPECT_EQ(r.pattern(r.match(Method::kPost, "/x", p, {}, &req).route), "/*");
  EXPECT_THROW(r.add_prefix("api", nullptr, noop), std::invalid_argument);
}

}  // namespace
}  // namespace ringshard::http
