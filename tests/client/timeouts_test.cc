// The HTTP client's timeouts on a manual clock: connect, first byte, idle
// body, whole request.
#include <gtest/gtest.h>

#include <atomic>

#include "tests/client/client_harness.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

using client::ClientError;

client::UpstreamOptions no_retry(uint16_t port) {
  auto uo = local_upstream(port);
  uo.retry.max_retries = 0;
  return uo;
}

TEST(ClientTimeouts, ConnectTimeout) {
  BlackholeListener blackhole;
  ClientHost host(/*manual_clock=*/true);
  auto uo = no_retry(blackhole.port());
  uo.timeouts.connect_ms = 1'000;
  client::Upstream* up = host.upstream(uo);
  auto p = host.start(up, get("/"));
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().connect_attempts.get() == 1; }));
  host.advance(999);
  host.sync();
  EXPECT_FALSE(p->ready());
  host.advance(2);
  EXPECT_EQ(p->wait().error, ClientError::kConnectTimeout);
  EXPECT_EQ(up->metrics().error_count(ClientError::kConnectTimeout), 1u);
}

TEST(ClientTimeouts, FirstByteTimeout) {
  std::atomic<bool> got{false};
  RawServer backend([&](RawConn& c) {
    c.read_request();
    got = true;
    c.wait_eof();
  });
  ClientHost host(/*manual_clock=*/true);
  auto uo = no_retry(backend.port());
  uo.timeouts.first_byte_ms = 1'000;
  client::Upstream* up = host.upstream(uo);
  auto p = host.start(up, get("/"));
  ASSERT_TRUE(TestServer::wait_until([&] { return got.load(); }));
  host.advance(999);
  host.sync();
  EXPECT_FALSE(p->ready());
  host.advance(2);
  EXPECT_EQ(p->wait().error, ClientError::kFirstByteTimeout);
}

TEST(ClientTimeouts, IdleBodyTimeout) {
  std::atomic<bool> sent{false};
  RawServer backend([&](RawConn& c) {
    c.read_request();
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    sent = true;
    c.wait_eof();
  });
  ClientHost host(/*manual_clock=*/true);
  auto uo = no_retry(backend.port());
  uo.timeouts.idle_body_ms = 2'000;
  client::Upstream* up = host.upstream(uo);
  auto p = host.start(up, get("/"));
  ASSERT_TRUE(TestServer::wait_until([&] {
    return up->metrics().responses[2].get() == 1;  // the head arrived
  }));
  host.advance(1'999);
  host.sync();
  EXPECT_FALSE(p->ready());
  host.advance(2);
  EXPECT_EQ(p->wait().error, ClientError::kIdleTimeout);
}

TEST(ClientTimeouts, WholeRequestTimeout) {
  std::atomic<bool> got{false};
  RawServer backend([&](RawConn& c) {
    c.read_request();
    got = true;
    c.wait_eof();
  });
  ClientHost host(/*manual_clock=*/true);
  auto uo = no_retry(backend.port());
  uo.timeouts.total_ms = 1'500;
  uo.timeouts.first_byte_ms = 10'000;
  client::Upstream* up = host.upstream(uo);
  auto p = host.start(up, get("/"));
  ASSERT_TRUE(TestServer::wait_until([&] { return got.load(); }));
  host.advance(1'499);
  host.sync();
  EXPECT_FALSE(p->ready());
  host.advance(2);
  EXPECT_EQ(p->wait().error, ClientError::kRequestTimeout);
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().open.get() == 0; }));
}

// A request's own deadline replaces the upstream's.
TEST(ClientTimeouts, ARequestsOwnDeadlineReplacesTheUpstreams) {
  std::atomic<bool> got{false};
  RawServer backend([&](RawConn& c) {
    c.read_request();
    got = true;
    c.wait_eof();
  });
  ClientHost host(/*manual_clock=*/true);
  auto uo = no_retry(backend.port());
  uo.timeouts.total_ms = 60'000;
  uo.timeouts.first_byte_ms = 10'000;
  client::Upstream* up = host.upstream(uo);
  client::ClientRequest req = get("/");
  req.total_ms = 500;
  auto p = host.start(up, std::move(req));
  ASSERT_TRUE(TestServer::wait_until([&] { return got.load(); }));
  host.advance(499);
  host.sync();
  EXPECT_FALSE(p->ready());
  host.advance(2);
  EXPECT_EQ(p->wait().error, ClientError::kRequestTimeout);
}

}  // namespace
}  // namespace ringshard::test
