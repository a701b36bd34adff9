// The compression middleware (http/mw_compression.h) in a live server:
// what is compressed (decoded here with zlib and libbrotlidec, decoders
// that are not ours), what is not, and Vary; its setup from Options.
#include <gtest/gtest.h>

#include <brotli/decode.h>
#include <zlib.h>

#include <functional>
#include <memory>
#include <string>

#include "http/mw_compression.h"
#include "http/server.h"
#include "obs/prometheus.h"
#include "server/rate_limit_setup.h"
#include "tests/integration/routes.h"
#include "tests/support/http_client.h"
#include "tests/support/test_server.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

// Compressible, and not trivially: a JSON-ish body of `n` bytes.
std::string text_body(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) {
    s += R"({"id":)" + std::to_string(i) + R"(,"name":"item-)" + std::to_string(i * 7919 % 1000) +
         R"(","ok":true},)";
  }
  s.resize(n);
  return s;
}

std::string gunzip(const std::string& in) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return "<init failed>";
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  char buf[16384];
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  return rc == Z_STREAM_END && zs.avail_in == 0 ? out : "<corrupt gzip>";
}

std::string unbrotli(const std::string& in) {
  BrotliDecoderState* st = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  std::string out;
  size_t avail_in = in.size();
  const auto* next_in = reinterpret_cast<const uint8_t*>(in.data());
  BrotliDecoderResult rc = BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT;
  while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) {
    uint8_t buf[16384];
    size_t avail_out = sizeof buf;
    uint8_t* next_out = buf;
    rc = BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    out.append(reinterpret_cast<char*>(buf), sizeof buf - avail_out);
  }
  BrotliDecoderDestroyInstance(st);
  return rc == BROTLI_DECODER_RESULT_SUCCESS && avail_in == 0 ? out : "<corrupt br>";
}

std::unique_ptr<http::Middleware> make(const std::function<void(server::Options&)>& tweak = {}) {
  server::Options o;
  o.compression_enabled = true;
  if (tweak) tweak(o);
  std::string error;
  auto mw = server::make_compression_middleware(o, 2, error);
  EXPECT_TRUE(mw) << error;
  return mw;
}

// GET /text/{n}: n bytes of text; /png: 8 KiB of image/png; /no-transform:
// 8 KiB of text with Cache-Control: no-transform; /encoded: a body the
// handler gzipped itself; /vary-origin, /vary-ae: 8 KiB of text with a
// Vary of their own; plus the integration routes (/stream, /async...).
TestServerOptions server_with(const http::Middleware* mw) {
  TestServerOptions o;
  o.shards = 2;
  o.routes = [](http::Router& r) {
    add_test_routes(r);
    r.add(http::Method::kGet, "/text/{n}", [](http::ServerRequest& req, http::Response& res) {
      res.send(200, "text/plain; charset=utf-8", text_body(std::stoul(std::string(req.param("n")))));
    });
    r.add(http::Method::kGet, "/data.json", [](http::ServerRequest&, http::Response& res) {
      res.send(200, "application/json", text_body(4096));
    });
    r.add(http::Method::kGet, "/png", [](http::ServerRequest&, http::Response& res) {
      res.send(200, "image/png", text_body(8192));
    });
    r.add(http::Method::kGet, "/no-transform", [](http::ServerRequest&, http::Response& res) {
      res.header("Cache-Control", "public, no-transform, max-age=60");
      res.send(200, "text/plain", text_body(8192));
    });
    r.add(http::Method::kGet, "/encoded", [](http::ServerRequest&, http::Response& res) {
      std::string gz;
      http::compress(http::Coding::kGzip, 6, text_body(8192), gz);
      res.header("Content-Encoding", "gzip");
      res.send(200, "text/plain", gz);
    });
    r.add(http::Method::kGet, "/vary-origin", [](http::ServerRequest&, http::Response& res) {
      res.header("Vary", "Origin");
      res.send(200, "text/plain", text_body(8192));
    });
    r.add(http::Method::kGet, "/vary-ae", [](http::ServerRequest&, http::Response& res) {
      res.header("Vary", "Origin, accept-encoding");
      res.send(200, "text/plain", text_body(8192));
    });
    r.add(http::Method::kGet, "/nothing", [](http::ServerRequest&, http::Response& res) {
      res.send(204, "text/plain", "");
    });
  };
  o.setup = [mw](server::ServerApp& app) { app.add_middleware(mw); };
  return o;
}

