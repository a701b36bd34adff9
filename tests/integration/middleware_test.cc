// The built-in middleware (http/mw_*.h) and the chain Options build
// (server/middleware_setup.h), live over loopback sockets: request ids and
// trace context, security headers (HSTS over TLS only), CORS preflights and
// actual requests, bearer/API-key authentication.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "http/mw_auth.h"
#include "http/mw_cors.h"
#include "http/mw_request_id.h"
#include "http/mw_security_headers.h"
#include "http/server.h"
#include "obs/prometheus.h"
#include "server/middleware_setup.h"
#include "tests/integration/routes.h"
#include "tests/support/http_client.h"
#include "tests/support/test_server.h"
#include "tls/digest.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

// The options' own middleware off: each test adds exactly what it checks
// (whether or not ServerApp builds the chain from Options yet).
void no_option_middleware(server::Options& o) {
  o.request_id_enabled = false;
  o.trace_context_enabled = false;
  o.security_headers_enabled = false;
  o.cors_enabled = false;
  o.auth_enabled = false;
}

// GET /ctx answers what the middleware left in the request's context;
// GET /hello (GET only), GET /framed (sets its own X-Frame-Options).
void add_middleware_routes(http::Router& r) {
  add_test_routes(r);
  r.add(http::Method::kGet, "/ctx", [](http::ServerRequest&, http::Response& res) {
    const http::RequestContext* ctx = res.context();
    if (ctx == nullptr) return res.send(500, "text/plain", "no context");
    std::string body = "id=" + std::string(ctx->request_id_view());
    if (ctx->has_trace) {
      body += " trace=" + std::string(ctx->trace_id, 32) + " span=" + std::string(ctx->span_id, 16);
      body += ctx->keep_tracestate ? " keep=1" : " keep=0";
    }
    res.send(200, "text/plain", body);
  });
  r.add(http::Method::kGet, "/hello", [](http::ServerRequest&, http::Response& res) {
    res.send(200, "text/plain", "hello");
  });
  r.add(http::Method::kGet, "/framed", [](http::ServerRequest&, http::Response& res) {
    res.header("X-Frame-Options", "SAMEORIGIN");
    res.send(200, "text/plain", "framed");
  });
  for (const char* p : {"/v1/items", "/admin/stats", "/open"}) {
    r.add(http::Method::kGet, p, [](http::ServerRequest&, http::Response& res) {
      res.send(200, "text/plain", "ok");
    });
  }
  r.add(http::Method::kPost, "/v1/deploy", [](http::ServerRequest&, http::Response& res) {
    res.send(200, "text/plain", "deployed");
  });
}

