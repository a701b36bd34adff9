// Bodies through the reverse proxy, streamed both ways with bounded memory:
// 64 MiB uploads and downloads between a blocking test client and an
// in-process ringshard backend, through an in-process proxy. The backend
// checksums what it reads (upload) or pushes a known pattern through a
// ResponseWriter honouring write() == false / on_writable (download); the
// client compares. The process's resident set (proxy, backend and client
// all live in it) is sampled before, during and after: it must grow far
// less than the body, which proves neither side buffers the transfer.
// Variants: a slow client (small reads, small SO_RCVBUF), a slow backend
// (pausing its body reader, producing one block per loop turn), a chunked
// upload, and a client leaving mid-transfer (the upstream side is dropped).
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <memory>
#include <string>

#include "tests/integration/proxy_support.h"
#include "tests/integration/routes.h"
#include "tests/support/http_client.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

constexpr uint64_t kBig = 64ull << 20;
constexpr size_t kRssBound = 40u << 20;  // growth allowed, well under the body

// FNV-1a over the body, byte by byte: order and content both count.
struct Digest {
  uint64_t h = 1469598103934665603ull;
  uint64_t n = 0;
  void add(std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    n += s.size();
  }
  std::string text() const { return std::to_string(n) + " " + std::to_string(h); }
};

// What the backend's routes saw, read by the test thread.
struct Probe {
  std::atomic<uint64_t> reader_pauses{0};   // upload: on_data said "full"
  std::atomic<uint64_t> writer_waits{0};    // download: write() said "full"
  std::atomic<int> body_errors{0};
  std::atomic<uint64_t> received{0};        // upload bytes read
};

uint64_t query_number(std::string_view q) {
  uint64_t n = 0;
  std::from_chars(q.data(), q.data() + q.size(), n);
  return n;
}

// POST /sum, POST /sum-slow: "bytes digest chunked" of the body read as a
// stream. The slow one says "full" on every other chunk and resumes from a
// task in a later loop turn (deterministic, no timer).
void add_sum_route(http::Router& r, const std::string& path, std::shared_ptr<Probe> probe,
                   bool slow) {
  http::RouteOptions o;
  o.stream_body = true;
  o.max_body = 128ull << 20;
  r.add(http::Method::kPost, path, [probe, slow](http::ServerRequest& req, http::Response& res) {
    http::AsyncResponse answer = res.defer();
    http::RequestBodyReader body = req.body_reader();
    auto digest = std::make_shared<Digest>();
    auto chunks = std::make_shared<uint64_t>(0);
    const std::string chunked = body.chunked() ? " chunked" : " length";
    engine::Shard* shard = &req.shard();
    body.on_data([=](std::string_view chunk) {
      digest->add(chunk);
      probe->received += chunk.size();
      if (slow && ++*chunks % 2 == 0) {
        probe->reader_pauses++;
        shard->execute([body](engine::Shard&) mutable { body.resume(); });
        return false;
      }
      return true;
    });
    body.on_end([=]() mutable { answer.send(200, "text/plain", digest->text() + chunked); });
    body.on_error([probe](http::BodyError) { probe->body_errors++; });
  }, o);
}

// GET /download?N, GET /download-slow?N: N bytes of the stream_byte()
// pattern with Content-Length, pushed through a ResponseWriter: a write()
// that says "full" waits for on_writable. The slow one writes one block
// per loop turn.
struct Download {
  http::ResponseWriter out;
  uint64_t total = 0;
  uint64_t sent = 0;
  bool slow = false;
  engine::Shard* shard = nullptr;
  std::shared_ptr<Probe> probe;
  std::string block;
};

void pump(const std::shared_ptr<Download>& d) {
  constexpr size_t kBlock = 64 * 1024;
  while (d->sent < d->total) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, d->total - d->sent));
    d->block.resize(n);
    for (size_t i = 0; i < n; ++i) d->block[i] = stream_byte(d->sent + i);
    d->sent += n;
    if (!d->out.write(d->block)) {
      d->probe->writer_waits++;
      return;  // on_writable pumps again
    }
    if (d->slow) {
      d->shard->execute([d](engine::Shard&) { pump(d); });
      return;
    }
  }
  d->out.end();
}

void add_download_route(http::Router& r, const std::string& path, std::shared_ptr<Probe> probe,
                        bool slow) {
  r.add(http::Method::kGet, path, [probe, slow](http::ServerRequest& req, http::Response& res) {
    auto d = std::make_shared<Download>();
    d->total = query_number(req.query());
    d->slow = slow;
    d->shard = &req.shard();
    d->probe = probe;
    d->out = res.start(200, {}, d->total);
    d->out.on_writable([d] { pump(d); });
    pump(d);
  });
}

