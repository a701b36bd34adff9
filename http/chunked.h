// http/chunked.h: incremental decoder for the chunked transfer coding
// (RFC 9112 section 7.1), pure and bounded.
//
// Contract: feed bytes; the decoder reports how many it consumed and hands
// each run of body data to the caller as views into the input (no copy, no
// allocation). Chunk extensions are parsed and ignored; trailer fields are
// validated like header fields and ignored.
//
// Grammar accepted (RFC 9112's BWS is NOT accepted: like strict llhttp we
// refuse any whitespace in a size line, so a proxy that reads it
// differently cannot smuggle a request past us):
//   chunk      = 1*HEXDIG *( ";" token [ "=" ( token / quoted-string ) ] )
//                CRLF chunk-data CRLF
//   last-chunk = 1*"0" [ extensions as above ] CRLF
//   then *( field-name ":" OWS field-value OWS CRLF ) CRLF
// Refused with status 400: chunk sizes that are not hex, empty, or overflow
// 64 bits; SP or HTAB anywhere in a size line; an empty or
// malformed extension; bare CR or LF where CRLF is required; chunk data not
// followed by CRLF; control characters (other than HTAB inside field values
// and quoted strings) in size lines or trailers; obs-fold or whitespace
// before the colon in a trailer field; a size line (including its CRLF)
// longer than max_chunk_line; a trailer section (every byte after the
// last-chunk line, final CRLF included) larger than max_trailer_bytes. Body
// larger than max_body -> 413, checked on the chunk-size line, before any
// data of that chunk is delivered.
//
// Lines are not buffered: a size line or trailer line that is not complete
// in `in` is left unconsumed (kNeedMore with `consumed` at the start of that
// line) and looked at again, whole, when the caller presents it with more
// bytes appended. This is bounded: as soon as the unconsumed part is long
// enough that the finished line must exceed max_chunk_line (or the trailer
// section max_trailer_bytes), the result is kError, and the search for a
// line's end never looks further than those limits allow, however many
// bytes `in` holds. Chunk data and the CRLF after it are consumed as they
// arrive, byte by byte if need be.
//
// After kDone or kError further calls consume nothing and repeat the result;
// reset() starts a new body.
//
// Thread: any; one decoder per request body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace ringshard::http {

struct ChunkedLimits {
  uint64_t max_body = 1024 * 1024;
  size_t max_trailer_bytes = 8 * 1024;
  size_t max_chunk_line = 4 * 1024;  // size line incl. extensions and CRLF
};

enum class ChunkedStatus : uint8_t { kNeedMore, kDone, kError };

struct ChunkedResult {
  ChunkedStatus status = ChunkedStatus::kNeedMore;
  size_t consumed = 0;        // bytes of input used (all statuses)
  uint16_t error_status = 0;  // 400 or 413 (kError only)
  std::string_view reason;    // static string (kError only)
};

class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(const ChunkedLimits& limits = {}) : limits_(limits) {}

  // Consumes as much of `in` as possible. For each run of body bytes,
  // calls sink(std::string_view) (views into `in`, valid during the call).
  // kDone: the terminating chunk and trailers were read; `consumed` tells
  // where the next pipelined request starts. kNeedMore: all of `in` was
  // consumed except possibly an incomplete line that the decoder could not
  // buffer: the caller must keep in[consumed..] and present it again with
  // more bytes appended. kError: `consumed` is where the offending line or
  // byte starts; data before it may already have gone to the sink.
  template <typename Sink>
  ChunkedResult feed(std::string_view in, Sink&& sink);

  uint64_t body_bytes() const { return body_bytes_; }
  void reset() { *this = ChunkedDecoder(limits_); }

 private:
  enum class State : uint8_t {
    kSize, kData, kDataCr, kDataLf, kTrailer, kDone, kError
  };
  // Runs the state machine over `in`; data runs are reported as (offset,len)
  // through `emit`. Implemented in chunked.cc.
  ChunkedResult step(std::string_view in, void (*emit)(void*, std::string_view),
                     void* ctx);
  ChunkedResult fail(size_t at, uint16_t status, std::string_view reason);

  ChunkedLimits limits_;
  State state_ = State::kSize;
  uint64_t remaining_ = 0;   // bytes left in the current chunk
  uint64_t body_bytes_ = 0;  // total delivered so far
  size_t trailer_bytes_ = 0;
  uint16_t error_status_ = 0;     // repeated after kError
  std::string_view error_reason_;
};

template <typename Sink>
ChunkedResult ChunkedDecoder::feed(std::string_view in, Sink&& sink) {
  using S = std::remove_reference_t<Sink>;
  return step(
      in,
      [](void* ctx, std::string_view data) { (*static_cast<S*>(ctx))(data); },
      const_cast<void*>(static_cast<const void*>(&sink)));
}

}  // namespace ringshard::http
