// Replays and retries of the HTTP client against loopback servers: the
// one replay after a reused connection dies, idempotency rules, backoff
// delays on a manual clock, the retry budget under a failing upstream.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "client/retry.h"
#include "engine/engine.h"
#include "tests/client/client_harness.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

using client::ClientError;

// First connection: answers one request with keep-alive, then resets on
// the second without answering (a server that closed the kept-alive
// connection as the request arrived). Later connections answer.
struct ResetOnReuse {
  std::atomic<int> requests{0};
  RawServer server{[this](RawConn& c) {
    if (c.index() == 0) {
      if (c.read_request().empty()) return;
      requests.fetch_add(1);
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
      if (c.read_request().empty()) return;
      requests.fetch_add(1);
      c.reset();
      return;
    }
    while (!c.read_request().empty()) {
      requests.fetch_add(1);
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh");
    }
  }};
};

client::ClientRequest post(bool idempotency_key) {
  client::ClientRequest r;
  r.method = "POST";
  r.target = "/orders";
  r.body_mode = client::BodyMode::kBuffered;
  r.body = "{}";
  if (idempotency_key) r.headers.emplace_back("Idempotency-Key", "k-1");
  return r;
}

TEST(ClientRetry, GetOnReusedConnectionResetBeforeResponseIsReplayedOnce) {
  ResetOnReuse backend;
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.server.port()));
  EXPECT_EQ(host.fetch(up, get("/a")).body, "first");
  const client::ClientResult r = host.fetch(up, get("/b"));
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.body, "fresh");
  EXPECT_EQ(up->metrics().stale_retries.get(), 1u);
  EXPECT_EQ(up->metrics().retries.get(), 0u);  // not a budgeted retry
  EXPECT_EQ(backend.server.accepted(), 2);
}

TEST(ClientRetry, PostWithoutIdempotencyKeyIsNeverRetried) {
  ResetOnReuse backend;
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.server.port()));
  EXPECT_TRUE(host.fetch(up, get("/a")).ok());
  const client::ClientResult r = host.fetch(up, post(false));
  EXPECT_EQ(r.error, ClientError::kReset);
  EXPECT_EQ(up->metrics().stale_retries.get(), 0u);
  EXPECT_EQ(up->metrics().retries.get(), 0u);
  EXPECT_EQ(backend.requests.load(), 2);
}

TEST(ClientRetry, PostWithIdempotencyKeyIsReplayed) {
  ResetOnReuse backend;
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.server.port()));
  EXPECT_TRUE(host.fetch(up, get("/a")).ok());
  const client::ClientResult r = host.fetch(up, post(true));
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.body, "fresh");
  EXPECT_EQ(up->metrics().stale_retries.get(), 1u);
}

TEST(ClientRetry, ConnectFailuresRetryAfterJitteredBackoffOnTheTimerWheel) {
  RefusingPort refusing;
  client::HttpClient::Options co;
  co.jitter_seed = 1234;
  ClientHost host(/*manual_clock=*/true, co);
  auto uo = local_upstream(refusing.port());
  uo.retry.max_retries = 2;
  uo.timeouts.total_ms = 0;
  client::Upstream* up = host.upstream(uo);
  // The upstream's jitter: the client's seed plus its index (0).
  client::Jitter mirror(1234);
  const client::Backoff backoff(uo.retry.base_ms, uo.retry.cap_ms);
  const uint64_t d0 = backoff.delay_ms(0, mirror);
  const uint64_t d1 = backoff.delay_ms(1, mirror);
  auto attempts = [&] { return up->metrics().connect_attempts.get(); };
  // This seed draws no zero delay (which would fire without the clock).
  ASSERT_GT(d0, 0u);
  ASSERT_GT(d1, 0u);

  auto p = host.start(up, get("/"));
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().retries.get() == 1; }));
  EXPECT_EQ(attempts(), 1u);
  host.advance(d0 - 1);
  host.sync();
  EXPECT_EQ(attempts(), 1u) << "retried before its delay of " << d0 << " ms";
  host.advance(1);
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().retries.get() == 2; }));
  EXPECT_EQ(attempts(), 2u);
  host.advance(d1 - 1);
  host.sync();
  EXPECT_EQ(attempts(), 2u) << "retried before its delay of " << d1 << " ms";
  host.advance(1);
  const client::ClientResult r = p->wait();
  EXPECT_EQ(r.error, ClientError::kConnectFailed);
  EXPECT_EQ(attempts(), 3u);
  EXPECT_EQ(up->metrics().error_count(ClientError::kConnectFailed), 1u);
}

