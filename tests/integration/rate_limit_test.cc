// The rate-limit middleware (http/mw_rate_limit.h) in a live server: exact
// admission counts under concurrent load on two shards, the headers of
// admitted and refused responses, the 429 body, key kinds, and its setup
// from Options (server/rate_limit_setup.h).
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "http/mw_rate_limit.h"
#include "http/server.h"
#include "obs/prometheus.h"
#include "server/rate_limit_setup.h"
#include "tests/integration/routes.h"
#include "tests/support/http_client.h"
#include "tests/support/test_server.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

constexpr uint64_t kHour = 3600;

server::RateLimitRule rule(std::string name, std::string match, std::string key, uint64_t burst,
                           std::string rate = "1/h") {
  return {std::move(name), std::move(match), std::move(key), burst, std::move(rate)};
}

std::unique_ptr<http::Middleware> make(std::vector<server::RateLimitRule> rules,
                                       unsigned shards = 2) {
  server::Options o;
  o.rate_limits = std::move(rules);
  std::string error;
  auto mw = server::make_rate_limit_middleware(o, shards, error);
  EXPECT_TRUE(mw) << error;
  return mw;
}

// A server whose global middleware is `before` (may be null) then `mw`,
// with the integration routes plus GET /limited/{name} and /open.
TestServerOptions server_with(const http::Middleware* mw, const http::Middleware* before = nullptr) {
  TestServerOptions o;
  o.shards = 2;
  // Only the middleware under test: the default request id would change
  // the bodies compared byte for byte.
  o.tweak = [](server::Options& opt) {
    opt.request_id_enabled = false;
    opt.trace_context_enabled = false;
  };
  o.routes = [](http::Router& r) {
    add_test_routes(r);
    r.add(http::Method::kGet, "/limited/{name}",
          [](http::ServerRequest&, http::Response& res) { res.send(200, "text/plain", "ok"); });
    r.add(http::Method::kGet, "/open",
          [](http::ServerRequest&, http::Response& res) { res.send(200, "text/plain", "ok"); });
  };
  o.setup = [mw, before](server::ServerApp& app) {
    if (before != nullptr) app.add_middleware(before);
    app.add_middleware(mw);
  };
  return o;
}

std::string get_request(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

HttpResponse fetch(uint16_t port, const std::string& path, const std::string& extra = "") {
  TestConnection c(port);
  EXPECT_TRUE(c.send(get_request(path, extra)));
  auto r = c.read_response();
  EXPECT_TRUE(r) << c.error();
  return r ? *r : HttpResponse{};
}

std::string refusal_body(uint64_t seconds, const std::string& request_id = "") {
  std::string details = request_id.empty() ? "{}" : R"({"request_id":")" + request_id + R"("})";
  return R"({"error":{"code":"rate_limit_exceeded","message":"Rate limit exceeded. Retry after )" +
         std::to_string(seconds) + R"( seconds.","details":)" + details + "}}";
}

// With a rate of 1/h and a test far shorter than an hour, the clock is as
// good as frozen: a full bucket of B admits exactly B, and the k-th
// admission (k = 1..B) leaves B - k remaining and a reset k hours away.
void expect_admitted_headers(const HttpResponse& r, const std::string& name, uint64_t burst) {
  const uint64_t remaining = std::stoull(r.header("x-ratelimit-remaining"));
  ASSERT_LT(remaining, burst);
  const uint64_t k = burst - remaining;
  EXPECT_EQ(r.header("x-ratelimit-limit"), std::to_string(burst));
  EXPECT_EQ(r.header("x-ratelimit-reset"), std::to_string(k * kHour));
  EXPECT_EQ(r.header("ratelimit-policy"),
            "\"" + name + "\";q=" + std::to_string(burst) + ";w=" + std::to_string(burst * kHour));
  EXPECT_EQ(r.header("ratelimit"), "\"" + name + "\";r=" + std::to_string(remaining) +
                                       ";t=" + std::to_string(k * kHour));
  EXPECT_EQ(r.header("retry-after"), "");
}

