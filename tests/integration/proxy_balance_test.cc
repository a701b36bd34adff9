// Reverse proxy: how requests spread over backends (round robin, least
// request, consistent hashing across shards) and what happens when a
// backend dies and comes back (passive ejection, active checks).
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/proxy_support.h"
#include "tests/support/http_client.h"
#include "tests/support/nginx_backend.h"
#include "tests/support/raw_backend.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

#define REQUIRE_NGINX()                                            \
  if (!NginxBackend::is_available()) GTEST_SKIP() << "no /usr/sbin/nginx"

// An nginx that answers every request with `name` (and /health with 200).
bool start_named(NginxBackend& n, const std::string& name) {
  return n.start("keepalive_requests 100000;\nlocation / { return 200 '" + name + "'; }");
}

std::string fetch(TestConnection& c, const std::string& extra = "") {
  if (!c.send("GET / HTTP/1.1\r\nHost: a\r\n" + extra + "\r\n")) return "send failed";
  auto r = c.read_response();
  if (!r) return "no response: " + c.error();
  return r->status == 200 ? r->body : "status " + std::to_string(r->status);
}

TEST(ProxyBalance, RoundRobinFollowsTheWeightsExactly) {
  REQUIRE_NGINX();
  NginxBackend a, b;
  ASSERT_TRUE(start_named(a, "A")) << a.error();
  ASSERT_TRUE(start_named(b, "B")) << b.error();
  auto group = upstream_group("app", {a.port(), b.port()});
  group.backends[1].weight = 3;
  auto proxy = start_proxy({.upstreams = {group}});
  TestConnection c(proxy->port());
  std::map<std::string, int> seen;
  for (int i = 0; i < 40; ++i) ++seen[fetch(c)];
  EXPECT_EQ(seen["A"], 10);
  EXPECT_EQ(seen["B"], 30);
}

