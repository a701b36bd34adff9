// The provided-buffer ring running dry (ENOBUFS) must cost nothing but a
// re-armed receive: no data lost, no connection closed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/routes.h"
#include "tests/support/http_client.h"
#include "tests/support/test_server.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

TEST(Buffers, RingRunningDryLosesNothing) {
  TestServerOptions o;
  o.shards = 1;
  o.routes = add_test_routes;
  o.tweak = [](server::Options& opt) {
    opt.recv_buffer_count = 16;  // the minimum: 16 x 1 KiB for 64 senders
    opt.recv_buffer_size = 1024;
  };
  TestServer server(o);
  std::vector<TestConnection> clients;
  for (int i = 0; i < 64; ++i) clients.emplace_back(server.port());
  std::vector<std::string> bodies;
  for (int round = 0; round < 3; ++round) {
    bodies.clear();
    for (size_t i = 0; i < clients.size(); ++i) {
      std::string body(20'000 + i * 37, 'x');
      for (size_t k = 0; k < body.size(); ++k) body[k] = static_cast<char>('A' + (k + i) % 26);
      ASSERT_TRUE(clients[i].send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                  std::to_string(body.size()) + "\r\n\r\n" + body));
      bodies.push_back(std::move(body));
    }
    for (size_t i = 0; i < clients.size(); ++i) {
      auto r = clients[i].read_response();
      ASSERT_TRUE(r) << "client " << i << ": " << clients[i].error();
      ASSERT_EQ(r->status, 200);
      ASSERT_EQ(r->body, bodies[i]) << "client " << i;
    }
  }
  // 64 x 20 KB arriving at once through 16 KiB of buffers: the ring ran
  // dry, and the receives were re-armed.
  EXPECT_GT(server.engine_sum([](auto& m) { return m.recv_no_buffers.get(); }), 0u);
  EXPECT_EQ(server.engine_sum([](auto& m) { return m.cq_overflow.get(); }), 0u);
  EXPECT_EQ(server.engine_sum([](auto& m) { return m.open.get(); }), 64u);
}

TEST(Buffers, RouteBodyLimitOverridesTheDefault) {
  TestServerOptions o;
  o.routes = [](http::Router& r) {
    r.add(http::Method::kPost, "/small",
          [](http::ServerRequest& req, http::Response& res) { res.send(200, "text/plain", req.body()); },
          http::RouteOptions{16});
  };
  TestServer server(o);
  TestConnection ok(server.port());
  ASSERT_TRUE(ok.send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n0123456789abcdef"));
  auto r = ok.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  TestConnection big(server.port());
  ASSERT_TRUE(big.send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n0123456789abcdefg"));
  r = big.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  TestConnection chunked(server.port());
  ASSERT_TRUE(chunked.send("POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "10\r\n0123456789abcdef\r\n1\r\nx\r\n0\r\n\r\n"));
  r = chunked.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(chunked.wait_closed());
}

}  // namespace
}  // namespace ringshard::test
