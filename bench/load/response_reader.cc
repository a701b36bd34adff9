#include "bench/load/response_reader.h"

namespace ringshard::load {

void ResponseReader::reset(bool head_requests) {
  parser_.reset();
  chunked_.reset();
  head_.clear();
  phase_ = Phase::kHead;
  body_left_ = 0;
  head_requests_ = head_requests;
}

ResponseReader::Outcome ResponseReader::complete(size_t consumed) {
  Outcome o;
  o.status = kComplete;
  o.consumed = consumed;
  o.http_status = status_;
  o.closes = closes_;
  phase_ = Phase::kHead;
  parser_.reset();
  chunked_.reset();
  return o;
}

ResponseReader::Outcome ResponseReader::feed(std::string_view in, http::ParsedResponse& r) {
  Outcome o;
  size_t used = 0;
  while (true) {
    switch (phase_) {
      case Phase::kHead: {
        // Parse in place when nothing is carried; otherwise append first.
        std::string_view data = in.substr(used);
        size_t carried = head_.size();
        if (carried > 0) {
          head_.append(data);
          data = head_;
        }
        const http::ParseResult pr = parser_.parse(data, r, head_requests_);
        if (pr.status == http::ParseStatus::kError) {
          o.status = kError;
          o.consumed = in.size();
          return o;
        }
        if (pr.status == http::ParseStatus::kPartial) {
          if (carried == 0) head_.assign(data);
          o.consumed = in.size();
          return o;
        }
        // Bytes of `in` that belonged to the head.
        used += pr.consumed - carried;
        head_.clear();
        if (body_sink_ != nullptr) body_sink_->clear();
        status_ = r.status;
        closes_ = !r.keep_alive;
        if (r.status >= 100 && r.status < 200 && r.status != 101) {
          parser_.reset();  // interim response: the real one follows
          continue;
        }
        switch (r.body_kind) {
          case http::ResponseBodyKind::kNone:
            return complete(used);
          case http::ResponseBodyKind::kContentLength:
            body_left_ = r.content_length;
            phase_ = Phase::kLength;
            break;
          case http::ResponseBodyKind::kChunked:
            chunked_.reset();
            phase_ = Phase::kChunked;
            break;
          case http::ResponseBodyKind::kUntilClose:
            closes_ = true;
            phase_ = Phase::kUntilClose;
            break;
        }
        break;
      }
      case Phase::kLength: {
        const uint64_t n = std::min<uint64_t>(body_left_, in.size() - used);
        if (body_sink_ != nullptr) keep(in.substr(used, n));
        body_left_ -= n;
        used += n;
        if (body_left_ == 0) return complete(used);
        o.consumed = used;
        return o;
      }
      case Phase::kChunked: {
        // Incomplete chunk lines are carried in head_ like a partial head.
        std::string_view data = in.substr(used);
        const size_t carried = head_.size();
        if (carried > 0) {
          head_.append(data);
          data = head_;
        }
        const http::ChunkedResult cr = chunked_.feed(data, [this](std::string_view piece) {
          if (body_sink_ != nullptr) keep(piece);
        });
        if (cr.status == http::ChunkedStatus::kError) {
          o.status = kError;
          o.consumed = in.size();
          return o;
        }
        if (cr.status == http::ChunkedStatus::kDone) {
          used += cr.consumed - carried;
          head_.clear();
          return complete(used);
        }
        head_.assign(data.substr(cr.consumed));
        o.consumed = in.size();
        return o;
      }
      case Phase::kUntilClose:
        if (body_sink_ != nullptr) keep(in.substr(used));
        o.consumed = in.size();
        return o;
    }
  }
}

ResponseReader::Outcome ResponseReader::finish_at_eof() {
  Outcome o;
  if (phase_ == Phase::kUntilClose) return complete(0);
  if (phase_ == Phase::kHead && head_.empty()) return o;
  o.status = kError;
  return o;
}

}  // namespace ringshard::load
