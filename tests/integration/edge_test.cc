// HTTP server defects found by reading the engine (issue 10, section 0),
// each pinned by a test over real loopback sockets.
#include <gtest/gtest.h>

#include <string>

#include "http/server.h"
#include "tests/support/http_client.h"
#include "tests/support/test_server.h"

namespace ringshard::test {
namespace {

// A route may accept bodies larger than the server's default: the bytes
// held while the body arrives are bounded by the route's limit, not the
// default (they used to be refused with 413 once past the default).
TEST(Edge, RouteBodyLimitAboveTheDefaultReceivesItsBody) {
  TestServerOptions o;
  o.tweak = [](server::Options& opt) { opt.max_body_bytes = 64 * 1024; };
  o.routes = [](http::Router& r) {
    http::RouteOptions big;
    big.max_body = 4u << 20;
    r.add(http::Method::kPost, "/upload",
          [](http::ServerRequest& req, http::Response& res) {
            res.send(200, "text/plain", std::to_string(req.body().size()));
          },
          big);
    r.add(http::Method::kPost, "/small", [](http::ServerRequest& req, http::Response& res) {
      res.send(200, "text/plain", std::to_string(req.body().size()));
    });
  };
  TestServer server(o);
  const std::string body(3u << 20, 'x');
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n"));
  ASSERT_TRUE(c.send(body));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, std::to_string(body.size()));
  // Chunked, on the same connection.
  std::string chunked = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 32; ++i) chunked += "10000\r\n" + std::string(0x10000, 'y') + "\r\n";
  chunked += "0\r\n\r\n";
  ASSERT_TRUE(c.send(chunked));
  r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, std::to_string(32u << 16));
  // The default still holds where the route has none.
  TestConnection d(server.port());
  ASSERT_TRUE(d.send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"));
  r = d.read_response();
  ASSERT_TRUE(r) << d.error();
  EXPECT_EQ(r->status, 413);
}

}  // namespace
}  // namespace ringshard::test
