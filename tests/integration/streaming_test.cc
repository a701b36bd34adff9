// Large responses to slow readers, and clients that vanish mid-request or
// mid-response.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/integration/routes.h"
#include "tests/support/http_client.h"
#include "tests/support/test_server.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

TestServerOptions opts() {
  TestServerOptions o;
  o.shards = 2;
  o.routes = add_test_routes;
  o.tweak = [](server::Options& opt) { opt.send_queue_limit = 256 * 1024; };
  return o;
}

TEST(Streaming, SixtyFourMiBToASlowReaderKeepsMemoryBounded) {
  TestServer server(opts());
  TestConnection c(server.port(), 30'000);
  const int rcvbuf = 64 * 1024;
  setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  constexpr uint64_t kTotal = 64ull << 20;
  ASSERT_TRUE(c.send("GET /stream-len?" + std::to_string(kTotal) + " HTTP/1.1\r\nHost: x\r\n\r\n"));

  const size_t rss_before = current_rss_bytes();
  size_t rss_peak = rss_before;
  std::string head;
  char buf[16384];
  uint64_t body = 0;
  bool head_done = false;
  uint64_t reads = 0;
  while (body < kTotal) {
    const ssize_t n = ::recv(c.fd(), buf, sizeof(buf), 0);
    ASSERT_GT(n, 0) << "server stopped after " << body << " body bytes";
    size_t off = 0;
    if (!head_done) {
      head.append(buf, static_cast<size_t>(n));
      const size_t e = head.find("\r\n\r\n");
      if (e == std::string::npos) continue;
      ASSERT_EQ(head.substr(0, 12), "HTTP/1.1 200");
      head_done = true;
      const std::string rest = head.substr(e + 4);
      for (size_t i = 0; i < rest.size(); ++i) ASSERT_EQ(rest[i], stream_byte(body + i));
      body += rest.size();
      continue;
    }
    for (; off < static_cast<size_t>(n); ++off) {
      ASSERT_EQ(buf[off], stream_byte(body + off)) << "at byte " << body + off;
    }
    body += static_cast<uint64_t>(n);
    // A slow reader: pause every 64 reads so the server's send queue fills
    // and backpressure has to hold it.
    if (++reads % 64 == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      rss_peak = std::max(rss_peak, current_rss_bytes());
    }
  }
  EXPECT_EQ(body, kTotal);
  // The server never buffered the body: growth stays far below 64 MiB.
  if (rss_is_meaningful()) {
    EXPECT_LT(rss_peak - rss_before, 16u << 20)
        << "RSS grew by " << (rss_peak - rss_before) / 1024 << " KiB";
  }
  EXPECT_GT(server.engine_sum([](auto& m) { return m.backpressure_pauses.get(); }), 0u);
  // The connection is still usable afterwards.
  ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->body, "Hello, World!");
}

TEST(Streaming, ClientClosingMidRequestFreesTheConnection) {
  TestServer server(opts());
  {
    TestConnection c(server.port());
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"));
    TestConnection d(server.port());
    ASSERT_TRUE(d.send("GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Partial"));
    ASSERT_TRUE(TestServer::wait_until(
        [&] { return server.engine_sum([](auto& m) { return m.bytes_in.get(); }) > 60; }));
  }  // both close here
  ASSERT_TRUE(TestServer::wait_until(
      [&] { return server.engine_sum([](auto& m) { return m.open.get(); }) == 0; }));
  auto r = get(server.port(), "/plaintext");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(Streaming, ClientClosingMidResponseFreesTheConnection) {
  TestServer server(opts());
  for (int i = 0; i < 20; ++i) {
    TestConnection c(server.port());
    ASSERT_TRUE(c.send("GET /stream?100000000 HTTP/1.1\r\nHost: x\r\n\r\n"));
    char buf[4096];
    ASSERT_GT(::recv(c.fd(), buf, sizeof(buf), 0), 0);
    if (i % 2 == 0) {
      // An abortive close (RST) on every other connection.
      linger l{1, 0};
      setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
  }
  ASSERT_TRUE(TestServer::wait_until(
      [&] { return server.engine_sum([](auto& m) { return m.open.get(); }) == 0; }));
  auto r = get(server.port(), "/plaintext");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace ringshard::test
