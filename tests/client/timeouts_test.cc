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

// A backend that reads the request and never answers: the exchange ends
// at `deadline_ms` (the upstream's total_ms, or the request's own), not a
// millisecond before.
void expect_request_timeout_at(uint32_t upstream_total_ms, uint32_t request_total_ms,
                               uint64_t deadline_ms) {
  std::atomic<bool> got{false};
  RawServer backend([&](RawConn& c) {
    c.read_request();
    got = true;
    c.wait_eof();
  });
  ClientHost host(/*manual_clock=*/true);
  auto uo = no_retry(backend.port());
  uo.timeouts.total_ms = upstream_total_ms;
  uo.timeouts.first_byte_ms = 100'000;
  client::Upstream* up = host.upstream(uo);
  client::ClientRequest req = get("/");
  req.total_ms = request_total_ms;
  auto p = host.start(up, std::move(req));
  ASSERT_TRUE(TestServer::wait_until([&] { return got.load(); }));
  host.advance(deadline_ms - 1);
  host.sync();
  EXPECT_FALSE(p->ready());
  host.advance(2);
  EXPECT_EQ(p->wait().error, ClientError::kRequestTimeout);
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().open.get() == 0; }));
}

TEST(ClientTimeouts, WholeRequestTimeout) {
  expect_request_timeout_at(/*upstream_total_ms=*/1'500, /*request_total_ms=*/0, 1'500);
}

TEST(ClientTimeouts, ARequestsOwnDeadlineReplacesTheUpstreams) {
  expect_request_timeout_at(/*upstream_total_ms=*/60'000, /*request_total_ms=*/500, 500);
}

}  // namespace
}  // namespace ringshard::test