void expect_refused(const HttpResponse& r, const std::string& name, uint64_t burst,
                    const std::string& request_id = "") {
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), std::to_string(kHour));
  EXPECT_EQ(r.header("x-ratelimit-limit"), std::to_string(burst));
  EXPECT_EQ(r.header("x-ratelimit-remaining"), "0");
  EXPECT_EQ(r.header("x-ratelimit-reset"), std::to_string(burst * kHour));
  EXPECT_EQ(r.header("ratelimit-policy"),
            "\"" + name + "\";q=" + std::to_string(burst) + ";w=" + std::to_string(burst * kHour));
  EXPECT_EQ(r.header("ratelimit"), "\"" + name + "\";r=0;t=" + std::to_string(kHour));
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.body, refusal_body(kHour, request_id));
}

bool has_rate_limit_headers(const HttpResponse& r) {
  for (const char* h : {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
                        "ratelimit-policy", "ratelimit", "retry-after"}) {
    if (r.headers.count(h) != 0) return true;
  }
  return false;
}

// Several client threads, each over many keep-alive connections, hammer
// one key (the loopback address) of a rule with burst B: exactly B are
// admitted whichever shard each connection landed on, every other request
// is refused, and the headers of both agree with the decision.
TEST(RateLimit, ExactlyBurstAdmittedUnderConcurrentLoadOnTwoShards) {
  const std::vector<uint64_t> bursts = {1, 5, 32, 100};
  std::vector<server::RateLimitRule> rules;
  for (uint64_t b : bursts) {
    const std::string name = "b" + std::to_string(b);
    rules.push_back(rule(name, "/limited/" + name + "-", "ip", b));
  }
  auto mw = make(rules);
  ASSERT_TRUE(mw);
  TestServer server(server_with(mw.get()));

  for (uint64_t burst : bursts) {
    SCOPED_TRACE("burst " + std::to_string(burst));
    const std::string name = "b" + std::to_string(burst);
    constexpr int kThreads = 4;
    constexpr int kConnectionsPerThread = 16;
    const int per_connection = static_cast<int>((2 * burst) / (kThreads * kConnectionsPerThread)) + 2;
    std::mutex mu;
    std::vector<HttpResponse> responses;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::vector<HttpResponse> mine;
        for (int c = 0; c < kConnectionsPerThread; ++c) {
          TestConnection conn(server.port());
          for (int i = 0; i < per_connection; ++i) {
            if (!conn.send(get_request("/limited/" + name + "-t" + std::to_string(t)))) break;
            auto r = conn.read_response();
            if (!r) break;
            mine.push_back(std::move(*r));
          }
        }
        std::lock_guard lock(mu);
        for (auto& r : mine) responses.push_back(std::move(r));
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(responses.size(), size_t{kThreads} * kConnectionsPerThread * per_connection);

    uint64_t admitted = 0, refused = 0;
    std::multiset<uint64_t> remaining;
    for (const HttpResponse& r : responses) {
      if (r.status == 200) {
        ++admitted;
        EXPECT_EQ(r.body, "ok");
        expect_admitted_headers(r, name, burst);
        remaining.insert(std::stoull(r.header("x-ratelimit-remaining")));
      } else {
        ++refused;
        expect_refused(r, name, burst);
      }
    }
    EXPECT_EQ(admitted, burst);
    EXPECT_EQ(refused, responses.size() - burst);
    // Remaining counts down: each of B-1 .. 0 exactly once.
    std::multiset<uint64_t> expected;
    for (uint64_t k = 0; k < burst; ++k) expected.insert(k);
    EXPECT_EQ(remaining, expected);
  }
  // Both shards took part (64 connections per round: SO_REUSEPORT spreads them).
  for (unsigned s = 0; s < 2; ++s) {
    EXPECT_GT(server.app().http_server(s)->metrics().requests.get(), 0u) << "shard " << s;
  }
  auto* rl = dynamic_cast<http::RateLimitMiddleware*>(mw.get());
  ASSERT_NE(rl, nullptr);
  for (size_t i = 0; i < bursts.size(); ++i) EXPECT_EQ(rl->admitted(i), bursts[i]);
  EXPECT_EQ(rl->table_stats().overflow, 0u);
}

// Stands in for the request-id middleware: the 429 body names the id.
class FixedRequestId final : public http::Middleware {
 public:
  bool before(http::ServerRequest&, http::Response&, http::RequestContext& ctx) const override {
    std::memcpy(ctx.request_id, "req-42", 6);
    ctx.request_id_len = 6;
    return true;
  }
};

