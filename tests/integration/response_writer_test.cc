// Pushed responses (Response::start, AsyncResponse::start, ResponseWriter):
// 64 MiB to a slow reader with write()==false / on_writable backpressure,
// framing (Content-Length, chunked), the caller's headers, HEAD, a client
// going away mid-response, the stall deadline on a ManualClock, a deferred
// start and stale handles.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http/server.h"
#include "tests/integration/routes.h"
#include "tests/support/http_client.h"
#include "tests/support/test_server.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

constexpr uint32_t kSendQueueLimit = 256 * 1024;
constexpr size_t kBlock = 16 * 1024;

struct Probe {
  std::atomic<int> aborts{0};
  std::atomic<int> last_abort{-1};
  std::atomic<uint64_t> max_queued{0};
  std::atomic<uint64_t> false_writes{0};
  std::atomic<int> stale_ok{0};
  std::atomic<int> invalid_writer{0};
};

// One pushed response: `total` bytes of the stream_byte pattern in 16 KiB
// writes, waiting for on_writable whenever a write says the queue is full.
struct Push {
  http::ResponseWriter w;
  std::shared_ptr<Probe> probe;
  uint64_t sent = 0;
  uint64_t total = 0;
  std::string block;
};

void push_more(const std::shared_ptr<Push>& st) {
  while (st->sent < st->total) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, st->total - st->sent));
    st->block.resize(n);
    for (size_t i = 0; i < n; ++i) st->block[i] = stream_byte(st->sent + i);
    st->sent += n;
    const bool more = st->w.write(st->block);
    const uint64_t q = st->w.queued();
    if (q > st->probe->max_queued.load()) st->probe->max_queued = q;
    if (!more) {
      st->probe->false_writes++;
      return;  // on_writable calls again
    }
  }
  st->w.end();
}

using Headers = std::vector<std::pair<std::string_view, std::string_view>>;

