// The two seams together, as a reverse proxy uses them: a 64 MiB upload
// (RequestBodyReader) relayed as it arrives into a 64 MiB download
// (ResponseWriter) on another connection of the same shard, to a client
// that reads slowly. Backpressure goes both ways (write()==false pauses the
// upload, on_writable resumes it), so the server holds a bounded amount
// whatever the sizes: the test checks the queued and buffered bytes seen
// at every step, and the process's RSS.
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
constexpr uint64_t kTotal = 64ull << 20;

// Shard-thread state (one shard), plus what the test thread reads.
struct Relay {
  http::ResponseWriter out;  // shard thread only
  std::atomic<bool> out_started{false};
  std::atomic<uint64_t> max_queued{0};
  std::atomic<uint64_t> max_buffered{0};
  std::atomic<uint64_t> pauses{0};
  std::atomic<int> errors{0};
};

void add_relay_routes(http::Router& r, const std::shared_ptr<Relay>& relay) {
  add_test_routes(r);
  r.add(http::Method::kGet, "/relay/out", [relay](http::ServerRequest&, http::Response& res) {
    using H = std::pair<std::string_view, std::string_view>;
    const H h[] = {{"Content-Type", "application/octet-stream"}};
    relay->out = res.start(200, h, kTotal);
    relay->out_started = true;
  });
  http::RouteOptions o;
  o.stream_body = true;
  o.max_body = 128ull << 20;
  r.add(http::Method::kPost, "/relay/in", [relay](http::ServerRequest& req, http::Response& res) {
    if (!relay->out.valid()) {
      res.send_error(409, "no download waiting");
      return;
    }
    http::AsyncResponse answer = res.defer();
    http::RequestBodyReader in = req.body_reader();
    http::ResponseWriter out = relay->out;
    in.on_data([relay, in, out](std::string_view chunk) mutable {
      const bool more = out.write(chunk);
      relay->max_queued = std::max<uint64_t>(relay->max_queued.load(), out.queued());
      relay->max_buffered = std::max<uint64_t>(relay->max_buffered.load(), in.buffered());
      if (!more) relay->pauses++;
      return more;  // false: stop reading the upload until on_writable
    });
    out.on_writable([in]() mutable { in.resume(); });
    in.on_end([out, answer]() mutable {
      out.end();
      answer.send(200, "text/plain", "relayed");
    });
    in.on_error([relay, out](http::BodyError) mutable {
      relay->errors++;
      out.abort();
    });
  }, o);
}

TEST(StreamRelay, SixtyFourMiBUploadRelayedToASlowDownloadStaysBounded) {
  auto relay = std::make_shared<Relay>();
  TestServerOptions o;
  o.shards = 1;  // both connections on one shard, as a proxy's two sides
  o.routes = [relay](http::Router& r) { add_relay_routes(r, relay); };
  o.tweak = [](server::Options& opt) { opt.send_queue_limit = kSendQueueLimit; };
  TestServer server(o);

  std::string piece(256 * 1024, '\0');
  const size_t rss_before = current_rss_bytes();
  std::atomic<size_t> rss_peak{rss_before};

  TestConnection down(server.port(), 60'000);
  const int rcvbuf = 64 * 1024;
  setsockopt(down.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  ASSERT_TRUE(down.send("GET /relay/out HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(TestServer::wait_until([&] { return relay->out_started.load(); }));

  // The slow reader, on its own thread, checks every byte.
  std::atomic<uint64_t> got{0};
  std::atomic<bool> bad{false};
  std::atomic<bool> paused_first{false};
  std::thread reader([&] {
    // Nothing is read until the relay has paused once: the download's
    // queue and socket buffers fill, whatever the speeds of the two sides,
    // so backpressure is exercised deterministically.
    paused_first = TestServer::wait_until([&] { return relay->pauses.load() > 0; });
    std::string head;
    char buf[16384];
    uint64_t body = 0;
    uint64_t reads = 0;
    bool head_done = false;
    while (body < kTotal) {
      const ssize_t n = ::recv(down.fd(), buf, sizeof(buf), 0);
      if (n <= 0) break;
      std::string_view data(buf, static_cast<size_t>(n));
      if (!head_done) {
        head.append(data);
        const size_t e = head.find("\r\n\r\n");
        if (e == std::string::npos) continue;
        head_done = true;
        if (head.substr(0, 12) != "HTTP/1.1 200") bad = true;
        data = std::string_view(head).substr(e + 4);
      }
      for (size_t i = 0; i < data.size(); ++i) {
        if (data[i] != stream_byte(body + i)) bad = true;
      }
      body += data.size();
      got = body;
      if (++reads % 64 == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        rss_peak = std::max(rss_peak.load(), current_rss_bytes());
      }
    }
  });

  TestConnection up(server.port(), 60'000);
  ASSERT_TRUE(up.send("POST /relay/in HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                      std::to_string(kTotal) + "\r\n\r\n"));
  for (uint64_t at = 0; at < kTotal; at += piece.size()) {
    for (size_t i = 0; i < piece.size(); ++i) piece[i] = stream_byte(at + i);
    ASSERT_TRUE(up.send(piece)) << "at " << at;
  }
  auto r = up.read_response();
  reader.join();
  ASSERT_TRUE(r) << up.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(got.load(), kTotal);
  EXPECT_FALSE(bad.load());
  EXPECT_EQ(relay->errors.load(), 0);
  // The upload waited on the download...
  EXPECT_TRUE(paused_first.load()) << "the relay never paused before the reader started";
  EXPECT_GE(relay->pauses.load(), 1u);
  // ...so the download's queue stayed within one receive buffer of its
  // limit, and the upload's held input within a few receive buffers.
  EXPECT_LE(relay->max_queued.load(), kSendQueueLimit + 16 * 1024 + 1024);
  EXPECT_LT(relay->max_buffered.load(), 4u << 20);
  if (rss_is_meaningful()) {
    EXPECT_LT(rss_peak.load() - rss_before, 24u << 20)
        << (rss_peak.load() - rss_before) / 1024 << " KiB";
  }
  // Both connections go on.
  ASSERT_TRUE(down.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto p = down.read_response();
  ASSERT_TRUE(p) << down.error();
  EXPECT_EQ(p->body, "Hello, World!");
}

}  // namespace
}  // namespace ringshard::test