TEST(RateLimit, RefusalBodyIsExactAndNamesTheRequestId) {
  auto mw = make({rule("api", "/limited/", "ip", 2, "5/m")});
  FixedRequestId ids;
  TestServer server(server_with(mw.get(), &ids));
  TestConnection c(server.port());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.send(get_request("/limited/a")));
    auto r = c.read_response();
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("x-ratelimit-remaining"), std::to_string(1 - i));
    EXPECT_EQ(r->header("ratelimit-policy"), "\"api\";q=2;w=24");
  }
  ASSERT_TRUE(c.send(get_request("/limited/a")));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  // 5/m: one request refills every 12 s; Retry-After rounds up.
  EXPECT_EQ(r->status, 429);
  const uint64_t retry = std::stoull(r->header("retry-after"));
  EXPECT_GE(retry, 11u);
  EXPECT_LE(retry, 12u);
  EXPECT_EQ(r->header("ratelimit"), "\"api\";r=0;t=" + std::to_string(retry));
  EXPECT_EQ(r->body, refusal_body(retry, "req-42"));
  EXPECT_EQ(r->header("x-content-type-options"), "nosniff");
  // The connection goes on serving (and refusing).
  ASSERT_TRUE(c.send(get_request("/limited/a")));
  r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 429);
}

// Every response of a limited path carries the headers, whatever produced
// it: the handler, a 404, a deferred answer, a stream; other paths none.
TEST(RateLimit, HeadersOnEveryResponseOfALimitedPathOnly) {
  auto mw = make({rule("lim", "/limited/", "ip", 10), rule("async", "/async", "ip", 10),
                  rule("stream", "/stream", "ip", 10)});
  TestServer server(server_with(mw.get()));

  HttpResponse r = fetch(server.port(), "/open");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(has_rate_limit_headers(r));
  r = fetch(server.port(), "/plaintext");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(has_rate_limit_headers(r));
  r = fetch(server.port(), "/nowhere");
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(has_rate_limit_headers(r));

  r = fetch(server.port(), "/limited/a/b/c");  // no such route: 404, still counted
  EXPECT_EQ(r.status, 404);
  expect_admitted_headers(r, "lim", 10);
  EXPECT_EQ(r.header("x-ratelimit-remaining"), "9");
  r = fetch(server.port(), "/limited/a");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-ratelimit-remaining"), "8");

  r = fetch(server.port(), "/async?x");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "async:x");
  expect_admitted_headers(r, "async", 10);
  EXPECT_EQ(r.header("x-ratelimit-remaining"), "9");

  r = fetch(server.port(), "/stream?100");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), 100u);
  expect_admitted_headers(r, "stream", 10);
}

// key = "header:X-Tenant": each tenant has its own bucket. A request
// without the header falls through to the next rule that matches.
TEST(RateLimit, HeaderKeySeparatesTenantsAndMissingKeyFallsThrough) {
  auto mw = make({rule("tenant", "/limited/", "header:X-Tenant", 2),
                  rule("anon", "/limited/", "ip", 1)});
  TestServer server(server_with(mw.get()));
  const auto as = [&](const std::string& tenant) {
    return fetch(server.port(), "/limited/t", tenant.empty() ? "" : "X-Tenant: " + tenant + "\r\n");
  };
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(as("acme").status, 200);
  }
  HttpResponse r = as("acme");
  expect_refused(r, "tenant", 2);
  // Another tenant is untouched by acme's exhaustion.
  r = as("globex");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-ratelimit-remaining"), "1");
  EXPECT_EQ(r.header("ratelimit-policy"), "\"tenant\";q=2;w=7200");
  EXPECT_EQ(as("globex").status, 200);
  EXPECT_EQ(as("globex").status, 429);
  // Values are compared as bytes: a different case is a different tenant.
  EXPECT_EQ(as("ACME").status, 200);
  // No header: the "anon" rule, per address.
  r = as("");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("ratelimit-policy"), "\"anon\";q=1;w=3600");
  expect_refused(as(""), "anon", 1);
}