TEST(ClientRetry, BudgetCapsRetriesAgainstAFailingUpstream) {
  RefusingPort refusing;
  ClientHost host(/*manual_clock=*/true);
  auto uo = local_upstream(refusing.port());
  uo.retry.max_retries = 5;
  uo.retry.budget_ratio = 0.2;
  uo.retry.budget_min_concurrent = 3;
  uo.timeouts.total_ms = 0;
  client::Upstream* up = host.upstream(uo);
  std::vector<std::shared_ptr<Pending>> pending;
  for (int i = 0; i < 10; ++i) pending.push_back(host.start(up, get("/")));
  // 10 requests in flight allow max(3, 10 * 0.2) = 3 concurrent retries:
  // the other 7 fail at once. (A retry may already have run: full jitter
  // can draw a delay of 0, which fires without advancing the clock.)
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().budget_exhausted.get() == 7; }));
  EXPECT_GE(up->metrics().retries.get(), 3u);
  int failed_now = 0;
  for (auto& p : pending) failed_now += p->ready();
  EXPECT_EQ(failed_now, 7);
  // Drive the three through all their retries.
  for (int i = 0; i < 50 && up->metrics().error_count(ClientError::kConnectFailed) < 10; ++i) {
    host.advance(250);
    host.sync();
  }
  for (auto& p : pending) EXPECT_EQ(p->wait().error, ClientError::kConnectFailed);
  // Only the three that got a slot ever retry, each max_retries times.
  EXPECT_EQ(up->metrics().retries.get(), 3u * 5u);
  EXPECT_EQ(up->metrics().connect_attempts.get(), 10u + 15u);
  EXPECT_EQ(up->metrics().budget_exhausted.get(), 7u);
}

TEST(ClientRetry, ConfiguredStatusesAreRetried) {
  std::atomic<int> seen{0};
  RawServer backend([&](RawConn& c) {
    while (!c.read_request().empty()) {
      if (seen.fetch_add(1) == 0) {
        c.send("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
      } else {
        c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }
    }
  });
  ClientHost host;
  auto uo = local_upstream(backend.port());
  uo.retry.statuses = {503};
  uo.retry.base_ms = 1;
  uo.retry.cap_ms = 1;
  client::Upstream* up = host.upstream(uo);
  const client::ClientResult r = host.fetch(up, get("/"));
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(up->metrics().retries.get(), 1u);

  // Not configured: the 503 is the answer.
  ClientHost host2;
  seen = 0;
  client::Upstream* up2 = host2.upstream(local_upstream(backend.port()));
  EXPECT_EQ(host2.fetch(up2, get("/")).status, 503);
}

class NullHandler final : public engine::ConnectionHandler {
 public:
  void on_data(engine::Connection&, std::span<const char>) override {}
};

// The drain deadline closes an exchange's connection. A retry would open
// another that keeps the shard from exiting (up to the first-byte
// timeout); the exchange fails instead, and the shard exits.
TEST(ClientRetry, NoRetryPastTheDrainDeadline) {
  std::atomic<int> requests{0};
  RawServer silent([&](RawConn& c) {
    if (c.read_request().empty()) return;
    requests.fetch_add(1);
    c.wait_eof();
  });
  engine::ManualClock clock;
  std::unique_ptr<client::HttpClient> http;
  engine::EngineConfig cfg;
  cfg.shards = 1;
  cfg.pin_threads = false;
  cfg.listen = false;
  cfg.recv_buffer_count = 16;
  cfg.clock = &clock;
  cfg.drain_timeout_ms = 1'000;
  cfg.make_handler = [](engine::Shard&) { return std::make_unique<NullHandler>(); };
  cfg.on_shard_exit = [&](engine::Shard&) { http.reset(); };
  engine::Engine engine(cfg);
  if (const engine::StartError e = engine.start(); !e.ok()) {
    if (e.exit_code == 69) GTEST_SKIP() << e.message;  // no io_uring here
    FAIL() << e.message;
  }
  // Should a check fail, time moves on until every timeout has fired and
  // the engine can stop: the test fails instead of hanging.
  struct Unstick {
    engine::Engine& engine;
    engine::ManualClock& clock;
    ~Unstick() {
      for (int i = 0; i < 10 && !engine.finished(); ++i) {
        clock.advance(60'000);
        engine.wake_all();
        TestServer::wait_until([&] { return engine.finished(); }, 1'000);
      }
    }
  } unstick{engine, clock};
  auto done = std::make_shared<Pending>();
  engine.execute(0, [&, done](engine::Shard& shard) {
    http = std::make_unique<client::HttpClient>(shard, client::HttpClient::Options{});
    std::string error;
    client::Upstream* up = http->upstream(local_upstream(silent.port()), error);
    ASSERT_NE(up, nullptr) << error;
    http->request(*up, get("/"), [done](client::ClientResult&& r) {
      std::lock_guard lock(done->mu);
      done->result = std::move(r);
      done->done = true;
      done->cv.notify_all();
    });
  });
  ASSERT_TRUE(TestServer::wait_until([&] { return requests.load() == 1; }));
  engine.drain();
  // The deadline is armed when the shard begins its drain: wait for that.
  ASSERT_TRUE(TestServer::wait_until([&] {
    auto draining = std::make_shared<std::atomic<int>>(-1);
    engine.execute(0, [draining](engine::Shard& s) { *draining = s.draining() ? 1 : 0; });
    return TestServer::wait_until([&] { return *draining != -1; }) && *draining == 1;
  }));
  clock.advance(1'000);
  engine.wake_all();
  const client::ClientResult r = done->wait();
  EXPECT_EQ(r.error, ClientError::kReset) << r.detail;
  EXPECT_TRUE(TestServer::wait_until([&] { return engine.finished(); }))
      << "a retried connection kept the shard running";
  EXPECT_EQ(requests.load(), 1);
  EXPECT_EQ(silent.accepted(), 1);
}

}  // namespace
}  // namespace ringshard::test