void add_routes(http::Router& r, const std::shared_ptr<Probe>& probe) {
  add_test_routes(r);
  // GET /push?N (Content-Length) or /push?cN (chunked).
  r.add(http::Method::kGet, "/push", [probe](http::ServerRequest& req, http::Response& res) {
    std::string_view q = req.query();
    const bool chunked = !q.empty() && q.front() == 'c';
    if (chunked) q.remove_prefix(1);
    auto st = std::make_shared<Push>();
    st->probe = probe;
    st->total = std::stoull(std::string(q));
    const Headers h = {{"Content-Type", "application/octet-stream"}};
    st->w = res.start(200, h, chunked ? std::nullopt : std::optional<uint64_t>(st->total));
    st->w.on_writable([st] { push_more(st); });
    st->w.on_abort([probe](http::AbortReason why) {
      probe->last_abort = static_cast<int>(why);
      probe->aborts++;
    });
    push_more(st);
  });
  r.add(http::Method::kGet, "/headers", [](http::ServerRequest&, http::Response& res) {
    res.header("X-Before", "b");
    const Headers h = {{"Content-Type", "application/x-test"}, {"X-Up", "1"},
                       {"Content-Length", "999"},             {"Connection", "close"},
                       {"Date", "bogus"},                     {"Transfer-Encoding", "gzip"}};
    http::ResponseWriter w = res.start(201, h, 5);
    w.write("hel");
    w.write("lo");
    w.end();
  });
  r.add(http::Method::kGet, "/bad-header", [probe](http::ServerRequest&, http::Response& res) {
    const Headers h = {{"X-Bad", "a\r\nb"}};
    http::ResponseWriter w = res.start(200, h, 1);
    if (!w.valid() && !w.write("x")) probe->invalid_writer++;
  });
  // Writes "abc" and then nothing: the stall deadline ends it.
  r.add(http::Method::kGet, "/stall", [probe](http::ServerRequest&, http::Response& res) {
    http::ResponseWriter w = res.start(200, {}, std::nullopt);
    w.on_abort([probe](http::AbortReason why) {
      probe->last_abort = static_cast<int>(why);
      probe->aborts++;
    });
    w.set_stall_timeout(5'000);
    w.write("abc");
  });
  // Ends 7 bytes short of its length: the connection closes, no notice.
  r.add(http::Method::kGet, "/short", [probe](http::ServerRequest&, http::Response& res) {
    http::ResponseWriter w = res.start(200, {}, 10);
    w.on_abort([probe](http::AbortReason) { probe->aborts++; });
    w.write("abc");
    w.end();
  });
  // Deferred, then started from a task in a later loop turn.
  r.add(http::Method::kGet, "/later", [probe](http::ServerRequest& req, http::Response& res) {
    res.header("X-Held", "h");
    http::AsyncResponse answer = res.defer();
    req.shard().execute([answer, probe](engine::Shard&) mutable {
      const Headers h = {{"Content-Type", "text/plain"}};
      http::ResponseWriter w = answer.start(200, h, std::nullopt);
      w.write("la");
      w.write("te");
      http::ResponseWriter copy = w;
      w.end();
      // Every copy of an ended writer is stale, and harmless.
      if (!copy.valid() && !copy.write("x") && copy.queued() == 0) probe->stale_ok++;
      copy.end();
      if (!answer.start(200, h, 1).valid()) probe->stale_ok++;
    });
  });
}

TestServerOptions opts(const std::shared_ptr<Probe>& probe, bool manual_clock = false) {
  TestServerOptions o;
  o.shards = 1;
  o.manual_clock = manual_clock;
  o.routes = [probe](http::Router& r) { add_routes(r, probe); };
  o.tweak = [](server::Options& opt) { opt.send_queue_limit = kSendQueueLimit; };
  return o;
}

TEST(ResponseWriter, SixtyFourMiBToASlowReaderWaitsForWritable) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port(), 60'000);
  const int rcvbuf = 64 * 1024;
  setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  constexpr uint64_t kTotal = 64ull << 20;
  const size_t rss_before = current_rss_bytes();
  size_t rss_peak = rss_before;
  ASSERT_TRUE(c.send("GET /push?" + std::to_string(kTotal) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string head;
  char buf[16384];
  uint64_t body = 0;
  uint64_t reads = 0;
  bool head_done = false;
  while (body < kTotal) {
    const ssize_t n = ::recv(c.fd(), buf, sizeof(buf), 0);
    ASSERT_GT(n, 0) << "server stopped after " << body << " body bytes";
    std::string_view got(buf, static_cast<size_t>(n));
    if (!head_done) {
      head.append(got);
      const size_t e = head.find("\r\n\r\n");
      if (e == std::string::npos) continue;
      ASSERT_EQ(head.substr(0, 12), "HTTP/1.1 200");
      ASSERT_NE(head.find("Content-Length: " + std::to_string(kTotal)), std::string::npos);
      head_done = true;
      got = std::string_view(head).substr(e + 4);
    }
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], stream_byte(body + i)) << "at byte " << body + i;
    }
    body += got.size();
    if (++reads % 64 == 0) {
      // A slow reader: the queue fills and the producer has to wait.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      rss_peak = std::max(rss_peak, current_rss_bytes());
    }
  }
  EXPECT_EQ(body, kTotal);
  EXPECT_GT(probe->false_writes.load(), 10u);
  // The producer never queued more than one block past the limit.
  EXPECT_LE(probe->max_queued.load(), kSendQueueLimit + kBlock + 1024);
  if (rss_is_meaningful()) {
    EXPECT_LT(rss_peak - rss_before, 16u << 20) << (rss_peak - rss_before) / 1024 << " KiB";
  }
  EXPECT_EQ(probe->aborts.load(), 0);
  ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->body, "Hello, World!");
}

