// Micro benchmarks of the HTTP hot path: request-head parsing, chunked
// decoding, response-head serialisation, response-head parsing and routing.
// Every benchmark's name starts with "Http" (--benchmark_filter=Http). Items
// are operations (parses, bodies, heads, matches); bytes are input bytes
// read or head bytes written. Each benchmark checks its first result and
// stops with an error if the code under test does not do what is measured.
//
// main() comes from the bench executable (ringshard_micro_bench), not from
// this file.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/chunked.h"
#include "http/parser.h"
#include "http/request.h"
#include "http/response_head.h"
#include "http/response_parser.h"
#include "http/router.h"

namespace ringshard::http {
namespace {

// A TechEmpower /plaintext request as wrk sends it: 40 bytes.
constexpr std::string_view kPlaintextRequest =
    "GET /plaintext HTTP/1.1\r\nHost: local\r\n\r\n";
static_assert(kPlaintextRequest.size() == 40);

// What Chrome 120 sends for a page load, cookies and client hints included:
// about 700 bytes and 15 fields.
constexpr std::string_view kBrowserRequest =
    "GET /wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg HTTP/1.1\r\n"
    "Host: www.kittyhell.com\r\n"
    "Connection: keep-alive\r\n"
    "sec-ch-ua: \"Not_A Brand\";v=\"8\", \"Chromium\";v=\"120\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
    "image/webp,image/apng,*/*;q=0.8\r\n"
    "Sec-Fetch-Site: none\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Cookie: wp_ozh_wsa_visits=2; wp_ozh_wsa_visit_lasttime=xxxxxxxxxx\r\n"
    "\r\n";
static_assert(kBrowserRequest.size() >= 680 && kBrowserRequest.size() <= 720);

// A typical answer from a web server in front of an application.
constexpr std::string_view kTypicalResponse =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Sat, 21 Nov 2026 06:54:53 GMT\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Length: 615\r\n"
    "Last-Modified: Tue, 11 Apr 2023 01:45:34 GMT\r\n"
    "Connection: keep-alive\r\n"
    "ETag: \"6434bbbe-267\"\r\n"
    "Cache-Control: max-age=3600\r\n"
    "Accept-Ranges: bytes\r\n"
    "\r\n";

constexpr std::string_view kDate = "Sat, 21 Nov 2026 06:54:53 GMT";

void report(benchmark::State& state, size_t bytes_per_item) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(bytes_per_item));
  state.SetLabel(std::to_string(bytes_per_item) + " B");
}

void parse_request(benchmark::State& state, std::string_view raw) {
  RequestParser parser;
  Request req;
  ParseResult first = parser.parse(raw, req);
  if (first.status != ParseStatus::kComplete || first.consumed != raw.size()) {
    state.SkipWithError("request did not parse");
    return;
  }
  for (auto _ : state) {
    ParseResult r = parser.parse(raw, req);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(req);
  }
  report(state, raw.size());
}

void HttpParseRequestPlaintext(benchmark::State& state) {
  parse_request(state, kPlaintextRequest);
}
BENCHMARK(HttpParseRequestPlaintext);

void HttpParseRequestBrowser(benchmark::State& state) {
  parse_request(state, kBrowserRequest);
}
BENCHMARK(HttpParseRequestBrowser);

// 64 KiB of body as 16 chunks of 4 KiB, then the last chunk.
std::string chunked_body() {
  std::string out;
  const std::string data(4096, 'x');
  for (int i = 0; i < 16; ++i) out += "1000\r\n" + data + "\r\n";
  out += "0\r\n\r\n";
  return out;
}

// The decoder hands chunk data to the sink as views without reading it, so
// this measures the framing work: size lines, CRLFs, state changes.
void HttpChunkedDecode64KiB(benchmark::State& state) {
  const std::string encoded = chunked_body();
  ChunkedDecoder decoder;
  uint64_t delivered = 0;
  auto sink = [&delivered](std::string_view data) { delivered += data.size(); };
  for (auto _ : state) {
    decoder.reset();
    ChunkedResult r = decoder.feed(encoded, sink);
    benchmark::DoNotOptimize(r);
    if (r.status != ChunkedStatus::kDone || r.consumed != encoded.size()) {
      state.SkipWithError("chunked body did not decode");
      return;
    }
  }
  benchmark::DoNotOptimize(delivered);
  if (delivered != 65536u * static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("wrong body size");
    return;
  }
  report(state, encoded.size());
}
BENCHMARK(HttpChunkedDecode64KiB);