TEST(ProxyBalance, LeastRequestPrefersTheBackendWithFewerRequestsInFlight) {
  REQUIRE_NGINX();
  RawBackend stuck(RawBackend::Behavior::kSilent);  // holds what it gets
  NginxBackend fast;
  ASSERT_TRUE(start_named(fast, "fast")) << fast.error();
  auto group = upstream_group("app", {stuck.port(), fast.port()});
  group.balance = proxy::BalancePolicy::kLeastRequest;
  group.retry.attempts = 1;
  auto proxy = start_proxy({.upstreams = {group}});
  // Each request on its own connection, sent once the previous one was
  // picked: one that lands on the stuck backend stays in flight there, so
  // every later choice between the two sees it busier.
  std::vector<std::unique_ptr<TestConnection>> conns;
  const std::string fast_labels = backend_labels("app", fast.port());
  auto to_fast = [&] {
    return metric(proxy_metrics(*proxy), "ringshard_upstream_requests_total", fast_labels);
  };
  uint64_t fast_answers = 0;
  for (uint64_t i = 0; i < 20; ++i) {
    conns.push_back(std::make_unique<TestConnection>(proxy->port()));
    TestConnection& c = *conns.back();
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    // Picked: either sent to the fast backend or arrived at the stuck one.
    ASSERT_TRUE(TestServer::wait_until([&] { return to_fast() + stuck.requests() == i + 1; }));
    if (to_fast() > fast_answers) {
      auto r = c.read_response();
      ASSERT_TRUE(r.has_value()) << c.error();
      EXPECT_EQ(r->body, "fast");
      ++fast_answers;
    }
  }
  EXPECT_LE(stuck.requests(), 1u);
  EXPECT_GE(fast_answers, 19u);
  // The clients leave (reset): the proxy drops the stuck exchange (the
  // request's abort notice) instead of holding the shard's drain.
  for (auto& c : conns) {
    const linger reset{1, 0};
    setsockopt(c->fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  }
  conns.clear();
  ASSERT_TRUE(TestServer::wait_until([&] {
    return metric(proxy_metrics(*proxy), "ringshard_proxy_client_aborts_total",
                  "upstream=\"app\"") == stuck.requests();
  }));
}

TEST(ProxyBalance, ConsistentHashingKeepsAKeyOnOneBackendAcrossShards) {
  REQUIRE_NGINX();
  NginxBackend a, b;
  ASSERT_TRUE(start_named(a, "A")) << a.error();
  ASSERT_TRUE(start_named(b, "B")) << b.error();
  auto group = upstream_group("app", {a.port(), b.port()});
  group.balance = proxy::BalancePolicy::kMaglev;
  group.hash_key.source = proxy::HashKey::Source::kHeader;
  group.hash_key.name = "X-User";
  auto proxy = start_proxy({.upstreams = {group}, .shards = 2});
  std::map<std::string, int> per_backend;
  for (int user = 0; user < 12; ++user) {
    const std::string header = "X-User: user-" + std::to_string(user) + "\r\n";
    std::string first;
    // New connections spread over both shards; every one of them must
    // land the user on the same backend.
    for (int conn = 0; conn < 8; ++conn) {
      TestConnection c(proxy->port());
      const std::string got = fetch(c, header);
      if (conn == 0) first = got;
      EXPECT_EQ(got, first) << "user " << user << " moved";
    }
    ++per_backend[first];
  }
  EXPECT_GT(per_backend["A"], 0);
  EXPECT_GT(per_backend["B"], 0);
}

TEST(ProxyBalance, AKilledBackendIsEjectedWithoutFailedRequestsAndComesBackWhenChecksPass) {
  REQUIRE_NGINX();
  NginxBackend a, b;
  ASSERT_TRUE(a.start("keepalive_requests 100000;\nlocation / { return 200 'A'; }")) << a.error();
  ASSERT_TRUE(b.start("keepalive_requests 100000;\nlocation / { return 200 'B'; }")) << b.error();
  auto group = upstream_group("app", {a.port(), b.port()});
  group.outlier.consecutive_connect_failures = 1;
  group.outlier.base_ejection_ms = 60'000;  // only the active checks bring it back
  group.health.path = "/";
  group.health.interval_ms = 200;
  group.health.jitter_ms = 10;
  group.health.timeout_ms = 200;
  group.health.unhealthy_threshold = 1;
  group.health.healthy_threshold = 1;
  auto proxy = start_proxy({.upstreams = {group}, .shards = 2});
  const std::string a_labels = backend_labels("app", a.port());
  TestConnection c(proxy->port());
  std::map<std::string, int> seen;
  for (int i = 0; i < 20; ++i) ++seen[fetch(c)];
  EXPECT_EQ(seen["A"] + seen["B"], 20);
  EXPECT_GT(seen["A"], 0);

  // A dies between requests: nothing is in flight on it, so no client
  // request may fail.
  a.kill();
  seen.clear();
  for (int i = 0; i < 50; ++i) ++seen[fetch(c)];
  EXPECT_EQ(seen["B"], 50) << "A=" << seen["A"] << " other=" << (50 - seen["A"] - seen["B"]);
  // Passive detection took it out at its first refused connect; the
  // active checks mark it down too.
  EXPECT_EQ(metric(proxy_metrics(*proxy), "ringshard_upstream_backend_ejected", a_labels), 1u);
  EXPECT_GE(metric(proxy_metrics(*proxy), "ringshard_upstream_ejections_total", a_labels), 1u);
  ASSERT_TRUE(TestServer::wait_until([&] {
    return metric(proxy_metrics(*proxy), "ringshard_upstream_backend_healthy", a_labels) == 0;
  }));

  // Back on the same port: the active checks find it and it takes
  // requests again.
  ASSERT_TRUE(a.start_again()) << a.error();
  ASSERT_TRUE(TestServer::wait_until([&] {
    return metric(proxy_metrics(*proxy), "ringshard_upstream_backend_up", a_labels) == 1;
  }));
  seen.clear();
  for (int i = 0; i < 20; ++i) ++seen[fetch(c)];
  EXPECT_GT(seen["A"], 0);
  EXPECT_EQ(seen["A"] + seen["B"], 20);
}

}  // namespace
}  // namespace ringshard::test