struct Rig {
  std::shared_ptr<Probe> probe = std::make_shared<Probe>();
  std::unique_ptr<TestServer> backend;
  std::unique_ptr<TestServer> proxy;
  Rig() {
    TestServerOptions bo;
    bo.shards = 1;
    auto p = probe;
    bo.routes = [p](http::Router& r) {
      add_sum_route(r, "/sum", p, false);
      add_sum_route(r, "/sum-slow", p, true);
      add_download_route(r, "/download", p, false);
      add_download_route(r, "/download-slow", p, true);
    };
    backend = std::make_unique<TestServer>(bo);
    auto group = upstream_group("app", {backend->port()});
    group.retry.attempts = 1;
    proxy = start_proxy({.upstreams = {group}});
  }
};

// Resident set samples: before, the highest seen, at the end.
struct Rss {
  size_t before = current_rss_bytes();
  size_t peak = before;
  void sample() { peak = std::max(peak, current_rss_bytes()); }
  void expect_bounded() {
    sample();
    const size_t end = current_rss_bytes();
    if (!rss_is_meaningful()) return;
    EXPECT_LT(peak - before, kRssBound) << "peak growth " << (peak - before);
    EXPECT_LT(end > before ? end - before : 0, kRssBound);
  }
};

// Sends a `total`-byte upload of the pattern to `path` (Content-Length, or
// chunked in `piece`-sized chunks) and returns the response.
std::optional<HttpResponse> upload(TestConnection& c, const std::string& path, uint64_t total,
                                   bool chunked, Rss& rss, Digest& sent) {
  constexpr size_t kPiece = 256 * 1024;
  std::string head = "POST " + path + " HTTP/1.1\r\nHost: x\r\n";
  head += chunked ? "Transfer-Encoding: chunked\r\n\r\n"
                  : "Content-Length: " + std::to_string(total) + "\r\n\r\n";
  if (!c.send(head)) return std::nullopt;
  std::string piece;
  piece.reserve(kPiece + 32);
  for (uint64_t at = 0; at < total; at += kPiece) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kPiece, total - at));
    piece.clear();
    if (chunked) {
      char line[32];
      const int len = std::snprintf(line, sizeof(line), "%zx\r\n", n);
      piece.append(line, static_cast<size_t>(len));
    }
    const size_t data_at = piece.size();
    piece.resize(data_at + n);
    for (size_t i = 0; i < n; ++i) piece[data_at + i] = stream_byte(at + i);
    sent.add(std::string_view(piece).substr(data_at, n));
    if (chunked) piece += "\r\n";
    if (!c.send(piece)) {
      ADD_FAILURE() << "send failed at " << at << ": " << c.error();
      return std::nullopt;
    }
    if ((at / kPiece) % 32 == 0) rss.sample();
  }
  if (chunked && !c.send("0\r\n\r\n")) return std::nullopt;
  auto r = c.read_response();
  EXPECT_TRUE(r.has_value()) << c.error();
  return r;
}

