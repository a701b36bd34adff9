// End-to-end HTTP/1.1 behaviour of the server over real loopback sockets.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "tests/integration/routes.h"
#include "tests/support/http_client.h"
#include "tests/support/test_server.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

TestServerOptions with_routes(unsigned shards = 2) {
  TestServerOptions o;
  o.shards = shards;
  o.routes = add_test_routes;
  return o;
}

TEST(HttpServer, BuiltinRoutes) {
  TestServer server(with_routes());
  auto r = get(server.port(), "/plaintext");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Hello, World!");
  EXPECT_EQ(r->header("content-type"), "text/plain");
  EXPECT_FALSE(r->header("date").empty());
  r = get(server.port(), "/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, R"({"message":"Hello, World!"})");
  EXPECT_EQ(r->header("content-type"), "application/json");
  r = get(server.port(), "/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServer, NotFoundAndMethodNotAllowed) {
  TestServer server(with_routes());
  auto r = get(server.port(), "/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find(R"("code":"not_found")"), std::string::npos);
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("DELETE /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("allow"), "GET, HEAD");
  // Not a framing error: the connection stays usable.
  ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServer, PathParameters) {
  TestServer server(with_routes());
  auto r = get(server.port(), "/users/42/items/abc?x=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "42/abc");
  r = get(server.port(), "/users/42/items/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST(HttpServer, ThousandPipelinedRequestsInOneWriteAnsweredInOrder) {
  TestServer server(with_routes());
  TestConnection c(server.port());
  std::string batch;
  std::vector<std::string> expected;
  for (int i = 0; i < 1000; ++i) {
    switch (i % 4) {
      case 0:
        batch += "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";
        expected.push_back("Hello, World!");
        break;
      case 1:
        batch += "GET /async?" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
        expected.push_back("async:" + std::to_string(i));
        break;
      case 2: {
        const std::string body = "body-" + std::to_string(i);
        batch += "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body;
        expected.push_back(body);
        break;
      }
      case 3:
        batch += "GET /users/" + std::to_string(i) + "/items/z HTTP/1.1\r\nHost: x\r\n\r\n";
        expected.push_back(std::to_string(i) + "/z");
        break;
    }
  }
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 1000; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << "response " << i << ": " << c.error();
    ASSERT_EQ(r->status, 200) << i;
    ASSERT_EQ(r->body, expected[static_cast<size_t>(i)]) << i;
  }
}

TEST(HttpServer, FiveHundredConcurrentKeepAliveClientsOverAllShards) {
  TestServer server(with_routes(4));
  std::vector<TestConnection> clients;
  clients.reserve(500);
  for (int i = 0; i < 500; ++i) {
    clients.emplace_back(server.port());
    ASSERT_TRUE(clients.back().ok());
  }
  for (int round = 0; round < 3; ++round) {
    for (auto& c : clients) ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
    for (auto& c : clients) {
      auto r = c.read_response();
      ASSERT_TRUE(r) << c.error();
      ASSERT_EQ(r->status, 200);
    }
  }
  EXPECT_EQ(server.engine_sum([](auto& m) { return m.accepted.get(); }), 500u);
  for (unsigned i = 0; i < 4; ++i) {
    EXPECT_GT(server.engine().shard(i).metrics().accepted.get(), 0u)
        << "shard " << i << " got no connection";
  }
  EXPECT_EQ(server.http_sum([](auto& m) { return m.requests.get(); }), 1500u);
}

TEST(HttpServer, HeadHasNoBodyButContentLength) {
  TestServer server(with_routes());
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("HEAD /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response(/*head_request=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-length"), "13");
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "Hello, World!");  // no stray body bytes from the HEAD
}

TEST(HttpServer, Http10ClosesUnlessKeepAliveAsked) {
  TestServer server(with_routes());
  {
    TestConnection c(server.port());
    ASSERT_TRUE(c.send("GET /plaintext HTTP/1.0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c.wait_closed());
  }
  {
    TestConnection c(server.port());
    ASSERT_TRUE(c.send("GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("connection"), "keep-alive");
    ASSERT_TRUE(c.send("GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

TEST(HttpServer, ConnectionCloseIsHonoured) {
  TestServer server(with_routes());
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.wait_closed());
}

TEST(HttpServer, ChunkedRequestBody) {
  TestServer server(with_routes());
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n"));
  ASSERT_TRUE(c.send("1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: 1\r\n\r\n"
                     "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world!");
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "Hello, World!");
}

TEST(HttpServer, BodySplitAcrossManyWrites) {
  TestServer server(with_routes());
  TestConnection c(server.port());
  std::string body(300'000, 'q');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  const std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  for (size_t off = 0; off < req.size(); off += 7777) {
    ASSERT_TRUE(c.send(std::string_view(req).substr(off, 7777)));
  }
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, body);
}

TEST(HttpServer, ExpectContinue) {
  TestServer server(with_routes());
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                     "Expect: 100-continue\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 100);
  ASSERT_TRUE(c.send("abcde"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "abcde");
}

TEST(HttpServer, ExpectContinueNotSentWhenBodyTooLarge) {
  TestServer server(with_routes());
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n"
                     "Expect: 100-continue\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c.wait_closed());
}

TEST(HttpServer, HandlerExceptionBecomes500AndServerKeepsServing) {
  TestServer server(with_routes());
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("GET /throw HTTP/1.1\r\nHost: x\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.http_sum([](auto& m) { return m.handler_exceptions.get(); }), 1u);
}

TEST(HttpServer, StreamedResponsesChunkedAndWithLength) {
  TestServer server(with_routes());
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("GET /stream?100000 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /stream-len?70000 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->header("transfer-encoding"), "chunked");
  ASSERT_EQ(r->body.size(), 100000u);
  for (size_t i = 0; i < r->body.size(); ++i) ASSERT_EQ(r->body[i], stream_byte(i)) << i;
  r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->header("content-length"), "70000");
  ASSERT_EQ(r->body.size(), 70000u);
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "Hello, World!");
}

TEST(HttpServer, ClientHalfCloseAfterRequestStillGetsAnswer) {
  TestServer server(with_routes());
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("GET /async?x HTTP/1.1\r\nHost: x\r\n\r\n"));
  c.shutdown_write();
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->body, "async:x");
  EXPECT_TRUE(c.wait_closed());
}

}  // namespace
}  // namespace ringshard::test

namespace ringshard::test {
namespace RS_UNITY_ID {

// A response queued in the loop turn just before the shard starts draining
// must still be delivered: the drain closes idle connections, and this one
// looks idle while its answer waits for the end-of-turn flush.
TEST(HttpServer, ResponseQueuedJustBeforeDrainIsDelivered) {
  TestServerOptions o;
  o.shards = 1;
  o.routes = [](http::Router& r) {
    r.add(http::Method::kGet, "/drain", [](http::ServerRequest& req, http::Response& res) {
      res.send(200, "text/plain", "bye");
      req.shard().engine().drain();
    });
  };
  TestServer server(o);
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("GET /drain HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "bye");
  EXPECT_TRUE(c.wait_closed());
}

}  // namespace
}  // namespace ringshard::test
