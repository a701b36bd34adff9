// The proxy's upstream pools and their protections, end to end: a backend
// closing idle keep-alive connections (nginx, keepalive_timeout 1s) never
// costs a client request; the wait queue under a connection cap answers
// 503 when full or past its wait timeout; the circuit breaker's request
// limit answers 503 and counts it; and the retry budget keeps a failing
// backend's retries within its rule (client/retry.h: retries in flight at
// most max(min_retries, budget_percent of the requests in flight)). The
// pool's own idle timeout closes idle connections before a backend would.
// Timers the proxy owns run on its manual clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/proxy_support.h"
#include "tests/support/http_client.h"
#include "tests/support/nginx_backend.h"
#include "tests/support/raw_backend.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

std::string get(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: app.example\r\n\r\n";
}

// The sum of a family's samples whose labels start with `labels`.
uint64_t metric_sum(const std::string& text, const std::string& name, const std::string& labels) {
  uint64_t sum = 0;
  std::istringstream in(text);
  std::string line;
  const std::string prefix = name + "{" + labels;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t space = line.rfind(' ');
    sum += std::strtoull(line.c_str() + space + 1, nullptr, 10);
  }
  return sum;
}

uint64_t group_metric(TestServer& proxy, const std::string& name) {
  return metric(proxy_metrics(proxy), name, "upstream=\"app\"");
}

uint64_t backend_metric(TestServer& proxy, const std::string& name, uint16_t port,
                        const std::string& extra = "") {
  return metric(proxy_metrics(proxy), name, backend_labels("app", port) + extra);
}

// Every request the proxy's shard 0 has been handed has reached its pool
// (the request counter moves before HttpClient::start; a turn of the
// shard's mailbox after that is past it), so a clock advance finds its
// timers armed.
void sync_proxy(TestServer& proxy) {
  proxy.on_shard(0, [](engine::Shard&) { return true; });
}

#define REQUIRE_NGINX()                                            \
  if (!NginxBackend::is_available()) GTEST_SKIP() << "no /usr/sbin/nginx"

TEST(ProxyPool, ABackendClosingIdleConnectionsNeverFailsARequest) {
  REQUIRE_NGINX();
  NginxBackend nginx;
  ASSERT_TRUE(nginx.start("keepalive_timeout 1s;\nlocation / { return 200 'ok'; }"))
      << nginx.error();
  const uint16_t port = nginx.port();
  auto proxy = start_proxy({.upstreams = {upstream_group("app", {port})}});
  TestConnection c(proxy->port());
  const std::string idle = ",state=\"idle\"";
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(c.send(get("/")));
    auto r = c.read_response();
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status, 200) << "round " << round;
    EXPECT_EQ(r->body, "ok");
    // The connection went back to the pool, then nginx closed it after
    // its 1 s keep-alive timeout, and the pool noticed.
    ASSERT_TRUE(TestServer::wait_until([&] {
      return backend_metric(*proxy, "ringshard_upstream_pool_connections", port, idle) == 1;
    })) << proxy_metrics(*proxy);
    ASSERT_TRUE(TestServer::wait_until([&] {
      return backend_metric(*proxy, "ringshard_upstream_pool_connections", port, idle) == 0;
    })) << proxy_metrics(*proxy);
  }
  const std::string m = proxy_metrics(*proxy);
  EXPECT_EQ(metric_sum(m, "ringshard_upstream_errors_total", backend_labels("app", port)), 0u)
      << m;
  EXPECT_EQ(metric(m, "ringshard_proxy_upstream_errors_total", "upstream=\"app\""), 0u);
  // Each round on a new connection: none was reused after nginx closed it.
  EXPECT_EQ(metric(m, "ringshard_upstream_connects_total", backend_labels("app", port)), 3u);
  EXPECT_EQ(metric(m, "ringshard_upstream_retries_total", backend_labels("app", port)), 0u);
}