TEST(ResponseWriter, WithoutALengthTheBodyIsChunked) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("GET /push?c100000 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /push?c0 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->header("transfer-encoding"), "chunked");
  ASSERT_EQ(r->body.size(), 100'000u);
  for (size_t i = 0; i < r->body.size(); ++i) ASSERT_EQ(r->body[i], stream_byte(i));
  r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->body, "");
  // HTTP/1.0: close-delimited.
  TestConnection d(server.port());
  ASSERT_TRUE(d.send("GET /push?c5000 HTTP/1.0\r\n\r\n"));
  r = d.read_response();
  ASSERT_TRUE(r) << d.error();
  EXPECT_EQ(r->header("transfer-encoding"), "");
  EXPECT_EQ(r->body.size(), 5'000u);
}

TEST(ResponseWriter, TheCallersHeadersGoOutButNotTheServersOwn) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("GET /headers HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->header("content-length"), "5");
  EXPECT_EQ(r->header("content-type"), "application/x-test");
  EXPECT_EQ(r->header("x-up"), "1");
  EXPECT_EQ(r->header("x-before"), "b");
  EXPECT_EQ(r->header("transfer-encoding"), "");
  EXPECT_NE(r->header("date"), "bogus");
  EXPECT_NE(r->header("connection"), "close");
  ASSERT_TRUE(c.send("GET /bad-header HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(probe->invalid_writer.load(), 1);
}

TEST(ResponseWriter, HeadSendsTheHeadOnly) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("HEAD /push?70000 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response(/*head_request=*/true);
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-length"), "70000");
  r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->body, "Hello, World!");
}

TEST(ResponseWriter, AClientGoingAwayMidResponseAborts) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  for (int i = 0; i < 4; ++i) {
    TestConnection c(server.port());
    const int rcvbuf = 16 * 1024;
    setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    ASSERT_TRUE(c.send("GET /push?100000000 HTTP/1.1\r\nHost: x\r\n\r\n"));
    char buf[4096];
    ASSERT_GT(::recv(c.fd(), buf, sizeof(buf), 0), 0);
    ASSERT_TRUE(TestServer::wait_until([&] { return probe->false_writes.load() > uint64_t(i); }));
    if (i % 2 == 0) {
      linger l{1, 0};
      setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
  }
  ASSERT_TRUE(TestServer::wait_until([&] { return probe->aborts.load() == 4; }));
  EXPECT_EQ(probe->last_abort.load(), static_cast<int>(http::AbortReason::kClosed));
  EXPECT_EQ(server.http_sum([](auto& m) { return m.writer_aborts.get(); }), 4u);
  ASSERT_TRUE(TestServer::wait_until(
      [&] { return server.engine_sum([](auto& m) { return m.open.get(); }) == 0; }));
  auto r = get(server.port(), "/plaintext");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(ResponseWriter, AStalledResponseIsAbortedAtItsDeadline) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe, /*manual_clock=*/true));
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("GET /stall HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string got;
  while (got.find("abc") == std::string::npos) ASSERT_TRUE(c.read_some(got)) << c.error();
  server.advance(4'999);
  EXPECT_EQ(probe->aborts.load(), 0);
  server.advance(2);
  ASSERT_TRUE(TestServer::wait_until([&] { return probe->aborts.load() == 1; }));
  EXPECT_EQ(probe->last_abort.load(), static_cast<int>(http::AbortReason::kTimeout));
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(probe->aborts.load(), 1);  // once, not again at the close
}

TEST(ResponseWriter, EndingShortOfTheLengthClosesTheConnection) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("GET /short HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(c.read_response());  // a short body, then the close
  EXPECT_TRUE(c.wait_closed());
  ASSERT_TRUE(TestServer::wait_until(
      [&] { return server.engine_sum([](auto& m) { return m.open.get(); }) == 0; }));
  EXPECT_EQ(probe->aborts.load(), 0);
}

TEST(ResponseWriter, ADeferredAnswerStartsLaterAndStaleHandlesAreHarmless) {
  auto probe = std::make_shared<Probe>();
  TestServer server(opts(probe));
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("GET /later HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "late");
  EXPECT_EQ(r->header("x-held"), "h");
  EXPECT_EQ(r->header("transfer-encoding"), "chunked");
  r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->body, "Hello, World!");
  EXPECT_EQ(probe->stale_ok.load(), 2);
}

}  // namespace
}  // namespace ringshard::test
