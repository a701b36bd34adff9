// Tests for proxy/upstream_health.h and proxy/health_check.h: passive
// ejection with exponential backoff and a cap on the share ejected, the
// breaker's limits, the active checker's thresholds and schedule (seeded,
// deterministic clock), and the scenario: a backend killed mid-run
// is ejected, then brought back by the checks when it restarts.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "proxy/balancer.h"
#include "proxy/health_check.h"
#include "proxy/upstream_health.h"

namespace ringshard::proxy {
namespace RS_UNITY_ID {

UpstreamGroup group(size_t n) {
  UpstreamGroup g;
  g.name = "g";
  for (size_t i = 0; i < n; ++i) {
    g.backends.push_back({.address = "10.0.0." + std::to_string(i + 1) + ":80"});
  }
  g.outlier.consecutive_5xx = 3;
  g.outlier.consecutive_connect_failures = 2;
  g.outlier.base_ejection_ms = 1000;
  g.outlier.max_ejection_ms = 5000;
  g.outlier.max_ejection_percent = 50;
  g.health.path = "/healthz";
  g.health.interval_ms = 1000;
  g.health.timeout_ms = 200;
  g.health.jitter_ms = 100;
  g.health.unhealthy_threshold = 3;
  g.health.healthy_threshold = 2;
  return g;
}

TEST(Outlier, ConsecutiveFailuresEjectAndTimeReadmits) {
  UpstreamGroup g = group(4);
  UpstreamHealth h(g);
  EXPECT_EQ(h.on_result(0, Outcome::k5xx, 100), Verdict::kNone);
  EXPECT_EQ(h.on_result(0, Outcome::k5xx, 100), Verdict::kNone);
  EXPECT_TRUE(h.available(0, 100));
  EXPECT_EQ(h.on_result(0, Outcome::k5xx, 100), Verdict::kEjected);
  EXPECT_FALSE(h.available(0, 100));
  EXPECT_FALSE(h.available(0, 1099));
  EXPECT_TRUE(h.available(0, 1100));
  EXPECT_EQ(h.ejections_total(0), 1u);
}

TEST(Outlier, ASuccessBreaksTheRun) {
  UpstreamHealth h(group(4));
  h.on_result(1, Outcome::kConnectFailure, 0);
  h.on_result(1, Outcome::kSuccess, 0);
  EXPECT_EQ(h.on_result(1, Outcome::kConnectFailure, 0), Verdict::kNone);
  EXPECT_EQ(h.on_result(1, Outcome::kConnectFailure, 0), Verdict::kEjected);
}

TEST(Outlier, EjectionsBackOffExponentiallyUpToTheCap) {
  UpstreamHealth h(group(4));
  uint64_t now = 0;
  std::vector<uint64_t> durations;
  for (int n = 0; n < 5; ++n) {
    h.on_result(2, Outcome::kConnectFailure, now);
    ASSERT_EQ(h.on_result(2, Outcome::kConnectFailure, now), Verdict::kEjected);
    durations.push_back(h.ejected_until_ms(2) - now);
    now = h.ejected_until_ms(2);  // readmitted, fails again at once
  }
  EXPECT_EQ(durations, (std::vector<uint64_t>{1000, 2000, 4000, 5000, 5000}));
}

TEST(Outlier, BackoffResetsAfterStayingInForMaxEjection) {
  UpstreamHealth h(group(4));
  h.on_result(0, Outcome::kConnectFailure, 0);
  h.on_result(0, Outcome::kConnectFailure, 0);  // ejected until 1000
  h.on_result(0, Outcome::kSuccess, 1000 + 5000);
  h.on_result(0, Outcome::kConnectFailure, 7000);
  h.on_result(0, Outcome::kConnectFailure, 7000);
  EXPECT_EQ(h.ejected_until_ms(0), 8000u);  // base again, not 2x
}

TEST(Outlier, AtMostMaxEjectionPercent) {
  UpstreamHealth h(group(4));  // 50% of 4: two at once
  for (size_t i = 0; i < 3; ++i) {
    h.on_result(i, Outcome::kConnectFailure, 0);
    Verdict v = h.on_result(i, Outcome::kConnectFailure, 0);
    EXPECT_EQ(v, i < 2 ? Verdict::kEjected : Verdict::kEjectionCapped) << i;
  }
  EXPECT_EQ(h.ejected_count(0), 2u);
  EXPECT_TRUE(h.available(2, 0));
  // Once the first two are back, the third can go.
  h.on_result(2, Outcome::kConnectFailure, 1000);
  EXPECT_EQ(h.on_result(2, Outcome::kConnectFailure, 1000), Verdict::kEjected);
}

TEST(Outlier, FailuresWhileEjectedDoNotCountAndReadmissionStartsFresh) {
  UpstreamHealth h(group(4));
  h.on_result(0, Outcome::k5xx, 0);
  h.on_result(0, Outcome::k5xx, 0);
  ASSERT_EQ(h.on_result(0, Outcome::k5xx, 0), Verdict::kEjected);
  // Requests already in flight fail while it is out: no second ejection.
  EXPECT_EQ(h.on_result(0, Outcome::k5xx, 10), Verdict::kNone);
  EXPECT_EQ(h.ejections_total(0), 1u);
  h.on_result(0, Outcome::k5xx, 1000);
  h.on_result(0, Outcome::k5xx, 1000);
  EXPECT_EQ(h.on_result(0, Outcome::k5xx, 1000), Verdict::kEjected);
  EXPECT_EQ(h.ejected_until_ms(0), 3000u);
}

// Shards report at once: one of them ejects, once.
TEST(Outlier, ConcurrentFailuresEjectOnce) {
  UpstreamHealth h(group(4));
  std::vector<std::thread> shards;
  for (int t = 0; t < 4; ++t) {
    shards.emplace_back([&h] {
      for (int k = 0; k < 10'000; ++k) h.on_result(0, Outcome::kConnectFailure, 500);
    });
  }
  for (std::thread& t : shards) t.join();
  EXPECT_EQ(h.ejections_total(0), 1u);
  EXPECT_EQ(h.ejected_until_ms(0), 1500u);
}

TEST(Outlier, ZeroThresholdIsOff) {
  UpstreamGroup g = group(2);
  g.outlier.consecutive_5xx = 0;
  UpstreamHealth h(g);
  for (int k = 0; k < 100; ++k) EXPECT_EQ(h.on_result(0, Outcome::k5xx, 0), Verdict::kNone);
  EXPECT_TRUE(h.available(0, 0));
}

TEST(Breaker, RefusesAtTheLimitAndReleases) {
  CircuitBreaker b(BreakerConfig{.max_connections = 0, .max_pending = 1, .max_requests = 2});
  EXPECT_TRUE(b.try_acquire(CircuitBreaker::kRequest));
  EXPECT_TRUE(b.try_acquire(CircuitBreaker::kRequest));
  EXPECT_TRUE(b.open(CircuitBreaker::kRequest));
  EXPECT_FALSE(b.try_acquire(CircuitBreaker::kRequest));
  EXPECT_EQ(b.rejected(CircuitBreaker::kRequest), 1u);
  b.release(CircuitBreaker::kRequest);
  EXPECT_FALSE(b.open(CircuitBreaker::kRequest));
  EXPECT_TRUE(b.try_acquire(CircuitBreaker::kRequest));
  // 0 is no limit.
  for (int k = 0; k < 1000; ++k) EXPECT_TRUE(b.try_acquire(CircuitBreaker::kConnection));
  EXPECT_TRUE(b.try_acquire(CircuitBreaker::kPending));
  EXPECT_FALSE(b.try_acquire(CircuitBreaker::kPending));
}

TEST(HealthCheck, FirstProbesSpreadOverTheFirstIntervalThenIntervalPlusJitter) {
  UpstreamGroup g = group(8);
  UpstreamHealth h(g);
  HealthChecker c(g.health, h, 5, 10'000);
  std::vector<size_t> probed;
  c.poll(10'000 + 1000, [&](size_t i) { probed.push_back(i); });
  EXPECT_EQ(probed.size(), 8u);  // all due within the first interval
  EXPECT_EQ(c.next_due_ms(), UINT64_MAX);  // all in flight
  for (size_t i = 0; i < 8; ++i) c.report(i, 200, 11'000);
  uint64_t next = c.next_due_ms();
  EXPECT_GE(next, 12'000u);
  EXPECT_LE(next, 12'100u);
  probed.clear();
  c.poll(11'999, [&](size_t i) { probed.push_back(i); });
  EXPECT_TRUE(probed.empty());
  c.poll(12'100, [&](size_t i) { probed.push_back(i); });
  EXPECT_EQ(probed.size(), 8u);
}

TEST(HealthCheck, ScheduleIsDeterministicForASeed) {
  UpstreamGroup g = group(4);
  UpstreamHealth h1(g), h2(g);
  HealthChecker a(g.health, h1, 77, 0), b(g.health, h2, 77, 0);
  EXPECT_EQ(a.next_due_ms(), b.next_due_ms());
}

TEST(HealthCheck, ThresholdsTakeDownAndBringBack) {
  UpstreamGroup g = group(1);
  UpstreamHealth h(g);
  HealthChecker c(g.health, h, 1, 0);
  auto probe_once = [&](uint16_t status) {
    uint64_t now = c.next_due_ms();
    int probes = 0;
    c.poll(now, [&](size_t) { ++probes; });
    ASSERT_EQ(probes, 1);
    c.report(0, status, now);
  };
  probe_once(0);
  probe_once(503);
  EXPECT_TRUE(h.healthy(0));
  EXPECT_EQ(c.consecutive_failures(0), 2u);
  probe_once(0);  // the third failure in a row
  EXPECT_FALSE(h.healthy(0));
  EXPECT_FALSE(c.up(0));
  probe_once(200);
  EXPECT_FALSE(h.healthy(0));
  probe_once(0);  // breaks the run of successes
  probe_once(399);
  EXPECT_FALSE(h.healthy(0));
  probe_once(204);
  EXPECT_TRUE(h.healthy(0));
  EXPECT_EQ(c.probes_sent(), 7u);
  c.report(0, 200, 0);  // nothing in flight: ignored
  EXPECT_EQ(c.probes_sent(), 7u);
}

TEST(HealthCheck, OffWithoutAPath) {
  UpstreamGroup g = group(2);
  g.health.path.clear();
  UpstreamHealth h(g);
  HealthChecker c(g.health, h, 1, 0);
  int probes = 0;
  c.poll(1'000'000, [&](size_t) { ++probes; });
  EXPECT_EQ(probes, 0);
  EXPECT_EQ(c.next_due_ms(), UINT64_MAX);
}

TEST(HealthCheck, ProbeRequest) {
  HealthConfig c;
  c.path = "/healthz";
  std::string out;
  build_health_probe(c, "10.0.0.1:8080", out);
  EXPECT_EQ(out,
            "GET /healthz HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n"
            "User-Agent: ringshard-health-check\r\nConnection: close\r\n\r\n");
  c.host = "api.internal";
  build_health_probe(c, "10.0.0.1:8080", out);
  EXPECT_NE(out.find("\r\nHost: api.internal\r\n"), std::string::npos);
}

// The scenario, on the pure parts: two shards' balancers over one
// shared health; backend 1 dies mid-run. Requests to it fail only until
// the connect failures eject it (those in flight on it); then nothing goes
// there; the checks take it down; when it restarts they bring it back
// (lifting the ejection) and it gets traffic again.
TEST(HealthScenario, KilledBackendIsEjectedThenBroughtBackByChecks) {
  UpstreamGroup g = group(3);
  g.outlier.base_ejection_ms = 60'000;  // longer than the test: only the checks end it
  UpstreamHealth health(g);
  HealthChecker checker(g.health, health, 3, 0);
  RoundRobinBalancer shard_a(g.backends), shard_b(g.backends);
  bool alive[3] = {true, true, true};
  uint64_t now = 0;
  int failed = 0;
  int served[3] = {0, 0, 0};
  auto run = [&](uint64_t until) {
    for (; now < until; now += 10) {
      for (Balancer* lb : {static_cast<Balancer*>(&shard_a), static_cast<Balancer*>(&shard_b)}) {
        size_t i = lb->pick(0, [&](size_t b) { return health.available(b, now); });
        ASSERT_NE(i, kNone);
        if (alive[i]) {
          ++served[i];
          health.on_result(i, Outcome::kSuccess, now);
        } else {
          ++failed;
          health.on_result(i, Outcome::kConnectFailure, now);
        }
      }
      checker.poll(now, [&](size_t i) { checker.report(i, alive[i] ? 200 : 0, now); });
    }
  };
  run(5'000);
  EXPECT_EQ(failed, 0);
  alive[1] = false;
  run(10'000);
  // Two connect failures in a row eject it; with two shards interleaving,
  // at most a few requests reach it before that.
  EXPECT_LE(failed, 3);
  EXPECT_FALSE(health.available(1, now));
  EXPECT_FALSE(health.healthy(1));
  int before = served[1];
  alive[1] = true;
  run(15'000);
  EXPECT_TRUE(health.healthy(1));
  EXPECT_TRUE(health.available(1, now));
  EXPECT_GT(served[1], before);
  EXPECT_LE(failed, 3);
}

}  // namespace
}  // namespace ringshard::proxy
