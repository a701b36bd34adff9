// http/compression.h: whether to compress a response, and the gzip/brotli
// compressor that does it (whole bodies and streamed ones).
//
//   Coding accepted = choose_encoding(req_accept_encoding, policy.brotli);
//   CompressionDecision d = decide_compression(facts, accepted, policy);
//   if (d.vary) add "Vary: Accept-Encoding" (merged into any Vary already set);
//   if (d.coding != Coding::kIdentity) {
//     add "Content-Encoding: " + coding_name(d.coding);
//     // whole body: Content-Length = compressed size; streamed: none
//     // (chunked), and any Content-Length the handler set is dropped
//     compressor.reset(); compressor.write(chunk, out) ... finish(out);
//     // a strong ETag must become weak (W/"..."): the bytes differ from
//     // the identity representation's (nginx does the same)
//   }
//
// The decision is pure: no allocation, any thread. A Compressor owns zlib
// or brotli encoder state and belongs to one response at a time on one
// shard; it is not thread-safe. Errors are return values (false), never
// exceptions, except std::string growth running out of memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/accept_encoding.h"

struct z_stream_s;
struct BrotliEncoderStateStruct;

namespace ringshard::http {

inline constexpr size_t kDefaultCompressMinSize = 1024;
inline constexpr int kDefaultGzipLevel = 5;    // zlib 1..9
inline constexpr int kDefaultBrotliLevel = 4;  // brotli 0..11; 4 is gzip-6 speed
                                               // with a better ratio
inline constexpr int kBrotliWindowBits = 19;   // 512 KiB, as ngx_brotli

// Media types worth compressing, as prefixes: text/, JSON, JavaScript,
// XML, SVG, WebAssembly, fonts that are not already compressed. A config
// default; the caller owns the list it passes around.
std::vector<std::string> default_compressible_types();

// True when the media type of `content_type` (before any ';', without OWS)
// starts with one of `type_prefixes`, ignoring case. An empty or missing
// Content-Type is not compressible.
bool compressible_type(std::string_view content_type,
                       std::span<const std::string> type_prefixes);

// True when a Cache-Control value has the no-transform directive: a
// comma-separated directive named exactly no-transform (any case), with or
// without a value; text inside a quoted-string does not count. Pass the
// values of several Cache-Control fields joined with ','.
bool has_no_transform(std::string_view cache_control);

struct CompressionPolicy {
  bool enabled = true;
  bool brotli = true;  // br offered at all (pass it to choose_encoding too)
  size_t min_size = kDefaultCompressMinSize;
  std::span<const std::string> types;  // prefixes, see compressible_type
};

// What the decision needs to know about a response.
struct ResponseFacts {
  uint16_t status = 200;
  bool head_request = false;
  std::string_view content_type;
  bool has_content_encoding = false;  // the handler set Content-Encoding
  std::string_view cache_control;     // joined values, empty if none
  std::optional<uint64_t> body_size;  // nullopt: streamed, length unknown
};

struct CompressionDecision {
  Coding coding = Coding::kIdentity;  // kIdentity: send the body as it is
  // Add "Vary: Accept-Encoding": set whenever the body would have been
  // compressed for some Accept-Encoding, compressed now or not, so that a
  // cache never hands the gzip body to a client that cannot read it (or
  // the plain one to every client).
  bool vary = false;
  bool operator==(const CompressionDecision&) const = default;
};

// Compress when all hold: the policy is enabled; `accepted` (from
// choose_encoding) is not identity and is a coding the policy offers; the
// status is not 1xx, 204, 206 (a range is of the unencoded bytes) or 304;
// the request is not HEAD; the handler set no Content-Encoding; Cache-
// Control has no no-transform; the type is compressible; the body is
// streamed or has at least min_size bytes. HEAD gets `vary` as a GET
// would, so its headers match; its body is never compressed.
CompressionDecision decide_compression(const ResponseFacts& facts, Coding accepted,
                                       const CompressionPolicy& policy);

inline bool should_compress(const ResponseFacts& facts, Coding accepted,
                            const CompressionPolicy& policy) {
  return decide_compression(facts, accepted, policy).coding != Coding::kIdentity;
}

// A gzip (zlib deflate, windowBits 31: gzip header and trailer) or brotli
// (BrotliEncoderCompressStream) encoder for one response body at a time.
//
//   Compressor gz(Coding::kGzip, 5);    // one per coding per shard for
//                                       // whole bodies; one per stream for
//                                       // responses sent in pieces
//   gz.reset();
//   gz.write(part1, out);  // out grows by bytes a client can decode now
//   gz.write(part2, out);
//   gz.finish(out);        // the end of the stream
//
// write(flush = true) flushes (Z_SYNC_FLUSH / BROTLI_OPERATION_FLUSH), so
// everything written so far can be decoded from the output so far: right
// for streamed bodies, at a cost of a few bytes per write. Pass
// flush = false to let the encoder buffer (small pieces of a body that
// finish() ends soon anyway). Output is appended to `out`; the caller keeps
// `out` between responses so its capacity is reused.
//
// Memory. gzip: zlib's state (~268 KiB at memLevel 8, window 15) is
// allocated at the first write of the first response and kept: reset() is
// deflateReset, so a kept Compressor allocates nothing per response except
// growth of `out`. brotli: libbrotlienc 1.0 has no reset, so reset()
// destroys the encoder and the next write creates one (window up to
// 512 KiB plus hash tables, per response). Measured (Release, shared
// 2-core machine, so rough; 1 KiB of JSON-like text): gzip level 5 with a
// kept Compressor ~16 us, with fresh state every time ~1.5 ms (the 268 KiB
// goes back to the kernel and is faulted in again: keep gzip
// Compressors); brotli level 4 ~40 us including its fresh encoder.
// A body that needs a whole different memory budget calls for another
// Compressor, not a parameter per call.
//
// After finish() or a failure, write() and finish() return false until
// reset(). Failure means the library could not allocate or reported an
// internal error; `out` may hold a partial stream that must not be sent as
// a complete body.
class Compressor {
 public:
  Compressor(Coding coding, int level);  // coding: kGzip or kBrotli
  ~Compressor();
  Compressor(Compressor&& other) noexcept;
  Compressor& operator=(Compressor&& other) noexcept;
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  Coding coding() const { return coding_; }

  bool write(std::string_view in, std::string& out, bool flush = true);
  bool finish(std::string& out);
  // Starts a new stream (see Memory above).
  void reset();

  // The whole body at once: reset(), write without flushing, finish().
  bool compress(std::string_view in, std::string& out);

 private:
  enum class State : uint8_t { kOpen, kFinished, kFailed };

  bool ensure_gzip();
  bool ensure_brotli(size_t size_hint);
  bool gzip_run(std::string_view in, std::string& out, int flush);
  bool brotli_run(std::string_view in, std::string& out, int op);
  void release();

  Coding coding_;
  int level_;
  State state_ = State::kOpen;
  z_stream_s* zs_ = nullptr;
  BrotliEncoderStateStruct* br_ = nullptr;
};

// One-shot: compresses `in` with `coding` (kGzip or kBrotli) at `level`
// and appends the result to `out`. Allocates and frees the encoder state
// on every call: fine for tests and cold paths; a shard keeps Compressors.
bool compress(Coding coding, int level, std::string_view in, std::string& out);

}  // namespace ringshard::http
