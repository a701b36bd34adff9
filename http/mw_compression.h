// http/mw_compression.h: the response compression middleware (gzip, br)
// over http/compression.h.
//
// before() reads Accept-Encoding and notes the coding the client prefers
// in RequestContext::coding (0 identity, 1 gzip, 2 br; http/accept_encoding.h
// decides, br only when the policy offers it). on_response() asks
// decide_compression() with the response's facts: status, HEAD, Content-
// Type, whether the handler (or an inner middleware) added Content-Encoding
// or "Cache-Control: no-transform" (Response::added_header: the last field
// of that name), and the body size. Then:
//   - Vary: Accept-Encoding whenever the decision says so (the body would
//     be compressed for some Accept-Encoding), unless a Vary already added
//     names accept-encoding or "*". HEAD gets it as GET would.
//   - A whole body chosen for compression is compressed at once with the
//     shard's kept Compressor into a per-shard buffer, which is swapped
//     into *ResponseInfo::storage (so both keep their capacity); info.body
//     points at it and Content-Encoding is added; the server then writes
//     Content-Length of the compressed bytes. If the encoder fails, or its
//     output is not smaller than the body, the body goes out unchanged
//     (still with Vary).
//   - Streamed bodies (Response::stream) are not compressed: they get Vary
//     only. Compressing them needs a body filter in BodyStream::write (see
//     the report of the branch that added this file).
// A strong ETag the handler set is left as it is (Response cannot replace
// a header yet); handlers that set strong ETags on compressible bodies
// should make them weak.
//
// ORDER. Register it first (outermost): its on_response() runs last, so it
// sees the final body and the headers every other middleware added.
//
// COST. before(): one pass over Accept-Encoding, no allocation.
// on_response(): gzip with a kept zlib state allocates nothing once the
// shard's buffer has grown; br creates its encoder per response
// (libbrotlienc has no reset; see http/compression.h).
//
// METRICS. ringshard_compression_responses_total{coding} and
// ringshard_compression_bytes_total{coding,direction="in"|"out"}.
//
// THREADS. Shared by every shard; each shard uses only its own
// Compressors and buffer (RequestContext::shard < shards). write_metrics()
// from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/compression.h"
#include "http/middleware.h"

namespace ringshard::http {

struct CompressionConfig {
  bool enabled = true;
  bool brotli = true;
  size_t min_size = kDefaultCompressMinSize;
  std::vector<std::string> types = default_compressible_types();  // prefixes
  int gzip_level = kDefaultGzipLevel;      // 1..9
  int brotli_quality = kDefaultBrotliLevel;  // 0..11
  unsigned shards = 1;
};

class CompressionMiddleware final : public Middleware {
 public:
  explicit CompressionMiddleware(CompressionConfig config);
  ~CompressionMiddleware() override;

  bool before(ServerRequest& req, Response& res, RequestContext& ctx) const override;
  void on_response(const ServerRequest* req, Response& res, ResponseInfo& info,
                   RequestContext& ctx) const override;
  void write_metrics(obs::PrometheusWriter& out) const override;

  // Totals over shards (tests): responses compressed with `coding`.
  uint64_t compressed(Coding coding) const;

 private:
  struct Shard;
  CompressionConfig config_;
  CompressionPolicy policy_;  // views config_.types
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace ringshard::http
