// Tests for proxy/route_table.h: longest prefix, host precedence (exact,
// wildcard, none), the methods filter, Host normalisation, config order.
#include "proxy/route_table.h"

#include <gtest/gtest.h>

#include <vector>

namespace ringshard::proxy {
namespace RS_UNITY_ID {

ProxyRoute route(std::string prefix, std::string upstream, std::string host = "",
                 std::vector<std::string> methods = {}) {
  ProxyRoute r;
  r.prefix = std::move(prefix);
  r.upstream = std::move(upstream);
  r.host = std::move(host);
  r.methods = std::move(methods);
  return r;
}

std::string upstream_of(const RouteTable& t, std::string_view host, std::string_view method,
                        std::string_view path) {
  const ProxyRoute* r = t.match(host, method, path);
  return r == nullptr ? "-" : r->upstream;
}

TEST(RouteTable, LongestPrefixWins) {
  std::vector<ProxyRoute> routes = {route("/", "root"), route("/api/", "api"),
                                    route("/api/v2/", "v2")};
  RouteTable t(routes);
  EXPECT_EQ(upstream_of(t, "", "GET", "/api/v2/users"), "v2");
  EXPECT_EQ(upstream_of(t, "", "GET", "/api/v1/users"), "api");
  EXPECT_EQ(upstream_of(t, "", "GET", "/index.html"), "root");
  EXPECT_EQ(upstream_of(t, "", "GET", "/api"), "root");  // "/api/" is not a prefix of "/api"
}

TEST(RouteTable, NoMatchIsNull) {
  std::vector<ProxyRoute> routes = {route("/api/", "api")};
  RouteTable t(routes);
  EXPECT_EQ(t.match("", "GET", "/other"), nullptr);
  EXPECT_EQ(t.match_index("", "GET", "/other"), RouteTable::kNoRoute);
  EXPECT_EQ(t.match_index("", "GET", "/api/x"), 0u);
}

TEST(RouteTable, ExactHostBeforeWildcardBeforeAny) {
  std::vector<ProxyRoute> routes = {route("/", "any"), route("/", "wild", "*.example.com"),
                                    route("/", "exact", "api.example.com"),
                                    route("/", "deeper", "*.eu.example.com")};
  RouteTable t(routes);
  EXPECT_EQ(upstream_of(t, "api.example.com", "GET", "/"), "exact");
  EXPECT_EQ(upstream_of(t, "API.Example.COM:8443", "GET", "/"), "exact");
  EXPECT_EQ(upstream_of(t, "api.example.com.", "GET", "/"), "exact");
  EXPECT_EQ(upstream_of(t, "web.example.com", "GET", "/"), "wild");
  EXPECT_EQ(upstream_of(t, "a.eu.example.com", "GET", "/"), "deeper");
  EXPECT_EQ(upstream_of(t, "example.com", "GET", "/"), "any");  // *.x does not match x
  EXPECT_EQ(upstream_of(t, "other.org", "GET", "/"), "any");
  EXPECT_EQ(upstream_of(t, "", "GET", "/"), "any");
}

TEST(RouteTable, PrefixLengthBeatsHost) {
  std::vector<ProxyRoute> routes = {route("/", "host", "api.example.com"),
                                    route("/static/", "static")};
  RouteTable t(routes);
  EXPECT_EQ(upstream_of(t, "api.example.com", "GET", "/static/a.css"), "static");
  EXPECT_EQ(upstream_of(t, "api.example.com", "GET", "/x"), "host");
}

TEST(RouteTable, MethodsFilter) {
  std::vector<ProxyRoute> routes = {route("/api/", "reads", "", {"GET", "HEAD"}),
                                    route("/api/", "writes", "", {"POST"}),
                                    route("/", "rest")};
  RouteTable t(routes);
  EXPECT_EQ(upstream_of(t, "", "GET", "/api/x"), "reads");
  EXPECT_EQ(upstream_of(t, "", "POST", "/api/x"), "writes");
  EXPECT_EQ(upstream_of(t, "", "DELETE", "/api/x"), "rest");
}

TEST(RouteTable, MethodListBeforeAnyMethodThenConfigOrder) {
  std::vector<ProxyRoute> routes = {route("/a/", "first"), route("/a/", "posts", "", {"POST"}),
                                    route("/a/", "second")};
  RouteTable t(routes);
  EXPECT_EQ(upstream_of(t, "", "POST", "/a/"), "posts");
  EXPECT_EQ(upstream_of(t, "", "GET", "/a/"), "first");
}

TEST(RouteTable, HostWithoutPort) {
  EXPECT_EQ(host_without_port("example.com:80"), "example.com");
  EXPECT_EQ(host_without_port("example.com"), "example.com");
  EXPECT_EQ(host_without_port("[::1]:8080"), "::1");
  EXPECT_EQ(host_without_port("[::1]"), "::1");
  EXPECT_EQ(host_without_port("example.com.:80"), "example.com");
  EXPECT_EQ(host_without_port(""), "");
}

}  // namespace
}  // namespace ringshard::proxy