// With no later rule to fall through to, requests without the key share
// one bucket: leaving the header out never escapes the limit.
TEST(RateLimit, MissingKeyWithoutFallbackSharesOneBucket) {
  auto mw = make({rule("key", "/limited/", "api_key", 2), rule("bearer", "/open", "bearer", 1)});
  TestServer server(server_with(mw.get()));
  EXPECT_EQ(fetch(server.port(), "/limited/a").status, 200);
  EXPECT_EQ(fetch(server.port(), "/limited/a", "X-API-Key: \r\n").status, 200);  // empty: none
  expect_refused(fetch(server.port(), "/limited/a"), "key", 2);
  // A key of its own still has its whole burst.
  HttpResponse r = fetch(server.port(), "/limited/a", "X-API-Key: k1\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-ratelimit-remaining"), "1");
  // bearer: the token of "Authorization: Bearer <token>".
  EXPECT_EQ(fetch(server.port(), "/open", "Authorization: Bearer tok-a\r\n").status, 200);
  EXPECT_EQ(fetch(server.port(), "/open", "Authorization: Bearer tok-a\r\n").status, 429);
  EXPECT_EQ(fetch(server.port(), "/open", "Authorization: bearer tok-b\r\n").status, 200);
  EXPECT_EQ(fetch(server.port(), "/open", "Authorization: Basic dXNlcjpwdw==\r\n").status, 200);
  EXPECT_EQ(fetch(server.port(), "/open").status, 429);  // no token: shares the Basic one's bucket
}

// Rules are tried in order; the first that matches (and has its key) wins.
TEST(RateLimit, FirstMatchingRuleWins) {
  auto mw = make({rule("login", "/limited/login", "ip/24", 1), rule("all", "/", "ip", 5)});
  TestServer server(server_with(mw.get()));
  HttpResponse r = fetch(server.port(), "/limited/login");
  EXPECT_EQ(r.header("ratelimit-policy"), "\"login\";q=1;w=3600");
  EXPECT_EQ(fetch(server.port(), "/limited/login").status, 429);
  r = fetch(server.port(), "/open");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("ratelimit-policy"), "\"all\";q=5;w=18000");
  EXPECT_EQ(r.header("x-ratelimit-remaining"), "4");
}

TEST(RateLimit, MetricsCountDecisionsPerRule) {
  auto mw = make({rule("m", "/limited/", "ip", 3)});
  TestServer server(server_with(mw.get()));
  for (int i = 0; i < 5; ++i) fetch(server.port(), "/limited/x");
  std::string text;
  obs::PrometheusWriter w(text);
  mw->write_metrics(w);
  EXPECT_TRUE(w.ok()) << w.error();
  EXPECT_NE(text.find("# TYPE ringshard_rate_limit_decisions_total counter"), std::string::npos);
  EXPECT_NE(text.find(R"(ringshard_rate_limit_decisions_total{rule="m",result="admitted"} 3)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(ringshard_rate_limit_decisions_total{rule="m",result="refused"} 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ringshard_rate_limit_table_overflow_total 0"), std::string::npos) << text;
}

TEST(RateLimitSetup, OffWithoutRulesAndErrorsOnBadRules) {
  server::Options o;
  std::string error = "stale";
  EXPECT_EQ(server::make_rate_limit_middleware(o, 2, error), nullptr);
  EXPECT_EQ(error, "");

  const auto fails = [&](server::RateLimitRule r) {
    server::Options bad;
    bad.rate_limits = {std::move(r)};
    std::string e;
    auto mw = server::make_rate_limit_middleware(bad, 2, e);
    EXPECT_EQ(mw, nullptr);
    EXPECT_NE(e, "");
    return e;
  };
  EXPECT_NE(fails(rule("a", "/", "cookie", 1)).find("key"), std::string::npos);
  EXPECT_NE(fails(rule("a", "/", "ip", 1, "1/d")).find("rate"), std::string::npos);
  fails(rule("a", "/", "ip", 0));
  fails(rule("a", "api", "ip", 1));
  fails(rule("a\"b", "/", "ip", 1));

  server::Options dup;
  dup.rate_limits = {rule("a", "/", "ip", 1), rule("a", "/x", "ip", 1)};
  EXPECT_EQ(server::make_rate_limit_middleware(dup, 2, error), nullptr);
  EXPECT_NE(error.find("duplicate"), std::string::npos);

  server::Options good;
  good.rate_limits = {rule("a", "/", "ip/24/48", 10, "10/s")};
  auto mw = server::make_rate_limit_middleware(good, 2, error);
  EXPECT_NE(mw, nullptr);
  EXPECT_EQ(error, "");
}

}  // namespace
}  // namespace ringshard::test