HttpResponse fetch(uint16_t port, const std::string& path, const std::string& accept,
                   const std::string& method = "GET") {
  TestConnection c(port);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: x\r\n";
  if (!accept.empty()) req += "Accept-Encoding: " + accept + "\r\n";
  EXPECT_TRUE(c.send(req + "\r\n"));
  auto r = c.read_response(method == "HEAD");
  EXPECT_TRUE(r) << c.error();
  return r ? *r : HttpResponse{};
}

// The raw response bytes (to count header fields), Connection: close.
std::string fetch_raw(uint16_t port, const std::string& path, const std::string& accept) {
  TestConnection c(port);
  EXPECT_TRUE(c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept-Encoding: " +
                     accept + "\r\n\r\n"));
  return c.read_all();
}

// Adds a header in on_response().
class HeaderProbe final : public http::Middleware {
 public:
  void on_response(const http::ServerRequest*, http::Response& res, http::ResponseInfo&,
                   http::RequestContext&) const override {
    res.header("X-Probe", "1");
  }
};

// Whether headers added in on_response() reach the client. Until the
// server lets them through (Response::header() refuses them once the
// response is marked sent, and on_response() runs after that), the
// middleware can only send identity bodies, and the tests that expect a
// coding are skipped rather than failed.
bool on_response_headers_arrive() {
  static const bool arrive = [] {
    HeaderProbe probe;
    TestServerOptions o;
    o.shards = 1;
    o.setup = [&probe](server::ServerApp& app) { app.add_middleware(&probe); };
    TestServer server(o);
    return get(server.port(), "/plaintext")->header("x-probe") == "1";
  }();
  return arrive;
}

#define SKIP_UNLESS_ON_RESPONSE_HEADERS_ARRIVE()                                      \
  if (!on_response_headers_arrive())                                                 \
  GTEST_SKIP() << "the server drops headers added in on_response() (Response::header " \
                  "after the response is marked sent): compression cannot add "      \
                  "Content-Encoding"

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

TEST(Compression, GzipWhenAcceptedAndLargeAndCompressible) {
  SKIP_UNLESS_ON_RESPONSE_HEADERS_ARRIVE();
  auto mw = make();
  TestServer server(server_with(mw.get()));
  for (size_t n : {1024, 4096, 100'000}) {
    HttpResponse r = fetch(server.port(), "/text/" + std::to_string(n), "gzip");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-encoding"), "gzip") << n;
    EXPECT_EQ(r.header("vary"), "Accept-Encoding");
    EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
    EXPECT_LT(r.body.size(), n);
    EXPECT_EQ(gunzip(r.body), text_body(n)) << n;
  }
  // application/json, keep-alive: several compressed bodies in a row on
  // one connection reuse the shard's Compressor.
  TestConnection c(server.port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.send("GET /data.json HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->header("content-encoding"), "gzip");
    EXPECT_EQ(gunzip(r->body), text_body(4096));
  }
  auto* cm = dynamic_cast<http::CompressionMiddleware*>(mw.get());
  ASSERT_NE(cm, nullptr);
  EXPECT_EQ(cm->compressed(http::Coding::kGzip), 8u);
}

TEST(Compression, BrotliPreferredWhenOffered) {
  SKIP_UNLESS_ON_RESPONSE_HEADERS_ARRIVE();
  auto mw = make();
  TestServer server(server_with(mw.get()));
  for (const char* accept : {"gzip, deflate, br", "br", "br;q=0.9, gzip;q=0.9", "*"}) {
    HttpResponse r = fetch(server.port(), "/text/8000", accept);
    EXPECT_EQ(r.header("content-encoding"), "br") << accept;
    EXPECT_EQ(r.header("vary"), "Accept-Encoding");
    EXPECT_EQ(unbrotli(r.body), text_body(8000)) << accept;
  }
  // The client's weights win over our preference.
  HttpResponse r = fetch(server.port(), "/text/8000", "br;q=0.5, gzip");
  EXPECT_EQ(r.header("content-encoding"), "gzip");
  EXPECT_EQ(gunzip(r.body), text_body(8000));
  // br turned off: gzip.
  auto no_br = make([](server::Options& o) { o.brotli = false; });
  TestServer other(server_with(no_br.get()));
  r = fetch(other.port(), "/text/8000", "br, gzip");
  EXPECT_EQ(r.header("content-encoding"), "gzip");
  EXPECT_EQ(gunzip(r.body), text_body(8000));
  r = fetch(other.port(), "/text/8000", "br");
  EXPECT_EQ(r.header("content-encoding"), "");
  EXPECT_EQ(r.header("vary"), "Accept-Encoding");
  EXPECT_EQ(r.body, text_body(8000));
}

TEST(Compression, IdentityWhereCompressionDoesNotApply) {
  SKIP_UNLESS_ON_RESPONSE_HEADERS_ARRIVE();
  auto mw = make();
  TestServer server(server_with(mw.get()));
  const uint16_t port = server.port();
  // Below the threshold (1024): no coding, and no Vary (no client would
  // get another body).
  HttpResponse r = fetch(port, "/text/1023", "gzip, br");
  EXPECT_EQ(r.header("content-encoding"), "");
  EXPECT_EQ(r.header("vary"), "");
  EXPECT_EQ(r.body, text_body(1023));
  // Not a compressible type.
  r = fetch(port, "/png", "gzip, br");
  EXPECT_EQ(r.header("content-encoding"), "");
  EXPECT_EQ(r.header("vary"), "");
  EXPECT_EQ(r.body, text_body(8192));
  // Cache-Control: no-transform.
  r = fetch(port, "/no-transform", "gzip, br");
  EXPECT_EQ(r.header("content-encoding"), "");
  EXPECT_EQ(r.body, text_body(8192));
  // The handler encoded the body itself: left as it is, one Content-Encoding.
  const std::string raw = fetch_raw(port, "/encoded", "gzip, br");
  EXPECT_EQ(count(raw, "Content-Encoding:"), 1u) << raw.substr(0, 400);
  r = fetch(port, "/encoded", "br");
  EXPECT_EQ(r.header("content-encoding"), "gzip");
  EXPECT_EQ(gunzip(r.body), text_body(8192));
  // No Accept-Encoding, or identity only: the body as it is, with Vary.
  for (const char* accept : {"", "identity", "gzip;q=0, br;q=0", "deflate"}) {
    r = fetch(port, "/text/8192", accept);
    EXPECT_EQ(r.header("content-encoding"), "") << accept;
    EXPECT_EQ(r.header("vary"), "Accept-Encoding") << accept;
    EXPECT_EQ(r.body, text_body(8192)) << accept;
  }
  // 204: nothing to compress.
  r = fetch(port, "/nothing", "gzip");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("content-encoding"), "");
  // Errors the server writes are small: identity.
  r = fetch(port, "/missing", "gzip");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("content-encoding"), "");
}

