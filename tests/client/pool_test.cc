// The HTTP client's connection pool against real loopback servers: reuse,
// the connection cap and its wait queue, idle connections the server
// closes, the idle timeout.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "tests/client/client_harness.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

using client::ClientError;

TestServerOptions backend_options() {
  TestServerOptions o;
  o.shards = 1;
  o.routes = [](http::Router& r) {
    r.add(http::Method::kGet, "/hello", [](http::ServerRequest&, http::Response& res) {
      res.send(200, "text/plain", "hello");
    });
  };
  return o;
}

TEST(ClientPool, ThousandSequentialRequestsUseOneConnection) {
  TestServer backend(backend_options());
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  // Each answer starts the next request from the sink, on the shard.
  struct Chain {
    client::HttpClient* c = nullptr;
    client::Upstream* up = nullptr;
    int left = 1000;
    int ok = 0;
    std::shared_ptr<Pending> done = std::make_shared<Pending>();
    void next() {
      c->request(*up, get("/hello"), [this](client::ClientResult&& r) {
        if (r.ok() && r.status == 200 && r.body == "hello") ++ok;
        if (--left > 0) {
          next();
          return;
        }
        std::lock_guard lock(done->mu);
        done->done = true;
        done->cv.notify_all();
      });
    }
  } chain;
  chain.up = up;
  host.on_client([&](client::HttpClient& c) {
    chain.c = &c;
    chain.next();
    return true;
  });
  chain.done->wait(30'000);
  EXPECT_EQ(chain.ok, 1000);
  EXPECT_EQ(up->metrics().connects.get(), 1u);
  EXPECT_EQ(up->metrics().reuses.get(), 999u);
  EXPECT_EQ(backend.engine_sum([](auto& m) { return m.accepted.get(); }), 1u);
  EXPECT_EQ(up->metrics().idle.get(), 1u);
  EXPECT_EQ(up->metrics().active.get(), 0u);
}

TEST(ClientPool, CapLimitsConnectionsOthersWait) {
  TestServer backend(backend_options());
  ClientHost host;
  auto uo = local_upstream(backend.port());
  uo.pool.max_connections = 2;
  client::Upstream* up = host.upstream(uo);
  std::vector<std::shared_ptr<Pending>> pending;
  for (int i = 0; i < 20; ++i) pending.push_back(host.start(up, get("/hello")));
  for (auto& p : pending) {
    const client::ClientResult r = p->wait();
    EXPECT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.body, "hello");
  }
  EXPECT_LE(up->metrics().connects.get(), 2u);
  EXPECT_LE(backend.engine_sum([](auto& m) { return m.accepted.get(); }), 2u);
  EXPECT_GT(up->metrics().wait_queued.get(), 0u);
  EXPECT_EQ(up->metrics().wait_timeouts.get(), 0u);
}

TEST(ClientPool, WaitPastTimeoutFailsWithPoolTimeout) {
  // The backend reads the request and never answers: the one connection
  // stays busy.
  RawServer backend([](RawConn& c) {
    c.read_request();
    c.wait_eof();
  });
  ClientHost host(/*manual_clock=*/true);
  auto uo = local_upstream(backend.port());
  uo.pool.max_connections = 1;
  uo.pool.wait_timeout_ms = 500;
  uo.timeouts.total_ms = 0;
  client::Upstream* up = host.upstream(uo);
  auto first = host.start(up, get("/a"));
  ASSERT_TRUE(TestServer::wait_until([&] { return backend.accepted() == 1; }));
  auto second = host.start(up, get("/b"));
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().wait_queued.get() == 1; }));
  host.advance(499);
  host.sync();
  EXPECT_FALSE(second->ready());
  host.advance(2);
  const client::ClientResult r = second->wait();
  EXPECT_EQ(r.error, ClientError::kPoolTimeout);
  EXPECT_EQ(up->metrics().wait_timeouts.get(), 1u);
  EXPECT_FALSE(first->ready());
}

TEST(ClientPool, FullWaitQueueFailsWithPoolFull) {
  RawServer backend([](RawConn& c) {
    c.read_request();
    c.wait_eof();
  });
  ClientHost host(/*manual_clock=*/true);
  auto uo = local_upstream(backend.port());
  uo.pool.max_connections = 1;
  uo.pool.max_waiters = 1;
  client::Upstream* up = host.upstream(uo);
  auto a = host.start(up, get("/a"));
  auto b = host.start(up, get("/b"));
  auto c = host.start(up, get("/c"));
  EXPECT_EQ(c->wait().error, ClientError::kPoolFull);
  EXPECT_FALSE(b->ready());
}

