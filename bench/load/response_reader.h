// bench/load/response_reader.h: reads HTTP/1.1 responses off a byte stream
// for the load generator, checking framing as it goes: the head with
// http::ResponseParser, then the body by Content-Length, chunked coding
// (http::ChunkedDecoder, so chunk syntax is validated too) or until close.
//
// Bodies are skipped, not stored, unless keep_body() names a buffer (the
// stream mode reads the id of what it created). A head split across reads
// is kept in a small per-connection buffer; everything else is consumed in
// place.
// Thread: one reader per connection, on its shard.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/chunked.h"
#include "http/response_parser.h"

namespace ringshard::load {

class ResponseReader {
 public:
  enum Status { kNeedMore, kComplete, kError };
  struct Outcome {
    Status status = kNeedMore;
    size_t consumed = 0;     // bytes of `in` used
    int http_status = 0;     // kComplete
    bool closes = false;     // kComplete: the server will close after it
  };

  // `head_requests`: responses answer HEAD requests (no body).
  void reset(bool head_requests);
  // Consumes bytes until one response completes, more are needed, or the
  // stream is malformed. `scratch` is the parsed head (one per shard: it is
  // large and only needed during the call).
  Outcome feed(std::string_view in, http::ParsedResponse& scratch);
  // At EOF: completes a close-delimited body (kComplete), else kNeedMore
  // (nothing was in progress) or kError (truncated response).
  Outcome finish_at_eof();
  bool idle() const { return phase_ == Phase::kHead && head_.empty(); }
  // From now on the body of each response is copied to *sink (emptied when
  // its head arrives; complete when feed() says kComplete), at most `max`
  // bytes: the rest is skipped. Null: bodies are skipped (the default).
  void keep_body(std::string* sink, size_t max) {
    body_sink_ = sink;
    body_max_ = max;
  }

 private:
  enum class Phase { kHead, kLength, kChunked, kUntilClose };
  Outcome complete(size_t consumed);
  void keep(std::string_view data) {
    if (body_sink_->size() < body_max_) body_sink_->append(data.substr(0, body_max_ - body_sink_->size()));
  }

  http::ResponseParser parser_;
  http::ChunkedDecoder chunked_{http::ChunkedLimits{~uint64_t{0} >> 1, 64 * 1024, 4096}};
  std::string head_;         // partial head (or chunk line) carried between reads
  Phase phase_ = Phase::kHead;
  uint64_t body_left_ = 0;
  int status_ = 0;
  bool closes_ = false;
  bool head_requests_ = false;
  std::string* body_sink_ = nullptr;
  size_t body_max_ = 0;
};

}  // namespace ringshard::load