TEST(ProxyPool, IdleConnectionsCloseAtThePoolsIdleTimeout) {
  RawBackend backend(RawBackend::Behavior::kOk);
  const uint16_t port = backend.port();
  auto group = upstream_group("app", {port});
  group.pool.idle_timeout_ms = 3'000;  // below the backend's keep-alive: we close first
  auto proxy = start_proxy({.upstreams = {group}, .manual_clock = true});
  const std::string idle = ",state=\"idle\"";
  TestConnection c(proxy->port());
  ASSERT_TRUE(c.send(get("/")));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 200);
  ASSERT_TRUE(TestServer::wait_until([&] {
    return backend_metric(*proxy, "ringshard_upstream_pool_connections", port, idle) == 1;
  }));
  sync_proxy(*proxy);
  proxy->advance(2'900);
  sync_proxy(*proxy);
  EXPECT_EQ(backend_metric(*proxy, "ringshard_upstream_pool_connections", port, idle), 1u);
  proxy->advance(200);
  ASSERT_TRUE(TestServer::wait_until([&] {
    return backend_metric(*proxy, "ringshard_upstream_pool_connections", port, idle) == 0;
  })) << proxy_metrics(*proxy);
  // The next request opens a new connection, and nothing failed.
  ASSERT_TRUE(c.send(get("/")));
  r = c.read_response();
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 200);
  const std::string m = proxy_metrics(*proxy);
  EXPECT_EQ(metric(m, "ringshard_upstream_connects_total", backend_labels("app", port)), 2u) << m;
  EXPECT_EQ(metric_sum(m, "ringshard_upstream_errors_total", backend_labels("app", port)), 0u);
  EXPECT_EQ(backend.connections(), 2u);
}

TEST(ProxyPool, TheWaitQueueUnderTheCapAnswers503WhenFullOrPastItsTimeout) {
  RawBackend silent(RawBackend::Behavior::kSilent);
  const uint16_t port = silent.port();
  auto group = upstream_group("app", {port});
  group.pool.max_connections = 1;
  group.pool.max_idle = 1;
  group.pool.max_waiting = 1;
  group.pool.wait_timeout_ms = 100;
  group.timeouts.first_byte_ms = 5'000;
  group.retry.attempts = 1;
  auto proxy = start_proxy({.upstreams = {group}, .manual_clock = true});

  // The first request takes the only connection and is held by the backend.
  TestConnection first(proxy->port());
  ASSERT_TRUE(first.send(get("/first")));
  ASSERT_TRUE(TestServer::wait_until([&] { return silent.requests() == 1; }));
  // The second waits for a connection.
  TestConnection second(proxy->port());
  ASSERT_TRUE(second.send(get("/second")));
  ASSERT_TRUE(TestServer::wait_until(
      [&] { return group_metric(*proxy, "ringshard_proxy_requests_total") == 2; }));
  sync_proxy(*proxy);
  // The third finds the wait queue full: 503 at once.
  TestConnection third(proxy->port());
  ASSERT_TRUE(third.send(get("/third")));
  auto r = third.read_response();
  ASSERT_TRUE(r.has_value()) << third.error();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(backend_metric(*proxy, "ringshard_upstream_errors_total", port, ",kind=\"pool_full\""),
            1u);
  // The second's wait times out: 503.
  proxy->advance(150);
  r = second.read_response();
  ASSERT_TRUE(r.has_value()) << second.error();
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("\"error\""), std::string::npos);
  EXPECT_EQ(backend_metric(*proxy, "ringshard_upstream_pool_wait_timeouts_total", port), 1u);
  EXPECT_EQ(silent.requests(), 1u);  // neither reached the backend
  // The first ends at its first-byte deadline.
  proxy->advance(5'000);
  r = first.read_response();
  ASSERT_TRUE(r.has_value()) << first.error();
  EXPECT_EQ(r->status, 504);
}