// HEAD: the headers a GET would get, Vary included, but never a coding
// (the Content-Length is the identity body's).
TEST(Compression, HeadGetsVaryButNoCoding) {
  SKIP_UNLESS_ON_RESPONSE_HEADERS_ARRIVE();
  auto mw = make();
  TestServer server(server_with(mw.get()));
  HttpResponse r = fetch(server.port(), "/text/8192", "gzip, br", "HEAD");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-encoding"), "");
  EXPECT_EQ(r.header("vary"), "Accept-Encoding");
  EXPECT_EQ(r.header("content-length"), "8192");
  EXPECT_EQ(r.body, "");
}

// A Vary the handler set is kept; Accept-Encoding is added once.
TEST(Compression, VaryMergesWithTheHandlers) {
  SKIP_UNLESS_ON_RESPONSE_HEADERS_ARRIVE();
  auto mw = make();
  TestServer server(server_with(mw.get()));
  std::string raw = fetch_raw(server.port(), "/vary-origin", "gzip");
  EXPECT_EQ(count(raw, "\r\nVary: Origin\r\n"), 1u) << raw.substr(0, 400);
  EXPECT_EQ(count(raw, "\r\nVary: Accept-Encoding\r\n"), 1u) << raw.substr(0, 400);
  EXPECT_EQ(count(raw, "Content-Encoding: gzip"), 1u);
  raw = fetch_raw(server.port(), "/vary-ae", "gzip");
  EXPECT_EQ(count(raw, "Vary:"), 1u) << raw.substr(0, 400);
  EXPECT_EQ(count(raw, "Content-Encoding: gzip"), 1u);
}

