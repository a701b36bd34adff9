// Streamed request bodies (RouteOptions::stream_body, RequestBodyReader):
// Content-Length and chunked bodies handed on as they arrive, the
// consumer's pause/resume, 100-continue, the body limit while streaming,
// a client that goes away mid-body, answers that come before the body's
// end, pipelining behind a streamed body, and the body deadline (on a
// ManualClock).
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>

#include "http/server.h"
#include "tests/integration/routes.h"
#include "tests/support/http_client.h"
#include "tests/support/test_server.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

// What the routes saw, read by the test thread.
struct Probe {
  std::atomic<int> errors{0};
  std::atomic<int> last_error{-1};
  std::atomic<int> ends{0};
  std::atomic<uint64_t> max_buffered{0};
  std::atomic<uint64_t> pauses{0};
  std::atomic<int> stale_ok{0};
};

// FNV-1a over the body, byte by byte: order and content both count.
struct Digest {
  uint64_t h = 1469598103934665603ull;
  uint64_t n = 0;
  void add(std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    n += s.size();
  }
};

std::string expected(std::string_view body) {
  Digest d;
  d.add(body);
  return std::to_string(d.n) + " " + std::to_string(d.h);
}

// POST /sum: the body's length and digest, read as a stream. Every
// `pause_every`-th chunk it says "full" and resumes from a task in a later
// loop turn (deterministic, no timer). The answer also tells has_body and
// chunked: "bytes digest has_body chunked".
void add_sum_route(http::Router& r, std::shared_ptr<Probe> probe, unsigned pause_every,
                   uint64_t max_body = 0) {
  http::RouteOptions o;
  o.stream_body = true;
  o.max_body = max_body;
  r.add(http::Method::kPost, "/sum", [probe, pause_every](http::ServerRequest& req,
                                                          http::Response& res) {
    http::AsyncResponse answer = res.defer();
    http::RequestBodyReader body = req.body_reader();
    auto digest = std::make_shared<Digest>();
    auto chunks = std::make_shared<uint64_t>(0);
    const std::string flags = std::string(body.has_body() ? " 1" : " 0") + (body.chunked() ? " 1" : " 0");
    engine::Shard* shard = &req.shard();
    body.on_data([=](std::string_view chunk) {
      digest->add(chunk);
      const uint64_t held = body.buffered();
      if (held > probe->max_buffered.load()) probe->max_buffered = held;
      if (pause_every != 0 && ++*chunks % pause_every == 0) {
        probe->pauses++;
        shard->execute([body](engine::Shard&) mutable { body.resume(); });
        return false;
      }
      return true;
    });
    body.on_end([=]() mutable {
      probe->ends++;
      answer.send(200, "text/plain",
                  std::to_string(digest->n) + " " + std::to_string(digest->h) + flags);
      // The request is over: the handle is stale, and harmless.
      body.pause();
      body.resume();
      body.on_data([](std::string_view) { return true; });
      if (!body.valid() && body.received() == 0 && !body.has_body()) probe->stale_ok++;
    });
    body.on_error([probe](http::BodyError e) {
      probe->last_error = static_cast<int>(e);
      probe->errors++;
    });
  }, o);
}

// POST /early: 403 at once, the body never read.
void add_early_route(http::Router& r) {
  http::RouteOptions o;
  o.stream_body = true;
  r.add(http::Method::kPost, "/early", [](http::ServerRequest&, http::Response& res) {
    res.send_error(403, "no");
  }, o);
}

// POST /duplex: a pushed response started at once, echoing the body as it
// arrives (full duplex, as a proxy streaming an upstream's early answer).
// Body limit 1,000 bytes.
void add_duplex_route(http::Router& r, std::shared_ptr<Probe> probe) {
  http::RouteOptions o;
  o.stream_body = true;
  o.max_body = 1'000;
  r.add(http::Method::kPost, "/duplex", [probe](http::ServerRequest& req, http::Response& res) {
    http::ResponseWriter out = res.start(200, {}, std::nullopt);
    http::RequestBodyReader in = req.body_reader();
    if (!in.valid()) return;
    in.on_data([out](std::string_view chunk) mutable { return out.write(chunk); });
    out.on_writable([in]() mutable { in.resume(); });
    in.on_end([out]() mutable { out.end(); });
    in.on_error([probe](http::BodyError e) {
      probe->last_error = static_cast<int>(e);
      probe->errors++;
    });
  }, o);
}