// The same body as it comes off the network in 1500-byte reads that do not
// line up with the chunks: size lines split across reads are presented
// again with the next read appended, as the HTTP driver does.
void HttpChunkedDecode64KiBIn1500ByteReads(benchmark::State& state) {
  const std::string encoded = chunked_body();
  const std::string_view all = encoded;
  ChunkedDecoder decoder;
  uint64_t delivered = 0;
  auto sink = [&delivered](std::string_view data) { delivered += data.size(); };
  for (auto _ : state) {
    decoder.reset();
    size_t begin = 0;
    size_t end = 0;
    ChunkedResult r;
    do {
      end = std::min(end + 1500, all.size());
      r = decoder.feed(all.substr(begin, end - begin), sink);
      begin += r.consumed;
    } while (r.status == ChunkedStatus::kNeedMore && end < all.size());
    benchmark::DoNotOptimize(r);
    if (r.status != ChunkedStatus::kDone || begin != all.size()) {
      state.SkipWithError("chunked body did not decode");
      return;
    }
  }
  benchmark::DoNotOptimize(delivered);
  if (delivered != 65536u * static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("wrong body size");
    return;
  }
  report(state, encoded.size());
}
BENCHMARK(HttpChunkedDecode64KiBIn1500ByteReads);

void serialize_head(benchmark::State& state, const ResponseHead& head) {
  std::array<char, 1024> buf;
  for (auto _ : state) {
    const size_t want = response_head_size(head);
    const size_t n = serialize_response_head(head, buf.data());
    benchmark::DoNotOptimize(buf.data());
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(want);
    benchmark::ClobberMemory();
  }
  report(state, response_head_size(head));
}

ResponseHead plaintext_head() {
  ResponseHead head;
  head.status = 200;
  head.server = "ringshard";
  head.date = kDate;
  head.content_type = "text/plain";
  head.has_length = true;
  head.length = 13;
  return head;
}

void HttpSerializeResponseHeadPlaintext(benchmark::State& state) {
  serialize_head(state, plaintext_head());
}
BENCHMARK(HttpSerializeResponseHeadPlaintext);

void HttpSerializeResponseHeadFourExtra(benchmark::State& state) {
  static constexpr std::array<HeaderField, 4> kExtra = {{
      {"Cache-Control", "no-store"},
      {"X-Request-Id", "7f3a9c2e-52b1-4c1d-9a0e-2d5b8e4f6a17"},
      {"Vary", "Accept-Encoding"},
      {"Access-Control-Allow-Origin", "*"},
  }};
  ResponseHead head = plaintext_head();
  head.content_type = "application/json";
  head.length = 27;
  head.connection = ResponseHead::Connection::kKeepAlive;
  head.extra = kExtra;
  serialize_head(state, head);
}
BENCHMARK(HttpSerializeResponseHeadFourExtra);

void HttpParseResponseTypical(benchmark::State& state) {
  ResponseParser parser;
  ParsedResponse res;
  ParseResult first = parser.parse(kTypicalResponse, res);
  if (first.status != ParseStatus::kComplete ||
      res.body_kind != ResponseBodyKind::kContentLength) {
    state.SkipWithError("response did not parse");
    return;
  }
  for (auto _ : state) {
    ParseResult r = parser.parse(kTypicalResponse, res);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(res);
  }
  report(state, kTypicalResponse.size());
}
BENCHMARK(HttpParseResponseTypical);

// Ten literal routes, the kind a benchmark or API server has, and two with
// a parameter.
Router bench_router() {
  Router router;
  auto noop = [](ServerRequest&, Response&) {};
  for (std::string_view path :
       {"/plaintext", "/json", "/db", "/queries", "/fortunes", "/updates",
        "/cached-queries", "/health", "/metrics", "/v1/deployments"}) {
    router.add(Method::kGet, path, noop);
  }
  router.add(Method::kGet, "/v1/deployments/{id}", noop);
  router.add(Method::kGet, "/v1/deployments/{id}/logs", noop);
  return router;
}

void match_route(benchmark::State& state, std::string_view path,
                 size_t want_params) {
  const Router router = bench_router();
  PathParams params;
  RouteMatch first = router.match(Method::kGet, path, params);
  if (first.handler == nullptr || params.count != want_params) {
    state.SkipWithError("route did not match");
    return;
  }
  for (auto _ : state) {
    RouteMatch m = router.match(Method::kGet, path, params);
    benchmark::DoNotOptimize(m);
    benchmark::DoNotOptimize(params);
  }
  report(state, path.size());
}

// The last literal route added: every literal before it is compared first.
void HttpRouterMatchLiteral(benchmark::State& state) {
  match_route(state, "/v1/deployments", 0);
}
BENCHMARK(HttpRouterMatchLiteral);

void HttpRouterMatchParam(benchmark::State& state) {
  match_route(state, "/v1/deployments/dep-4f2a9c", 1);
}
BENCHMARK(HttpRouterMatchParam);

}  // namespace
}  // namespace ringshard::http