// A backend that answers one request per connection with keep-alive and
// then closes it a moment later (like a server's short keep-alive timeout).
TEST(ClientPool, IdleConnectionClosedByServerIsDroppedAtOnce) {
  std::atomic<int> served{0};
  RawServer backend([&](RawConn& c) {
    if (c.read_request().empty()) return;
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    served.fetch_add(1);
    c.close();
  });
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  for (int i = 0; i < 5; ++i) {
    const client::ClientResult r = host.fetch(up, get("/x"));
    ASSERT_TRUE(r.ok()) << i << " " << r.detail;
    EXPECT_EQ(r.body, "ok");
    // The close reaches the idle connection's armed read: it leaves the
    // pool without any request having to fail on it.
    ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().idle.get() == 0; }));
  }
  EXPECT_EQ(up->metrics().connects.get(), 5u);
  EXPECT_EQ(up->metrics().idle_closed.get(), 5u);
  EXPECT_EQ(up->metrics().stale_retries.get(), 0u);
  EXPECT_EQ(up->metrics().reuses.get(), 0u);
}

TEST(ClientPool, StrayBytesOnIdleConnectionDropIt) {
  std::atomic<bool> pooled{false};
  RawServer backend([&](RawConn& c) {
    if (c.read_request().empty()) return;
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    TestServer::wait_until([&] { return pooled.load(); });
    c.send("HTTP/1.1 200 OK\r\n");  // an answer nobody asked for
    c.wait_eof();
  });
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  EXPECT_TRUE(host.fetch(up, get("/x")).ok());
  EXPECT_EQ(up->metrics().idle.get(), 1u);
  pooled.store(true);
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().open.get() == 0; }));
  EXPECT_GE(up->metrics().idle_closed.get(), 1u);
}

TEST(ClientPool, IdleTimeoutClosesPooledConnection) {
  TestServer backend(backend_options());
  ClientHost host(/*manual_clock=*/true);
  auto uo = local_upstream(backend.port());
  uo.pool.idle_timeout_ms = 4'000;
  client::Upstream* up = host.upstream(uo);
  ASSERT_TRUE(host.fetch(up, get("/hello")).ok());
  EXPECT_EQ(up->metrics().idle.get(), 1u);
  host.advance(3'999);
  host.sync();
  EXPECT_EQ(up->metrics().idle.get(), 1u);
  host.advance(2);
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().open.get() == 0; }));
  EXPECT_EQ(up->metrics().idle_closed.get(), 1u);
  ASSERT_TRUE(host.fetch(up, get("/hello")).ok());
  EXPECT_EQ(up->metrics().connects.get(), 2u);
}

TEST(ClientPool, IdleConnectionsAreReusedLastInFirstOut) {
  TestServer backend(backend_options());
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  std::vector<std::shared_ptr<Pending>> pending;
  for (int i = 0; i < 3; ++i) pending.push_back(host.start(up, get("/hello")));
  for (auto& p : pending) EXPECT_TRUE(p->wait().ok());
  const uint64_t opened = up->metrics().connects.get();
  EXPECT_GE(opened, 1u);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(host.fetch(up, get("/hello")).ok());
  EXPECT_EQ(up->metrics().connects.get(), opened);  // no new connection
}

TEST(ClientPool, IdleConnectionsBeyondMaxIdleAreClosed) {
  TestServer backend(backend_options());
  ClientHost host;
  auto uo = local_upstream(backend.port());
  uo.pool.max_idle = 1;
  client::Upstream* up = host.upstream(uo);
  std::vector<std::shared_ptr<Pending>> pending;
  for (int i = 0; i < 4; ++i) pending.push_back(host.start(up, get("/hello")));
  for (auto& p : pending) EXPECT_TRUE(p->wait().ok());
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().open.get() == 1; }));
  EXPECT_EQ(up->metrics().idle.get(), 1u);
}

TEST(ClientPool, ConnectionCloseResponsesAreNotPooled) {
  RawServer backend([](RawConn& c) {
    c.read_request();
    c.send("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
    c.wait_eof();  // the client closes: it must not keep the connection
  });
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  EXPECT_EQ(host.fetch(up, get("/")).body, "ok");
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().open.get() == 0; }));
  EXPECT_EQ(up->metrics().idle.get(), 0u);
}

}  // namespace
}  // namespace ringshard::test