// Reads a Content-Length response of `total` pattern bytes from the raw
// socket in `read_size` pieces, checking every byte without keeping the
// body. Returns the number of bytes that matched in order.
uint64_t download(TestConnection& c, const std::string& path, uint64_t total, size_t read_size,
                  Rss& rss) {
  if (!c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")) return 0;
  std::string head;
  std::string buf(std::max<size_t>(read_size, 4096), '\0');
  size_t end = std::string::npos;
  while (end == std::string::npos) {
    const ssize_t n = ::recv(c.fd(), buf.data(), read_size, 0);
    if (n <= 0) {
      ADD_FAILURE() << "no response head";
      return 0;
    }
    head.append(buf.data(), static_cast<size_t>(n));
    end = head.find("\r\n\r\n");
  }
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head.substr(0, 200);
  std::string lower = head.substr(0, end);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  EXPECT_NE(lower.find("content-length: " + std::to_string(total)), std::string::npos) << lower;
  uint64_t at = 0;
  bool intact = true;
  auto check = [&](std::string_view piece) {
    for (char ch : piece) {
      if (intact && ch != stream_byte(at)) intact = false;
      at += intact ? 1 : 0;
    }
  };
  check(std::string_view(head).substr(end + 4));
  uint64_t received = head.size() - end - 4;
  uint64_t samples = 0;
  while (received < total && intact) {
    const ssize_t n = ::recv(c.fd(), buf.data(), read_size, 0);
    if (n <= 0) {
      ADD_FAILURE() << "the download stopped at " << received;
      break;
    }
    check(std::string_view(buf.data(), static_cast<size_t>(n)));
    received += static_cast<uint64_t>(n);
    if (received / (4u << 20) != samples) {
      samples = received / (4u << 20);
      rss.sample();
    }
  }
  EXPECT_TRUE(intact) << "byte " << at << " differs";
  EXPECT_EQ(received, total);
  return at;
}

TEST(ProxyBody, SixtyFourMiBUploadIsStreamedToTheBackend) {
  Rig rig;
  TestConnection c(rig.proxy->port(), 60'000);
  Rss rss;
  Digest sent;
  auto r = upload(c, "/sum", kBig, /*chunked=*/false, rss, sent);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, sent.text() + " length");
  rss.expect_bounded();
  EXPECT_EQ(rig.probe->body_errors.load(), 0);
}

TEST(ProxyBody, SixtyFourMiBUploadToASlowBackendIsPausedNotBuffered) {
  Rig rig;
  TestConnection c(rig.proxy->port(), 60'000);
  Rss rss;
  Digest sent;
  auto r = upload(c, "/sum-slow", kBig, /*chunked=*/false, rss, sent);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, sent.text() + " length");
  EXPECT_GT(rig.probe->reader_pauses.load(), 100u);
  rss.expect_bounded();
}

TEST(ProxyBody, ChunkedUploadIsStreamedChunked) {
  Rig rig;
  TestConnection c(rig.proxy->port(), 60'000);
  Rss rss;
  Digest sent;
  auto r = upload(c, "/sum", 16u << 20, /*chunked=*/true, rss, sent);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  // No length was known: the proxy streams it on chunked.
  EXPECT_EQ(r->body, sent.text() + " chunked");
  rss.expect_bounded();
  // The connection goes on.
  Digest small;
  r = upload(c, "/sum", 1000, /*chunked=*/true, rss, small);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, small.text() + " chunked");
}

TEST(ProxyBody, SixtyFourMiBDownloadIsStreamedToTheClient) {
  Rig rig;
  TestConnection c(rig.proxy->port(), 60'000);
  Rss rss;
  EXPECT_EQ(download(c, "/download?" + std::to_string(kBig), kBig, 256 * 1024, rss), kBig);
  rss.expect_bounded();
  // The connection goes on.
  EXPECT_EQ(download(c, "/download?1000", 1000, 4096, rss), 1000u);
}

TEST(ProxyBody, SixtyFourMiBDownloadToASlowClientHoldsTheBackend) {
  Rig rig;
  TestConnection c(rig.proxy->port(), 60'000);
  const int rcvbuf = 16 * 1024;
  ASSERT_EQ(::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
  Rss rss;
  EXPECT_EQ(download(c, "/download?" + std::to_string(kBig), kBig, 4096, rss), kBig);
  // The backend was told "full" and waited: the proxy passed the client's
  // pace back instead of reading ahead.
  EXPECT_GT(rig.probe->writer_waits.load(), 0u);
  rss.expect_bounded();
}

TEST(ProxyBody, SixtyFourMiBDownloadFromASlowBackend) {
  Rig rig;
  TestConnection c(rig.proxy->port(), 60'000);
  Rss rss;
  EXPECT_EQ(download(c, "/download-slow?" + std::to_string(kBig), kBig, 64 * 1024, rss), kBig);
  rss.expect_bounded();
}

TEST(ProxyBody, AClientLeavingMidUploadEndsTheBackendsBody) {
  Rig rig;
  {
    TestConnection c(rig.proxy->port());
    ASSERT_TRUE(c.send("POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                       std::to_string(kBig) + "\r\n\r\n"));
    ASSERT_TRUE(c.send(std::string(1u << 20, 'a')));
    ASSERT_TRUE(TestServer::wait_until([&] { return rig.probe->received.load() > 0; }));
  }  // gone with 63 MiB unsent
  // The proxy drops the upstream exchange: the backend's body ends in an
  // error instead of waiting for the rest.
  ASSERT_TRUE(TestServer::wait_until([&] { return rig.probe->body_errors.load() == 1; }));
  EXPECT_TRUE(TestServer::wait_until([&] {
    return metric(proxy_metrics(*rig.proxy), "ringshard_proxy_client_aborts_total",
                  "upstream=\"app\"") == 1;
  }));
  ASSERT_TRUE(TestServer::wait_until(
      [&] { return rig.backend->engine_sum([](auto& m) { return m.open.get(); }) == 0; }));
}

TEST(ProxyBody, AClientLeavingMidDownloadCancelsTheUpstream) {
  Rig rig;
  {
    TestConnection c(rig.proxy->port());
    ASSERT_TRUE(c.send("GET /download?" + std::to_string(kBig) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string got;
    while (got.size() < (1u << 20)) ASSERT_TRUE(c.read_some(got)) << c.error();
  }  // gone with 63 MiB unread
  ASSERT_TRUE(TestServer::wait_until([&] {
    return metric(proxy_metrics(*rig.proxy), "ringshard_proxy_client_aborts_total",
                  "upstream=\"app\"") == 1;
  })) << proxy_metrics(*rig.proxy);
  // The upstream connection, mid-body, is closed rather than pooled.
  ASSERT_TRUE(TestServer::wait_until(
      [&] { return rig.backend->engine_sum([](auto& m) { return m.open.get(); }) == 0; }));
  // And the proxy goes on serving.
  TestConnection next(rig.proxy->port());
  Rss rss;
  EXPECT_EQ(download(next, "/download?100000", 100'000, 4096, rss), 100'000u);
}

}  // namespace
}  // namespace ringshard::test