// A streamed (chunked) body is compressed as it goes: each piece the
// producer writes is compressed and flushed through the stream's own
// compressor; the whole decodes to the original. A stream with a
// Content-Length loses it (the compressed size is not known ahead).
TEST(Compression, StreamedBodiesAreCompressedAsTheyGo) {
  SKIP_UNLESS_ON_RESPONSE_HEADERS_ARRIVE();
  auto mw = make([](server::Options& o) { o.compression_types = {"application/octet-stream"}; });
  TestServer server(server_with(mw.get()));
  for (const char* path : {"/stream?50000", "/stream-len?50000"}) {
    for (const char* accept : {"gzip", "br, gzip"}) {
      SCOPED_TRACE(std::string(path) + " " + accept);
      HttpResponse r = fetch(server.port(), path, accept);
      EXPECT_EQ(r.status, 200);
      const bool br = std::string(accept).find("br") != std::string::npos;
      EXPECT_EQ(r.header("content-encoding"), br ? "br" : "gzip");
      EXPECT_EQ(r.header("vary"), "Accept-Encoding");
      EXPECT_EQ(r.header("content-length"), "");
      EXPECT_EQ(r.header("transfer-encoding"), "chunked");
      const std::string body = br ? unbrotli(r.body) : gunzip(r.body);
      ASSERT_EQ(body.size(), 50000u);
      for (size_t i = 0; i < body.size(); ++i) {
        if (body[i] != stream_byte(i)) {
          ADD_FAILURE() << "byte " << i << " differs";
          break;
        }
      }
    }
  }
  // Without an accepted coding the stream goes out as it is.
  HttpResponse plain = fetch(server.port(), "/stream?50000", "identity");
  EXPECT_EQ(plain.header("content-encoding"), "");
  ASSERT_EQ(plain.body.size(), 50000u);
}

TEST(Compression, ThresholdAndLevelsFromOptions) {
  SKIP_UNLESS_ON_RESPONSE_HEADERS_ARRIVE();
  auto mw = make([](server::Options& o) {
    o.compression_min_size = 100;
    o.gzip_level = 1;
    o.brotli_quality = 11;
  });
  TestServer server(server_with(mw.get()));
  HttpResponse r = fetch(server.port(), "/text/200", "gzip");
  EXPECT_EQ(r.header("content-encoding"), "gzip");
  EXPECT_EQ(gunzip(r.body), text_body(200));
  r = fetch(server.port(), "/text/99", "gzip");
  EXPECT_EQ(r.header("content-encoding"), "");
  r = fetch(server.port(), "/text/5000", "br");
  EXPECT_EQ(r.header("content-encoding"), "br");
  EXPECT_EQ(unbrotli(r.body), text_body(5000));

  std::string text;
  obs::PrometheusWriter w(text);
  mw->write_metrics(w);
  EXPECT_TRUE(w.ok()) << w.error();
  EXPECT_NE(text.find(R"(ringshard_compression_responses_total{coding="gzip"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(ringshard_compression_responses_total{coding="br"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(ringshard_compression_bytes_total{coding="br",direction="in"} 5000)"),
            std::string::npos)
      << text;
}

// Whatever the server lets through, a client never gets an encoded body
// without the Content-Encoding that says so.
TEST(Compression, NeverAnEncodedBodyWithoutContentEncoding) {
  auto mw = make();
  TestServer server(server_with(mw.get()));
  for (const char* accept : {"gzip", "br", "gzip, br", ""}) {
    HttpResponse r = fetch(server.port(), "/text/8192", accept);
    EXPECT_EQ(r.status, 200);
    const std::string coding = r.header("content-encoding");
    const std::string body = coding == "gzip" ? gunzip(r.body)
                             : coding == "br" ? unbrotli(r.body)
                                              : r.body;
    EXPECT_EQ(body, text_body(8192)) << accept << " -> '" << coding << "'";
  }
}

TEST(CompressionSetup, OffWhenDisabledAndErrorsOnBadLevels) {
  server::Options o;
  std::string error = "stale";
  EXPECT_EQ(server::make_compression_middleware(o, 2, error), nullptr);
  EXPECT_EQ(error, "");
  o.compression_enabled = true;
  o.gzip_level = 0;
  EXPECT_EQ(server::make_compression_middleware(o, 2, error), nullptr);
  EXPECT_NE(error.find("gzip_level"), std::string::npos);
  o.gzip_level = 9;
  o.brotli_quality = 12;
  EXPECT_EQ(server::make_compression_middleware(o, 2, error), nullptr);
  EXPECT_NE(error.find("brotli_quality"), std::string::npos);
  o.brotli_quality = 0;
  EXPECT_NE(server::make_compression_middleware(o, 2, error), nullptr);
  EXPECT_EQ(error, "");
}

}  // namespace
}  // namespace ringshard::test
