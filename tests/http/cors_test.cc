// Tests for http/cors.h: tables of preflight and actual requests against a
// few policies (an exact list with credentials, "*" without and with
// credentials), the header-name list parser, and config checking.
#include "http/cors.h"

#include <gtest/gtest.h>

#include <array>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ringshard::http {
namespace RS_UNITY_ID {

constexpr std::string_view kVary =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

CorsPolicy listed_policy() {
  return CorsPolicy(CorsConfig{
      .allow_origins = {"https://app.example", "HTTP://Dev.Example:8080", "null"},
      .allow_methods = {"GET", "PUT", "DELETE"},
      .allow_headers = {"Content-Type", "X-Request-Id", "Authorization"},
      .expose_headers = {"X-Trace"},
      .allow_credentials = true,
      .max_age_s = 600,
  });
}

CorsPolicy wildcard_policy() {
  return CorsPolicy(CorsConfig{
      .allow_origins = {"*"},
      .allow_methods = {"*"},
      .allow_headers = {"*"},
      .expose_headers = {"*"},
  });
}

CorsPolicy wildcard_credentials_policy() {
  return CorsPolicy(CorsConfig{
      .allow_origins = {"*"},
      .allow_methods = {"*"},
      .allow_headers = {"*"},
      .allow_credentials = true,
  });
}

struct PreflightCase {
  const char* name;
  std::string_view origin;
  std::string_view method;
  std::string_view headers;
  bool allowed;
  std::string_view allow_origin;
  std::string_view allow_methods;
  std::string_view allow_headers;
};

void run_preflight(const CorsPolicy& p, const PreflightCase& c,
                   std::string_view credentials, std::string_view max_age) {
  SCOPED_TRACE(c.name);
  const CorsPreflight r = decide_preflight(p, c.origin, c.method, c.headers);
  EXPECT_EQ(r.allowed, c.allowed) << r.reason;
  EXPECT_EQ(r.vary, kVary);
  if (!c.allowed) {
    EXPECT_FALSE(r.reason.empty());
    EXPECT_TRUE(r.allow_origin.empty());
    EXPECT_TRUE(r.allow_methods.empty());
    EXPECT_TRUE(r.allow_headers.empty());
    EXPECT_TRUE(r.allow_credentials.empty());
    EXPECT_TRUE(r.max_age.empty());
    return;
  }
  EXPECT_EQ(r.allow_origin, c.allow_origin);
  EXPECT_EQ(r.allow_methods, c.allow_methods);
  EXPECT_EQ(r.allow_headers, c.allow_headers);
  EXPECT_EQ(r.allow_credentials, credentials);
  EXPECT_EQ(r.max_age, max_age);
}

TEST(Cors, PreflightAgainstListWithCredentials) {
  const CorsPolicy p = listed_policy();
  constexpr std::string_view kMethods = "GET, PUT, DELETE";
  constexpr std::string_view kHeaders = "Content-Type, X-Request-Id, Authorization";
  const PreflightCase cases[] = {
      {"listed origin, listed method", "https://app.example", "PUT", "", true,
       "https://app.example", kMethods, kHeaders},
      {"origin echoed as sent", "HTTPS://APP.example", "PUT", "", true,
       "HTTPS://APP.example", kMethods, kHeaders},
      {"port must match", "http://dev.example:8080", "GET", "", true,
       "http://dev.example:8080", kMethods, kHeaders},
      {"other port", "http://dev.example:8081", "GET", "", false, {}, {}, {}},
      {"no port vs port", "http://dev.example", "GET", "", false, {}, {}, {}},
      {"other scheme", "http://app.example", "PUT", "", false, {}, {}, {}},
      {"suffix host", "https://app.example.evil", "PUT", "", false, {}, {}, {}},
      {"prefix host", "https://evilapp.example", "PUT", "", false, {}, {}, {}},
      {"trailing slash", "https://app.example/", "PUT", "", false, {}, {}, {}},
      {"path", "https://app.example/x", "PUT", "", false, {}, {}, {}},
      {"null listed", "null", "GET", "", true, "null", kMethods, kHeaders},
      {"unlisted method", "https://app.example", "PATCH", "", false, {}, {}, {}},
      {"methods are case-sensitive", "https://app.example", "put", "", false,
       {}, {}, {}},
      {"safelisted method always", "https://app.example", "POST", "", true,
       "https://app.example", kMethods, kHeaders},
      {"malformed method", "https://app.example", "P T", "", false, {}, {}, {}},
      {"headers case-insensitive", "https://app.example", "PUT",
       "content-type,x-request-id", true, "https://app.example", kMethods,
       kHeaders},
      {"headers with OWS and empties", "https://app.example", "PUT",
       " , content-type ,\t, AUTHORIZATION,", true, "https://app.example",
       kMethods, kHeaders},
      {"unlisted header", "https://app.example", "PUT", "content-type, x-other",
       false, {}, {}, {}},
      {"malformed header list", "https://app.example", "PUT",
       "content-type x-request-id", false, {}, {}, {}},
      {"non-token header", "https://app.example", "PUT", "content-type, x:y",
       false, {}, {}, {}},
      {"empty origin", "", "PUT", "", false, {}, {}, {}},
  };
  for (const PreflightCase& c : cases) run_preflight(p, c, "true", "600");
}

TEST(Cors, PreflightAgainstWildcardWithoutCredentials) {
  const CorsPolicy p = wildcard_policy();
  const PreflightCase cases[] = {
      {"any origin", "https://x.example:9", "PATCH", "x-a, x-b", true, "*", "*",
       "*"},
      {"opaque origin", "null", "GET", "", true, "*", "*", "*"},
      {"custom method", "https://x.example", "PURGE", "", true, "*", "*", "*"},
      {"wildcard does not cover authorization", "https://x.example", "GET",
       "x-a, Authorization", false, {}, {}, {}},
      {"malformed origin", "x.example", "GET", "", false, {}, {}, {}},
      {"origin with space", "https://x.example ", "GET", "", false, {}, {}, {}},
  };
  for (const PreflightCase& c : cases) run_preflight(p, c, "", "");
}

TEST(Cors, PreflightWildcardWithCredentialsEchoes) {
  const CorsPolicy p = wildcard_credentials_policy();
  const PreflightCase cases[] = {
      {"origin, method, headers echoed", "https://x.example", "PATCH",
       " x-a, x-b ", true, "https://x.example", "PATCH", "x-a, x-b"},
      {"no requested headers", "https://x.example", "GET", "", true,
       "https://x.example", "GET", ""},
      {"null never echoed with credentials", "null", "GET", "", false, {}, {},
       {}},
  };
  for (const PreflightCase& c : cases) run_preflight(p, c, "true", "");
}

TEST(Cors, AuthorizationListedBesideWildcard) {
  const CorsPolicy p(CorsConfig{.allow_origins = {"*"},
                                .allow_headers = {"*", "authorization"}});
  const CorsPreflight r =
      decide_preflight(p, "https://x.example", "GET", "authorization, x-a");
  EXPECT_TRUE(r.allowed) << r.reason;
  EXPECT_EQ(r.allow_headers, "*, authorization");
  EXPECT_TRUE(r.allow_methods.empty());  // none configured: safelisted only
}

struct SimpleCase {
  const char* name;
  std::string_view origin;
  bool allowed;
  std::string_view allow_origin;
};

TEST(Cors, SimpleRequests) {
  const CorsPolicy listed = listed_policy();
  const SimpleCase listed_cases[] = {
      {"listed", "https://app.example", true, "https://app.example"},
      {"unlisted", "https://evil.example", false, {}},
      {"no origin", "", false, {}},
      {"null listed", "null", true, "null"},
  };
  for (const SimpleCase& c : listed_cases) {
    SCOPED_TRACE(c.name);
    const CorsSimple r = decide_simple(listed, c.origin);
    EXPECT_EQ(r.allowed, c.allowed);
    EXPECT_EQ(r.allow_origin, c.allow_origin);
    EXPECT_EQ(r.vary, "Origin");  // even when denied: caches must split
    EXPECT_EQ(r.allow_credentials, c.allowed ? "true" : "");
    EXPECT_EQ(r.expose_headers, c.allowed ? "X-Trace" : "");
  }

  const CorsPolicy star = wildcard_policy();
  CorsSimple r = decide_simple(star, "https://any.example");
  EXPECT_TRUE(r.allowed);
  EXPECT_EQ(r.allow_origin, "*");
  EXPECT_EQ(r.vary, "");  // the same answer for every origin
  EXPECT_EQ(r.allow_credentials, "");
  EXPECT_EQ(r.expose_headers, "*");
  EXPECT_FALSE(decide_simple(star, "").allowed);

  const CorsPolicy star_creds = wildcard_credentials_policy();
  r = decide_simple(star_creds, "https://any.example");
  EXPECT_TRUE(r.allowed);
  EXPECT_EQ(r.allow_origin, "https://any.example");  // never "*"
  EXPECT_EQ(r.allow_credentials, "true");
  EXPECT_EQ(r.vary, "Origin");
  EXPECT_FALSE(decide_simple(star_creds, "null").allowed);
}

TEST(Cors, IsPreflight) {
  EXPECT_TRUE(is_preflight("OPTIONS", "https://a.example", "PUT"));
  EXPECT_FALSE(is_preflight("OPTIONS", "", "PUT"));
  EXPECT_FALSE(is_preflight("OPTIONS", "https://a.example", ""));
  EXPECT_FALSE(is_preflight("GET", "https://a.example", "PUT"));
  EXPECT_FALSE(is_preflight("options", "https://a.example", "PUT"));
}

TEST(Cors, HeaderNameListParser) {
  std::array<std::string_view, 8> out;
  struct Case {
    std::string_view in;
    std::optional<size_t> count;
  };
  const Case cases[] = {
      {"", 0},
      {" , ,\t", 0},
      {"a", 1},
      {"a,b", 2},
      {" a ,\tb\t, c ", 3},
      {"a,,b", 2},
      {"a b", std::nullopt},
      {"a;b", std::nullopt},
      {"a,\"b\"", std::nullopt},
      {"a,\xff", std::nullopt},
      {"1,2,3,4,5,6,7,8", 8},
      {"1,2,3,4,5,6,7,8,9", std::nullopt},  // more than out holds
  };
  for (const Case& c : cases) {
    EXPECT_EQ(parse_header_name_list(c.in, out), c.count) << c.in;
  }
  ASSERT_EQ(parse_header_name_list(" x-a ,\tX-B", out), 2u);
  EXPECT_EQ(out[0], "x-a");
  EXPECT_EQ(out[1], "X-B");

  std::array<std::string_view, 128> big;
  std::string many;
  for (size_t i = 0; i < kCorsMaxRequestHeaders + 1; ++i) many += "h,";
  EXPECT_FALSE(parse_header_name_list(many, big));
  EXPECT_FALSE(parse_header_name_list(
      std::string(kCorsMaxRequestHeadersBytes + 1, 'a'), big));
}

TEST(Cors, RejectsBadConfig) {
  auto build = [](CorsConfig c) { CorsPolicy p(std::move(c)); };
  EXPECT_THROW(build({}), std::invalid_argument);
  for (const char* origin : {"app.example", "https://", "https://a/", "https://a:x",
                             "https://a:70000", "https://a b", "*.example"}) {
    EXPECT_THROW(build({.allow_origins = {origin}}), std::invalid_argument)
        << origin;
  }
  EXPECT_THROW(build({.allow_origins = {"*"}, .allow_methods = {"G T"}}),
               std::invalid_argument);
  EXPECT_THROW(build({.allow_origins = {"*"}, .allow_headers = {"a:b"}}),
               std::invalid_argument);
  EXPECT_THROW(build({.allow_origins = {"*"},
                      .expose_headers = {"*"},
                      .allow_credentials = true}),
               std::invalid_argument);
  EXPECT_NO_THROW(build({.allow_origins = {"https://[::1]:8443", "http://127.0.0.1"}}));
}

TEST(Cors, Ipv6Origin) {
  const CorsPolicy p(CorsConfig{.allow_origins = {"https://[::1]:8443"}});
  EXPECT_TRUE(decide_simple(p, "https://[::1]:8443").allowed);
  EXPECT_FALSE(decide_simple(p, "https://[::2]:8443").allowed);
  EXPECT_FALSE(decide_simple(p, "https://[::1").allowed);
}

}  // namespace
}  // namespace ringshard::http