// POST /whole: a route without stream_body has no reader, and its body
// whole, as before.
void add_whole_route(http::Router& r) {
  r.add(http::Method::kPost, "/whole", [](http::ServerRequest& req, http::Response& res) {
    res.send(200, "text/plain",
             std::string(req.body_reader().valid() ? "reader " : "no-reader ") +
                 std::string(req.body()));
  });
}

TestServerOptions opts(std::shared_ptr<Probe> probe, unsigned pause_every = 0,
                       uint64_t max_body = 0) {
  TestServerOptions o;
  o.shards = 1;
  o.routes = [=](http::Router& r) {
    add_test_routes(r);
    add_sum_route(r, probe, pause_every, max_body);
    add_early_route(r);
    add_duplex_route(r, probe);
    add_whole_route(r);
  };
  return o;
}

std::string post(std::string_view path, std::string_view body, std::string_view extra = {}) {
  return "POST " + std::string(path) + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + std::string(extra) + "\r\n" + std::string(body);
}

std::string chunked_post(std::string_view path, std::string_view body, size_t piece) {
  std::string out = "POST " + std::string(path) +
                    " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  char line[32];
  for (size_t at = 0; at < body.size(); at += piece) {
    const size_t n = std::min(piece, body.size() - at);
    std::snprintf(line, sizeof(line), "%zx;ext=1\r\n", n);
    out += line;
    out.append(body.substr(at, n));
    out += "\r\n";
  }
  out += "0\r\n\r\n";
  return out;
}

std::string pattern(size_t n, uint64_t from = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = stream_byte(from + i);
  return s;
}

uint64_t open_connections(TestServer& s) {
  return s.engine_sum([](auto& m) { return m.open.get(); });
}

TEST(RequestStream, SixtyFourMiBUploadIsStreamedWithPausesAndBoundedBuffering) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe, /*pause_every=*/7, /*max_body=*/128ull << 20));
  TestConnection c(server.port(), 60'000);
  constexpr uint64_t kTotal = 64ull << 20;
  constexpr size_t kPiece = 256 * 1024;
  std::string piece;  // allocated before the RSS baseline
  piece.reserve(kPiece);
  const size_t rss_before = current_rss_bytes();
  ASSERT_TRUE(c.send("POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                     std::to_string(kTotal) + "\r\n\r\n"));
  Digest sent;
  for (uint64_t at = 0; at < kTotal; at += kPiece) {
    piece.resize(kPiece);
    for (size_t i = 0; i < kPiece; ++i) piece[i] = stream_byte(at + i);
    sent.add(piece);
    ASSERT_TRUE(c.send(piece)) << "at " << at;
  }
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, std::to_string(sent.n) + " " + std::to_string(sent.h) + " 1 0");
  EXPECT_GT(probe->pauses.load(), 100u);
  // Behind a pause only what was already on its way is held: a few
  // receive buffers, never the body.
  EXPECT_LT(probe->max_buffered.load(), 4u << 20) << probe->max_buffered.load();
  if (rss_is_meaningful()) {
    EXPECT_LT(current_rss_bytes() - rss_before, 24u << 20);
  }
  EXPECT_EQ(probe->errors.load(), 0);
  // The connection goes on.
  ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto p = c.read_response();
  ASSERT_TRUE(p) << c.error();
  EXPECT_EQ(p->body, "Hello, World!");
}

TEST(RequestStream, OverTlsToo) {
  auto probe = std::make_shared<Probe>();
  TestServerOptions o = opts(probe, /*pause_every=*/5, /*max_body=*/8u << 20);
  o.tls = true;
  TestServer server(o);
  TestConnection c(server.tls_port(), 30'000);
  ASSERT_TRUE(c.start_tls()) << c.error();
  const std::string body = pattern(4u << 20);
  ASSERT_TRUE(c.send(post("/sum", body)));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->body, expected(body) + " 1 0");
  EXPECT_GT(probe->pauses.load(), 10u);
}

TEST(RequestStream, ChunkedUploadIsDecodedAndStreamed) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe, /*pause_every=*/3));
  TestConnection c(server.port());
  const std::string body = pattern(300'000);
  ASSERT_TRUE(c.send(chunked_post("/sum", body, 7'777)));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, expected(body) + " 1 1");
  // Byte by byte: size lines split across reads.
  const std::string small = pattern(100, 5);
  const std::string wire = chunked_post("/sum", small, 9);
  for (char ch : wire) ASSERT_TRUE(c.send(std::string_view(&ch, 1)));
  r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->body, expected(small) + " 1 1");
}

TEST(RequestStream, NoBodyEndsAtOnce) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  ASSERT_TRUE(c.send(post("/sum", "")));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, expected("") + " 0 0");
  EXPECT_EQ(probe->ends.load(), 1);
  EXPECT_EQ(probe->stale_ok.load(), 1);
}

