// http/chunked.h: incremental decoder for the chunked transfer coding
// (RFC 9112 section 7.1), pure and bounded.
//
// Contract: feed bytes; the decoder reports how many it consumed and hands
// each run of body data to the caller as views into the input (no copy, no
// allocation). Chunk extensions are parsed and ignored; trailer fields are
// validated like header fields and ignored. Refused with an error (400):
// chunk sizes that are not hex, empty, or overflow 64 bits, bare CR or LF
// where CRLF is required, control characters in extensions or trailers,
// trailer section larger than max_trailer_bytes. Body larger than max_body
// -> error with status 413 (checked on the chunk-size line, before any data
// of that chunk is delivered).
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
  size_t max_chunk_line = 4 * 1024;  // size line incl. extensions
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
  // more bytes appended.
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

  ChunkedLimits limits_;
  State state_ = State::kSize;
  uint64_t remaining_ = 0;   // bytes left in the current chunk
  uint64_t body_bytes_ = 0;  // total delivered so far
  size_t trailer_bytes_ = 0;
};

template <typename Sink>
ChunkedResult ChunkedDecoder::feed(std::string_view in, Sink&& sink) {
  using S = std::remove_reference_t<Sink>;
  return step(
      in,
      [](void* ctx, std::string_view data) { (*static_cast<S*>(ctx))(data); },
      &sink);
}

}  // namespace ringshard::http
