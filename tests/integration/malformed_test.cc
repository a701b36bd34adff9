// Every malformed or over-limit request gets its status, a JSON error body
// and a closed connection, while a parallel client keeps getting 200s.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/routes.h"
#include "tests/support/http_client.h"
#include "tests/support/test_server.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

struct Case {
  const char* name;
  std::string request;
  int status;
};

std::vector<Case> cases() {
  const std::string big_header(17 * 1024, 'a');
  const std::string long_target(9 * 1024, 'b');
  std::string many_headers = "GET /plaintext HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 101; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  many_headers += "\r\n";
  return {
      {"CL and TE", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"differing CL", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
      {"list CL", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", 400},
      {"signed CL", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", 400},
      {"negative CL", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
      {"TE not ending in chunked", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400},
      {"chunk size not hex", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk size overflow", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nx\r\n0\r\n\r\n", 400},
      {"obs-fold", "GET /plaintext HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  continued\r\n\r\n", 400},
      {"space before colon", "GET /plaintext HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"missing Host", "GET /plaintext HTTP/1.1\r\n\r\n", 400},
      {"repeated Host", "GET /plaintext HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"bare CR", "GET /plaintext HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 400},
      {"NUL in header", std::string("GET /plaintext HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n", 44), 400},
      {"control char in value", "GET /plaintext HTTP/1.1\r\nHost: x\r\nX: a\x01" "b\r\n\r\n", 400},
      {"bare LF", "GET /plaintext HTTP/1.1\nHost: x\n\n", 400},
      {"bare LF in headers", "GET /plaintext HTTP/1.1\r\nHost: x\n\r\n", 400},
      {"bad version", "GET /plaintext HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"garbage version", "GET /plaintext HTTX/1.1\r\nHost: x\r\n\r\n", 400},
      {"head too large", "GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Big: " + big_header + "\r\n\r\n", 431},
      {"target too long", "GET /" + long_target + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
      {"too many headers", many_headers, 431},
      {"body over limit (CL)", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413},
      {"body over limit (chunked)", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n", 413},
      {"chunk without CRLF after data", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400},
      {"whitespace in chunk line", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3 ;a\r\nabc\r\n0\r\n\r\n", 400},
      {"two spaces in request line", "GET  /plaintext HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"unsupported expectation", "GET /plaintext HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n", 417},
  };
}

TEST(Malformed, EachGetsStatusJsonAndCloseWhileOthersKeepWorking) {
  TestServerOptions opts;
  opts.shards = 2;
  opts.routes = add_test_routes;
  TestServer server(opts);

  std::atomic<bool> stop{false};
  std::atomic<int> good{0};
  std::atomic<int> bad{0};
  std::thread bystander([&] {
    TestConnection c(server.port());
    while (!stop.load()) {
      if (!c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")) {
        ++bad;
        return;
      }
      auto r = c.read_response();
      if (r && r->status == 200 && r->body == "Hello, World!") {
        ++good;
      } else {
        ++bad;
        return;
      }
    }
  });

  // Besides the thread, a keep-alive connection opened before the bad ones
  // must be served between every two of them.
  TestConnection neighbour(server.port());
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    TestConnection conn(server.port());
    ASSERT_TRUE(conn.send(c.request));
    auto r = conn.read_response();
    ASSERT_TRUE(r) << conn.error();
    EXPECT_EQ(r->status, c.status);
    EXPECT_EQ(r->header("content-type"), "application/json");
    EXPECT_NE(r->body.find(R"({"error":{"code":")"), std::string::npos) << r->body;
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(conn.wait_closed()) << conn.error();
    ASSERT_TRUE(neighbour.send("GET /json HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto n = neighbour.read_response();
    ASSERT_TRUE(n) << neighbour.error();
    EXPECT_EQ(n->status, 200);
  }
  // The bystander must have been served throughout.
  ASSERT_TRUE(TestServer::wait_until([&] { return good.load() > 50 || bad.load() > 0; }));
  stop = true;
  bystander.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(good.load(), 0);
  EXPECT_EQ(server.http_sum([](auto& m) { return m.parse_errors.get(); }), cases().size());
}

TEST(Malformed, ErrorAfterValidPipelinedRequestsAnswersThemFirst) {
  TestServerOptions opts;
  opts.routes = add_test_routes;
  TestServer server(opts);
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /json HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.wait_closed());  // the request after the bad one is not answered
}

TEST(Malformed, GarbageBytesGet400) {
  TestServer server;
  TestConnection c(server.port());
  std::string junk;
  for (int i = 0; i < 256; ++i) junk += static_cast<char>(i);
  ASSERT_TRUE(c.send(junk));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.wait_closed());
}

}  // namespace
}  // namespace ringshard::test