TEST(RequestStream, OtherRoutesGetTheirBodyWholeAndNoReader) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  // A streamed chunked body first: the plain chunked one behind it on the
  // same connection starts with a fresh decoder.
  ASSERT_TRUE(c.send(chunked_post("/sum", "xy", 1) + post("/whole", "abc") +
                     chunked_post("/whole", "defgh", 2)));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->body, expected("xy") + " 1 1");
  r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->body, "no-reader abc");
  r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->body, "no-reader defgh");
}

TEST(RequestStream, ExpectContinueIsAnsweredWhenReadingStarts) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
                     "Expect: 100-continue\r\n\r\n"));
  std::string got;
  while (got.find("\r\n\r\n") == std::string::npos) ASSERT_TRUE(c.read_some(got)) << c.error();
  EXPECT_EQ(got, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.send("0123456789"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, expected("0123456789") + " 1 0");
}

TEST(RequestStream, AnAnswerWithoutReadingSendsNoContinueAndCloses) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
                     "Expect: 100-continue\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.wait_closed());
}

TEST(RequestStream, ASmallUnreadBodyIsDroppedAndTheConnectionGoesOn) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  // The body arrives in two parts around the answer, then a pipelined GET.
  const std::string body = pattern(50'000);
  const std::string req = post("/early", body);
  ASSERT_TRUE(c.send(req.substr(0, req.size() - 20'000)));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(r->header("connection"), "close");
  ASSERT_TRUE(c.send(req.substr(req.size() - 20'000) +
                     "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Hello, World!");
}

TEST(RequestStream, ALargeUnreadBodyClosesAfterTheAnswer) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 900000\r\n\r\nabc"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.wait_closed());
}

TEST(RequestStream, ChunkedBodyOverTheLimitIs413AndCloses) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe, 0, /*max_body=*/1'000));
  TestConnection c(server.port());
  ASSERT_TRUE(c.send(chunked_post("/sum", pattern(3'000), 500)));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(probe->errors.load(), 1);
  EXPECT_EQ(probe->last_error.load(), static_cast<int>(http::BodyError::kTooLarge));
  // A Content-Length over it never reaches the handler.
  TestConnection d(server.port());
  ASSERT_TRUE(d.send(post("/sum", pattern(1'001))));
  r = d.read_response();
  ASSERT_TRUE(r) << d.error();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(probe->errors.load(), 1);
}

TEST(RequestStream, ABodyReadWhileTheResponseStreamsIsEchoed) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  const std::string body = pattern(900);
  ASSERT_TRUE(c.send(chunked_post("/duplex", body, 100) +
                     "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("transfer-encoding"), "chunked");
  EXPECT_EQ(r->body, body);
  r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->body, "Hello, World!");
}

TEST(RequestStream, ABodyOverTheLimitAfterTheAnswerStartedCloses) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  ASSERT_TRUE(c.send(chunked_post("/duplex", pattern(3'000), 400)));
  const std::string got = c.read_all();  // up to the close
  EXPECT_EQ(got.substr(0, 12), "HTTP/1.1 200");
  // Cut short: no last chunk, which a client could take for the end.
  EXPECT_EQ(got.find("\r\n0\r\n\r\n"), std::string::npos);
  EXPECT_EQ(probe->errors.load(), 1);
  EXPECT_EQ(probe->last_error.load(), static_cast<int>(http::BodyError::kTooLarge));
}

TEST(RequestStream, MalformedChunkedBodyIs400AndCloses) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("POST /sum HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\nzz\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(probe->last_error.load(), static_cast<int>(http::BodyError::kMalformed));
}

TEST(RequestStream, ClientGoingAwayMidUploadIsAnErrorAndOthersAreServed) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  for (int i = 0; i < 4; ++i) {
    TestConnection c(server.port());
    ASSERT_TRUE(c.send("POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" +
                       pattern(100'000)));
    ASSERT_TRUE(TestServer::wait_until([&] {
      return server.http_sum([](auto& m) { return m.bytes_in.get(); }) >= 100'000u * (i + 1);
    }));
    if (i % 2 == 0) {
      linger l{1, 0};  // a reset
      setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
  }
  ASSERT_TRUE(TestServer::wait_until([&] { return probe->errors.load() == 4; }));
  EXPECT_EQ(probe->last_error.load(), static_cast<int>(http::BodyError::kClosed));
  ASSERT_TRUE(TestServer::wait_until([&] { return open_connections(server) == 0; }));
  auto r = get(server.port(), "/plaintext");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(probe->ends.load(), 0);
}

TEST(RequestStream, ABodyWholeBeforeAHalfCloseIsStillServed) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  ASSERT_TRUE(c.send(post("/sum", "abcdef")));
  c.shutdown_write();
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, expected("abcdef") + " 1 0");
  EXPECT_TRUE(c.wait_closed());
}

TEST(RequestStream, APipelinedRequestBehindAStreamedBodyIsServedAfterIt) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe, /*pause_every=*/1));
  TestConnection c(server.port());
  const std::string body = pattern(40'000);
  ASSERT_TRUE(c.send(post("/sum", body) + chunked_post("/sum", "xyz", 1) +
                     "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto a = c.read_response();
  ASSERT_TRUE(a) << c.error();
  EXPECT_EQ(a->body, expected(body) + " 1 0");
  auto b = c.read_response();
  ASSERT_TRUE(b) << c.error();
  EXPECT_EQ(b->body, expected("xyz") + " 1 1");
  auto p = c.read_response();
  ASSERT_TRUE(p) << c.error();
  EXPECT_EQ(p->body, "Hello, World!");
}

TEST(RequestStream, AStalledBodyTimesOutOnTheManualClock) {
  auto probe = std::make_shared<Probe>();
  TestServerOptions o = opts(probe);
  o.manual_clock = true;
  o.tweak = [](server::Options& opt) { opt.body_timeout_ms = 5'000; };
  TestServer server(o);
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"));
  ASSERT_TRUE(TestServer::wait_until([&] {
    return server.http_sum([](auto& m) { return m.bytes_in.get(); }) >= 62u;
  }));
  server.advance(4'000);
  ASSERT_TRUE(c.send("abc"));  // progress restarts the deadline
  ASSERT_TRUE(TestServer::wait_until([&] {
    return server.http_sum([](auto& m) { return m.bytes_in.get(); }) >= 65u;
  }));
  server.advance(4'000);
  EXPECT_EQ(probe->errors.load(), 0);
  server.advance(1'001);
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(probe->last_error.load(), static_cast<int>(http::BodyError::kTimeout));
}

}  // namespace
}  // namespace ringshard::test