TEST(ProxyPool, TheBreakersRequestLimitAnswers503AndCountsIt) {
  RawBackend backend(RawBackend::Behavior::kSilent);
  const uint16_t port = backend.port();
  auto group = upstream_group("app", {port});
  group.breaker.max_requests = 1;
  group.timeouts.first_byte_ms = 2'000;
  group.retry.attempts = 1;
  auto proxy = start_proxy({.upstreams = {group}, .manual_clock = true});

  TestConnection first(proxy->port());
  ASSERT_TRUE(first.send(get("/first")));
  ASSERT_TRUE(TestServer::wait_until([&] { return backend.requests() == 1; }));
  // A second concurrent request to the only backend: over the limit.
  TestConnection second(proxy->port());
  ASSERT_TRUE(second.send(get("/second")));
  auto r = second.read_response();
  ASSERT_TRUE(r.has_value()) << second.error();
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("\"error\""), std::string::npos);
  EXPECT_EQ(group_metric(*proxy, "ringshard_proxy_breaker_open_total"), 1u);
  EXPECT_EQ(group_metric(*proxy, "ringshard_proxy_no_backend_total"), 0u);
  EXPECT_EQ(backend.requests(), 1u);
  // The first ends (504 at its deadline) and releases its slot: the next
  // request goes through.
  proxy->advance(2'100);
  r = first.read_response();
  ASSERT_TRUE(r.has_value()) << first.error();
  EXPECT_EQ(r->status, 504);
  backend.set_behavior(RawBackend::Behavior::kOk);
  ASSERT_TRUE(second.send(get("/third")));
  r = second.read_response();
  ASSERT_TRUE(r.has_value()) << second.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(group_metric(*proxy, "ringshard_proxy_breaker_open_total"), 1u);
}

TEST(ProxyPool, TheRetryBudgetHoldsUnderABackendThatResetsEveryRequest) {
  RawBackend flaky(RawBackend::Behavior::kCloseBeforeHead);
  const uint16_t port = flaky.port();
  auto group = upstream_group("app", {port});
  group.retry.attempts = 2;  // one retry each at most
  // Backoffs in [0, 10 s] (full jitter) on the frozen clock: the retries
  // wait, all in flight at once (one drawing 0 would run at once: 1 in 10^4).
  group.retry.base_ms = 10'000;
  group.retry.cap_ms = 10'000;
  group.outlier.consecutive_5xx = 0;
  group.outlier.consecutive_connect_failures = 0;
  auto proxy = start_proxy({.upstreams = {group}, .manual_clock = true});
  const uint64_t budget_percent = group.retry.budget_percent;
  const uint64_t min_retries = group.retry.min_retries;

  constexpr int kRequests = 40;
  std::vector<TestConnection> clients;
  clients.reserve(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    clients.emplace_back(proxy->port());
    ASSERT_TRUE(clients.back().send(get("/item/" + std::to_string(i))));
  }
  // Every first attempt has failed: each either took a retry (now waiting
  // out its backoff on the frozen clock, holding its budget slot) or was
  // refused by the budget and answered.
  uint64_t retries = 0;
  uint64_t refused = 0;
  ASSERT_TRUE(TestServer::wait_until([&] {
    retries = backend_metric(*proxy, "ringshard_upstream_retries_total", port);
    refused = backend_metric(*proxy, "ringshard_upstream_retry_budget_exhausted_total", port);
    return retries + refused == kRequests;
  })) << proxy_metrics(*proxy);
  // The budget rule: retries in flight <= max(min_retries, percent of the
  // requests in flight), so never more than that percent of the requests
  // + min_retries (20% + 3 here).
  EXPECT_LE(retries, kRequests * budget_percent / 100 + min_retries);
  EXPECT_GE(retries, min_retries);  // the budget let some through
  EXPECT_GE(flaky.requests(), static_cast<uint64_t>(kRequests));
  EXPECT_LE(flaky.requests(), kRequests + retries);
  // The backoffs end; the retries fail too and nothing retries again.
  sync_proxy(*proxy);
  proxy->advance(10'001);
  int answered_502 = 0;
  for (auto& c : clients) {
    auto r = c.read_response();
    ASSERT_TRUE(r.has_value()) << c.error();
    answered_502 += r->status == 502;
  }
  EXPECT_EQ(answered_502, kRequests);
  EXPECT_EQ(backend_metric(*proxy, "ringshard_upstream_retries_total", port), retries);
  EXPECT_EQ(flaky.requests(), kRequests + retries);
}

}  // namespace
}  // namespace ringshard::test