TestServerOptions with(std::vector<const http::Middleware*> chain, unsigned shards = 2) {
  TestServerOptions o;
  o.shards = shards;
  o.tweak = no_option_middleware;
  o.routes = add_middleware_routes;
  o.setup = [chain](server::ServerApp& app) {
    for (const http::Middleware* m : chain) app.add_middleware(m);
  };
  return o;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// How many header lines named `name` (lowercase) a raw response head has.
size_t count_header(const std::string& raw, const std::string& name) {
  const std::string head = lower(raw.substr(0, raw.find("\r\n\r\n")));
  size_t n = 0;
  for (size_t at = head.find("\r\n" + name + ":"); at != std::string::npos;
       at = head.find("\r\n" + name + ":", at + 1)) {
    ++n;
  }
  return n;
}

// One request on a fresh connection, closed after it: the raw bytes.
std::string raw_exchange(uint16_t port, const std::string& request_head_lines) {
  TestConnection c(port);
  EXPECT_TRUE(c.send(request_head_lines + "Connection: close\r\n\r\n"));
  return c.read_all();
}

std::optional<HttpResponse> ask(TestConnection& c, const std::string& request) {
  if (!c.send(request)) return std::nullopt;
  return c.read_response(request.starts_with("HEAD "));
}

bool hex32(const std::string& s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The value after "key=" in a /ctx body, up to the next space.
std::string field(const std::string& body, const std::string& key) {
  const size_t at = body.find(key + "=");
  if (at == std::string::npos) return {};
  const size_t from = at + key.size() + 1;
  return body.substr(from, body.find(' ', from) - from);
}

// --- request id and trace context ---------------------------------------------

TEST(MiddlewareRequestId, GeneratedWhenAbsentAndEchoedOnTheResponse) {
  http::RequestIdMiddleware mw(2, true, true);
  TestServer server(with({&mw}));
  TestConnection c(server.port());
  auto a = ask(c, "GET /ctx HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(a) << c.error();
  EXPECT_EQ(a->status, 200);
  const std::string id = a->header("x-request-id");
  EXPECT_TRUE(hex32(id)) << id;
  EXPECT_EQ(field(a->body, "id"), id);
  auto b = ask(c, "GET /ctx HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(b) << c.error();
  EXPECT_TRUE(hex32(b->header("x-request-id")));
  EXPECT_NE(b->header("x-request-id"), id);
  // Uniform digits: all sixteen turn up in a few ids (ids and trace ids).
  std::string digits;
  for (int i = 0; i < 20; ++i) {
    auto r = ask(c, "GET /ctx HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(r) << c.error();
    ASSERT_TRUE(hex32(r->header("x-request-id"))) << r->header("x-request-id");
    digits += r->header("x-request-id") + field(r->body, "trace") + field(r->body, "span");
  }
  for (char d : std::string("0123456789abcdef")) {
    EXPECT_NE(digits.find(d), std::string::npos) << d;
  }
  EXPECT_EQ(digits.find_first_not_of("0123456789abcdef"), std::string::npos) << digits;
  // Built-in routes too, and never a traceparent on the response.
  auto p = ask(c, "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(p) << c.error();
  EXPECT_TRUE(hex32(p->header("x-request-id")));
  EXPECT_EQ(p->header("traceparent"), "");
}

TEST(MiddlewareRequestId, ValidIncomingIdIsPassedThrough) {
  http::RequestIdMiddleware mw(2, true, true);
  TestServer server(with({&mw}));
  TestConnection c(server.port());
  const std::string id = "Req-42_a.b~c+d/e=";
  auto r = ask(c, "GET /ctx HTTP/1.1\r\nHost: x\r\nX-Request-Id: " + id + "\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->header("x-request-id"), id);
  EXPECT_EQ(field(r->body, "id"), id);
  const std::string longest(200, 'z');
  r = ask(c, "GET /ctx HTTP/1.1\r\nHost: x\r\nX-Request-ID: " + longest + "\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->header("x-request-id"), longest);
  // Exactly one X-Request-ID on the wire.
  EXPECT_EQ(count_header(raw_exchange(server.port(),
                                      "GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-ID: one\r\n"),
                         "x-request-id"),
            1u);
}

TEST(MiddlewareRequestId, InvalidIncomingIdIsReplaced) {
  http::RequestIdMiddleware mw(2, true, true);
  TestServer server(with({&mw}));
  TestConnection c(server.port());
  for (const std::string& bad : {std::string("has space"), std::string("quote\"d"),
                                std::string(201, 'z'), std::string("semi;colon")}) {
    auto r = ask(c, "GET /ctx HTTP/1.1\r\nHost: x\r\nX-Request-ID: " + bad + "\r\n\r\n");
    ASSERT_TRUE(r) << c.error();
    EXPECT_TRUE(hex32(r->header("x-request-id"))) << bad << " -> " << r->header("x-request-id");
    EXPECT_EQ(field(r->body, "id"), r->header("x-request-id"));
  }
}

TEST(MiddlewareRequestId, ErrorBodiesNameTheRequestId) {
  http::RequestIdMiddleware mw(2, true, true);
  TestServer server(with({&mw}));
  TestConnection c(server.port());
  auto r = ask(c, "GET /nowhere HTTP/1.1\r\nHost: x\r\nX-Request-ID: lost-1\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->header("x-request-id"), "lost-1");
  EXPECT_NE(r->body.find(R"("details":{"request_id":"lost-1"})"), std::string::npos) << r->body;
  // 405 with a generated id: the body names the id the header carries.
  r = ask(c, "DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 405);
  const std::string id = r->header("x-request-id");
  ASSERT_TRUE(hex32(id));
  EXPECT_NE(r->body.find(R"("request_id":")" + id + "\""), std::string::npos) << r->body;
}

TEST(MiddlewareRequestId, DeferredAnswersCarryTheId) {
  http::RequestIdMiddleware mw(2, true, true);
  TestServer server(with({&mw}));
  TestConnection c(server.port());
  auto r = ask(c, "GET /async?x HTTP/1.1\r\nHost: x\r\nX-Request-ID: later-7\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("x-request-id"), "later-7");
}

TEST(MiddlewareTrace, ValidTraceparentKeepsTheTraceWithANewSpan) {
  http::RequestIdMiddleware mw(2, true, true);
  TestServer server(with({&mw}));
  TestConnection c(server.port());
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string parent = "00f067aa0ba902b7";
  auto r = ask(c, "GET /ctx HTTP/1.1\r\nHost: x\r\ntraceparent: 00-" + trace + "-" + parent +
                      "-01\r\ntracestate: vendor=1\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(field(r->body, "trace"), trace) << r->body;
  const std::string span = field(r->body, "span");
  EXPECT_EQ(span.size(), 16u);
  EXPECT_NE(span, parent);
  EXPECT_NE(span, "0000000000000000");
  EXPECT_EQ(field(r->body, "keep"), "1");
  EXPECT_EQ(r->header("traceparent"), "");
}

TEST(MiddlewareTrace, MissingOrInvalidTraceparentStartsANewTrace) {
  http::RequestIdMiddleware mw(2, true, true);
  TestServer server(with({&mw}));
  TestConnection c(server.port());
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string valid = "00-" + trace + "-00f067aa0ba902b7-01";
  for (const std::string& extra :
       {std::string(),
        std::string("traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01\r\n"),
        std::string("traceparent: 00-00000000000000000000000000000000-00f067aa0ba902b7-01\r\n"),
        "traceparent: ff-" + trace + "-00f067aa0ba902b7-01\r\n",
        // Sent twice: invalid even though each copy is valid.
        "traceparent: " + valid + "\r\ntraceparent: " + valid + "\r\n"}) {
    auto r = ask(c, "GET /ctx HTTP/1.1\r\nHost: x\r\n" + extra + "tracestate: v=1\r\n\r\n");
    ASSERT_TRUE(r) << c.error();
    const std::string got = field(r->body, "trace");
    EXPECT_TRUE(hex32(got)) << r->body;
    EXPECT_NE(got, trace) << extra;
    EXPECT_NE(lower(got), lower(trace)) << extra;
    EXPECT_EQ(field(r->body, "keep"), "0") << extra;  // tracestate dropped
  }
}

TEST(MiddlewareTrace, EachHalfCanBeOnAlone) {
  http::RequestIdMiddleware trace_only(2, false, true);
  {
    TestServer server(with({&trace_only}));
    TestConnection c(server.port());
    auto r = ask(c, "GET /ctx HTTP/1.1\r\nHost: x\r\nX-Request-ID: ignored\r\n\r\n");
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->header("x-request-id"), "");
    EXPECT_EQ(field(r->body, "id"), "");
    EXPECT_TRUE(hex32(field(r->body, "trace"))) << r->body;
  }
  http::RequestIdMiddleware id_only(2, true, false);
  TestServer server(with({&id_only}));
  TestConnection c(server.port());
  auto r = ask(c, "GET /ctx HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_TRUE(hex32(r->header("x-request-id")));
  EXPECT_EQ(r->body.find("trace="), std::string::npos) << r->body;
}

// --- security headers ------------------------------------------------------------

http::SecurityHeadersConfig security_config() {
  return {.hsts = "max-age=600",
          .frame_options = "DENY",
          .referrer_policy = "no-referrer",
          .content_security_policy = "default-src 'none'"};
}

TEST(MiddlewareSecurityHeaders, PresentOnEveryAnswerAndNoHstsOverPlainHttp) {
  http::SecurityHeadersMiddleware mw(security_config());
  TestServer server(with({&mw}));
  TestConnection c(server.port());
  for (const char* req : {"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                          "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
                          "GET /stream?100 HTTP/1.1\r\nHost: x\r\n\r\n",
                          "GET /async?q HTTP/1.1\r\nHost: x\r\n\r\n"}) {
    auto r = ask(c, req);
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->header("x-content-type-options"), "nosniff") << req;
    EXPECT_EQ(r->header("x-frame-options"), "DENY") << req;
    EXPECT_EQ(r->header("referrer-policy"), "no-referrer") << req;
    EXPECT_EQ(r->header("content-security-policy"), "default-src 'none'") << req;
    EXPECT_EQ(r->header("strict-transport-security"), "") << req;
  }
  // The error document's own nosniff is not doubled; a handler's value wins.
  const std::string raw = raw_exchange(server.port(), "GET /nowhere HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(count_header(raw, "x-content-type-options"), 1u) << raw;
  const std::string framed = raw_exchange(server.port(), "GET /framed HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(count_header(framed, "x-frame-options"), 1u) << framed;
  EXPECT_NE(framed.find("X-Frame-Options: SAMEORIGIN"), std::string::npos) << framed;
}

TEST(MiddlewareSecurityHeaders, EmptyValuesSendNothing) {
  http::SecurityHeadersMiddleware mw(http::SecurityHeadersConfig{
      .hsts = "", .frame_options = "", .referrer_policy = "", .content_security_policy = ""});
  TestServer server(with({&mw}));
  auto r = get(server.port(), "/hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r->header("x-frame-options"), "");
  EXPECT_EQ(r->header("referrer-policy"), "");
  EXPECT_EQ(r->header("content-security-policy"), "");
}

TEST(MiddlewareSecurityHeaders, HstsOnlyOverTls) {
  http::SecurityHeadersMiddleware mw(security_config());
  TestServerOptions o = with({&mw});
  o.tls = true;
  TestServer server(o);
  TestConnection t(server.tls_port());
  ASSERT_TRUE(t.start_tls()) << t.error();
  auto r = ask(t, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r) << t.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("strict-transport-security"), "max-age=600");
  EXPECT_EQ(r->header("x-content-type-options"), "nosniff");
  r = ask(t, "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r) << t.error();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->header("strict-transport-security"), "max-age=600");
  // The same server's plain listener: none.
  auto p = get(server.port(), "/hello");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header("strict-transport-security"), "");
  EXPECT_EQ(p->header("x-frame-options"), "DENY");
}

// --- CORS -------------------------------------------------------------------------

http::CorsConfig credentialed_cors() {
  return {.allow_origins = {"https://app.example"},
          .allow_methods = {"GET", "PUT", "DELETE"},
          .allow_headers = {"Content-Type", "X-Request-ID", "Authorization"},
          .expose_headers = {"X-Request-ID"},
          .allow_credentials = true,
          .max_age_s = 600};
}

constexpr const char* kPreflightVary =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

TEST(MiddlewareCors, PreflightOnAGetOnlyRouteIsAnswered204) {
  http::CorsMiddleware mw(credentialed_cors());
  TestServer server(with({&mw}));
  TestConnection c(server.port());
  for (const char* path : {"/hello", "/no/such/route"}) {
    auto r = ask(c, std::string("OPTIONS ") + path +
                        " HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
                        "Access-Control-Request-Method: PUT\r\n"
                        "Access-Control-Request-Headers: content-type, x-request-id\r\n\r\n");
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, 204) << path;
    EXPECT_EQ(r->header("access-control-allow-origin"), "https://app.example");
    EXPECT_EQ(r->header("access-control-allow-credentials"), "true");
    EXPECT_NE(r->header("access-control-allow-methods").find("PUT"), std::string::npos);
    EXPECT_NE(lower(r->header("access-control-allow-headers")).find("x-request-id"),
              std::string::npos);
    EXPECT_EQ(r->header("access-control-max-age"), "600");
    EXPECT_EQ(r->header("vary"), kPreflightVary);
    EXPECT_EQ(r->body, "");
  }
  // OPTIONS without Access-Control-Request-Method is no preflight: the
  // router answers it (405 on a GET-only path), with the simple headers.
  auto r = ask(c, "OPTIONS /hello HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("access-control-allow-origin"), "https://app.example");
}

TEST(MiddlewareCors, ActualRequestsEchoTheOriginNeverAStarWithCredentials) {
  http::CorsMiddleware mw(credentialed_cors());
  TestServer server(with({&mw}));
  TestConnection c(server.port());
  auto r = ask(c, "GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("access-control-allow-origin"), "https://app.example");
  EXPECT_EQ(r->header("access-control-allow-credentials"), "true");
  EXPECT_EQ(r->header("access-control-expose-headers"), "X-Request-ID");
  EXPECT_EQ(r->header("vary"), "Origin");
  // Deferred answers and 404s carry them too.
  r = ask(c, "GET /async?q HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("access-control-allow-origin"), "https://app.example");
  r = ask(c, "GET /nowhere HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->header("access-control-allow-origin"), "https://app.example");
  // No Origin: no Access-Control-*, but Vary for caches.
  r = ask(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->header("access-control-allow-origin"), "");
  EXPECT_EQ(r->header("vary"), "Origin");
}

TEST(MiddlewareCors, DisallowedOriginGetsNoCorsHeaders) {
  http::CorsMiddleware mw(credentialed_cors());
  TestServer server(with({&mw}));
  TestConnection c(server.port());
  for (const char* origin : {"https://evil.example", "http://app.example",
                             "https://app.example:8443", "null"}) {
    auto r = ask(c, std::string("OPTIONS /hello HTTP/1.1\r\nHost: x\r\nOrigin: ") + origin +
                        "\r\nAccess-Control-Request-Method: PUT\r\n\r\n");
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, 204) << origin;
    for (const auto& [name, value] : r->headers) {
      EXPECT_FALSE(name.starts_with("access-control-")) << origin << ": " << name;
    }
    EXPECT_EQ(r->header("vary"), kPreflightVary);
    r = ask(c, std::string("GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: ") + origin + "\r\n\r\n");
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, 200);
    for (const auto& [name, value] : r->headers) {
      EXPECT_FALSE(name.starts_with("access-control-")) << origin << ": " << name;
    }
    EXPECT_EQ(r->header("vary"), "Origin");
  }
  // A method the policy does not allow: denied the same way.
  auto r = ask(c, "OPTIONS /hello HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
                  "Access-Control-Request-Method: PATCH\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("access-control-allow-origin"), "");
}

TEST(MiddlewareCors, WildcardOriginIsAStarOnlyWithoutCredentials) {
  http::CorsMiddleware open(http::CorsConfig{.allow_origins = {"*"}, .allow_methods = {"*"}});
  http::CorsMiddleware creds(
      http::CorsConfig{.allow_origins = {"*"}, .allow_methods = {"*"}, .allow_credentials = true});
  {
    TestServer server(with({&open}));
    TestConnection c(server.port());
    auto r = ask(c, "GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: https://any.example\r\n\r\n");
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->header("access-control-allow-origin"), "*");
    EXPECT_EQ(r->header("access-control-allow-credentials"), "");
    EXPECT_EQ(r->header("vary"), "");
  }
  TestServer server(with({&creds}));
  TestConnection c(server.port());
  auto r = ask(c, "GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: https://any.example\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->header("access-control-allow-origin"), "https://any.example");
  EXPECT_EQ(r->header("access-control-allow-credentials"), "true");
  EXPECT_EQ(r->header("vary"), "Origin");
  r = ask(c, "OPTIONS /v1/x HTTP/1.1\r\nHost: x\r\nOrigin: https://any.example\r\n"
             "Access-Control-Request-Method: PATCH\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("access-control-allow-origin"), "https://any.example");
  EXPECT_EQ(r->header("access-control-allow-methods"), "PATCH");
}

// --- authentication ---------------------------------------------------------------

http::AuthConfig auth_config() {
  http::AuthConfig c;
  c.credentials = {
      {"ci", http::CredentialKind::kBearer, tls::sha256_hex("deploy-token"), {"deploy"}},
      {"reader", http::CredentialKind::kBearer, tls::sha256_hex("read-token"), {}},
      {"ops", http::CredentialKind::kApiKey, tls::sha256_hex("ops-key"), {"admin"}},
  };
  c.rules = {{"/v1/deploy", {"POST"}, "deploy"}, {"/admin", {}, "admin"}, {"/v1/", {}, ""}};
  return c;
}

TEST(MiddlewareAuth, RefusalsAndAdmissionsOnOneConnection) {
  http::RequestIdMiddleware ids(2, true, false);
  http::AuthMiddleware auth(auth_config(), 2);
  TestServer server(with({&ids, &auth}));
  TestConnection c(server.port());
  // No credential: 401 with the plain challenge and the error document.
  auto r = ask(c, "GET /v1/items HTTP/1.1\r\nHost: x\r\nX-Request-ID: a-1\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->header("www-authenticate"), R"(Bearer realm="ringshard")");
  EXPECT_EQ(r->header("content-type"), "application/json");
  EXPECT_NE(r->body.find(R"("code":"unauthorized")"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find(R"("request_id":"a-1")"), std::string::npos) << r->body;
  // A wrong token: invalid_token.
  r = ask(c, "GET /v1/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->header("www-authenticate"), R"(Bearer realm="ringshard", error="invalid_token")");
  EXPECT_EQ(r->body.find("nope"), std::string::npos);
  // A valid token: any credential will do for /v1/.
  r = ask(c, "GET /v1/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer read-token\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  // Without the scope: 403.
  r = ask(c, "POST /v1/deploy HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer read-token\r\n"
             "Content-Length: 0\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->header("www-authenticate"),
            R"(Bearer realm="ringshard", error="insufficient_scope", scope="deploy")");
  EXPECT_NE(r->body.find(R"("code":"forbidden")"), std::string::npos) << r->body;
  // With it: 200 (the scheme is case-insensitive).
  r = ask(c, "POST /v1/deploy HTTP/1.1\r\nHost: x\r\nAuthorization: bearer deploy-token\r\n"
             "Content-Length: 0\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "deployed");
  // An API key for /admin; a bearer token without the admin scope is 403.
  r = ask(c, "GET /admin/stats HTTP/1.1\r\nHost: x\r\nX-API-Key: ops-key\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  r = ask(c, "GET /admin/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer deploy-token\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 403);
  // The key is not a bearer token.
  r = ask(c, "GET /admin/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ops-key\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 401);
  // Malformed: 400 invalid_request; so are two Authorization fields.
  r = ask(c, "GET /v1/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->header("www-authenticate"), R"(Bearer realm="ringshard", error="invalid_request")");
  r = ask(c, "GET /v1/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer read-token\r\n"
             "Authorization: Bearer deploy-token\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 400);
  // Not covered by any rule: nothing needed, even with a bad credential.
  r = ask(c, "GET /open HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  r = ask(c, "GET /plaintext HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  // HEAD is covered like GET.
  r = ask(c, "HEAD /v1/items HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 401);

  // Counted per decision; requests no rule covers are not.
  const http::AuthDecisionCounts n = auth.counts();
  EXPECT_EQ(n.allowed, 3u);
  EXPECT_EQ(n.unauthorized, 4u);
  EXPECT_EQ(n.forbidden, 2u);
  EXPECT_EQ(n.bad_request, 2u);
  std::string text;
  obs::PrometheusWriter w(text);
  auth.write_metrics(w);
  EXPECT_TRUE(w.ok()) << w.error();
  EXPECT_NE(text.find("# TYPE ringshard_auth_decisions_total counter"), std::string::npos);
  EXPECT_NE(text.find(R"(ringshard_auth_decisions_total{result="allowed"} 3)"),
            std::string::npos) << text;
  EXPECT_NE(text.find(R"(ringshard_auth_decisions_total{result="unauthorized"} 4)"),
            std::string::npos) << text;
  EXPECT_NE(text.find(R"(ringshard_auth_decisions_total{result="forbidden"} 2)"),
            std::string::npos) << text;
  EXPECT_NE(text.find(R"(ringshard_auth_decisions_total{result="bad_request"} 2)"),
            std::string::npos) << text;

  // Other connections are served as before.
  auto other = get(server.port(), "/hello");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
}

TEST(MiddlewareAuth, CorsPreflightIsAnsweredBeforeAuthAndRefusalsCarryCors) {
  http::CorsMiddleware cors(credentialed_cors());
  http::AuthMiddleware auth(auth_config(), 2);
  TestServer server(with({&cors, &auth}));
  TestConnection c(server.port());
  auto r = ask(c, "OPTIONS /v1/items HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
                  "Access-Control-Request-Method: GET\r\n"
                  "Access-Control-Request-Headers: authorization\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("access-control-allow-origin"), "https://app.example");
  r = ask(c, "GET /v1/items HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 401);
  // The browser script may read the refusal.
  EXPECT_EQ(r->header("access-control-allow-origin"), "https://app.example");
  EXPECT_EQ(auth.counts().unauthorized, 1u);
}

// --- the chain Options build ----------------------------------------------------

TEST(MiddlewareSetup, OrderFollowsTheOptions) {
  server::Options o;
  std::string error;
  server::BuiltMiddleware b = server::build_middleware(o, 2, error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(b.chain.size(), 1u);  // ids and trace context are on by default
  EXPECT_NE(dynamic_cast<const http::RequestIdMiddleware*>(b.chain[0]), nullptr);

  o.cors_enabled = o.security_headers_enabled = o.auth_enabled = true;
  o.auth_tokens = {{"ci", tls::sha256_hex("t"), {"deploy"}}};
  o.auth_rules = {{"/v1/", {}, ""}};
  b = server::build_middleware(o, 2, error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(b.chain.size(), 4u);
  ASSERT_EQ(b.owned.size(), 4u);
  EXPECT_NE(dynamic_cast<const http::RequestIdMiddleware*>(b.chain[0]), nullptr);
  EXPECT_NE(dynamic_cast<const http::CorsMiddleware*>(b.chain[1]), nullptr);
  EXPECT_NE(dynamic_cast<const http::SecurityHeadersMiddleware*>(b.chain[2]), nullptr);
  EXPECT_NE(dynamic_cast<const http::AuthMiddleware*>(b.chain[3]), nullptr);
  for (size_t i = 0; i < b.chain.size(); ++i) EXPECT_EQ(b.chain[i], b.owned[i].get());

  o.request_id_enabled = o.trace_context_enabled = false;
  o.cors_enabled = o.security_headers_enabled = o.auth_enabled = false;
  b = server::build_middleware(o, 2, error);
  EXPECT_TRUE(b.chain.empty());
}

TEST(MiddlewareSetup, ConfigurationsThePiecesRefuseAreErrors) {
  std::string error;
  server::Options o;
  o.cors_enabled = true;
  o.cors_allow_origins = {"https://app.example/path"};
  auto b = server::build_middleware(o, 2, error);
  EXPECT_TRUE(b.chain.empty());
  EXPECT_TRUE(b.owned.empty());
  EXPECT_TRUE(error.starts_with("cors: ")) << error;

  o = {};
  o.auth_enabled = true;
  o.auth_tokens = {{"ci", "not-hex", {}}};
  b = server::build_middleware(o, 2, error);
  EXPECT_TRUE(b.chain.empty());
  EXPECT_TRUE(error.starts_with("auth: ")) << error;

  // One name for a token and a key: the store keeps names unique.
  o = {};
  o.auth_enabled = true;
  o.auth_tokens = {{"ci", tls::sha256_hex("a"), {}}};
  o.auth_api_keys = {{"ci", tls::sha256_hex("b"), {}}};
  b = server::build_middleware(o, 2, error);
  EXPECT_TRUE(error.starts_with("auth: ")) << error;

  o = {};
  o.security_headers_enabled = true;
  o.content_security_policy = "default-src 'none'\r\nX-Evil: 1";
  b = server::build_middleware(o, 2, error);
  EXPECT_TRUE(b.chain.empty());
  EXPECT_TRUE(error.starts_with("security_headers: ")) << error;
}

TEST(MiddlewareSetup, TheBuiltChainServes) {
  server::Options opts;
  opts.security_headers_enabled = true;
  opts.cors_enabled = true;
  opts.cors_allow_origins = {"https://app.example"};
  opts.cors_allow_credentials = true;
  opts.auth_enabled = true;
  opts.auth_api_keys = {{"ops", tls::sha256_hex("ops-key"), {"admin"}}};
  opts.auth_rules = {{"/admin", {}, "admin"}};
  std::string error;
  server::BuiltMiddleware built = server::build_middleware(opts, 2, error);
  ASSERT_EQ(error, "");
  TestServer server(with(built.chain));
  TestConnection c(server.port());
  auto r = ask(c, "GET /admin/stats HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
                  "X-Request-ID: chain-1\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->header("x-request-id"), "chain-1");
  EXPECT_EQ(r->header("access-control-allow-origin"), "https://app.example");
  EXPECT_EQ(r->header("x-frame-options"), "DENY");
  EXPECT_NE(r->body.find(R"("request_id":"chain-1")"), std::string::npos) << r->body;
  r = ask(c, "GET /admin/stats HTTP/1.1\r\nHost: x\r\nX-API-Key: ops-key\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(hex32(r->header("x-request-id")));
  r = ask(c, "OPTIONS /admin/stats HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
             "Access-Control-Request-Method: DELETE\r\n\r\n");
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("access-control-allow-origin"), "https://app.example");
  EXPECT_EQ(r->header("access-control-max-age"), "600");
  EXPECT_EQ(r->header("x-content-type-options"), "nosniff");
}

}  // namespace
}  // namespace ringshard::test
