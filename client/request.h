// client/request.h: the values an HTTP client exchange takes and gives:
// the request (method, target, headers, body), the response head as the
// caller sees it, the callbacks that receive the response (ResponseSink),
// and the buffered result of HttpClient::request().
//
// Ownership: a ClientRequest is moved into the exchange, which keeps it
// until the exchange ends (a retry sends it again). A ResponseHeadView and
// every string_view handed to a ResponseSink are valid only during the
// callback. Thread: the client's shard.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/client_error.h"
#include "engine/connection.h"
#include "http/request.h"

namespace ringshard::client {

enum class BodyMode : uint8_t {
  kNone,      // no body (no Content-Length for GET/HEAD/...; 0 for POST/PUT/PATCH)
  kBuffered,  // `body`, sent with Content-Length; replayable (retries)
  kStreamed,  // the caller writes chunks through ExchangeHandle::write/end;
              // never replayed once a byte was taken
};

struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";  // origin-form ("/path?q")
  // Sent as given, in order. Host is added unless present;
  // Content-Length and Transfer-Encoding are the client's (dropped here).
  std::vector<std::pair<std::string, std::string>> headers;
  BodyMode body_mode = BodyMode::kNone;
  std::string body;                       // kBuffered
  std::optional<uint64_t> stream_length;  // kStreamed: Content-Length if
                                          // known (write exactly that many
                                          // bytes), else chunked
  // When set, sent as the whole request head (request line to the blank
  // line) instead of one built from method, target and headers, which then
  // only describe it (retry rules, a HEAD response's framing). Its framing
  // fields must match body_mode / stream_length. For the reverse proxy,
  // which writes the forwarded head in one pass (proxy/forward_headers.h);
  // not with a forward proxy (the target is origin-form).
  std::string raw_head;
  // This request's whole-exchange deadline (retries included), in place of
  // the upstream's timeouts.total_ms; 0: the upstream's.
  uint32_t total_ms = 0;
};

// How the response body is framed on the wire (the sink sees decoded bytes).
enum class Framing : uint8_t { kNone, kContentLength, kChunked, kUntilClose };

struct ResponseHeadView {
  uint16_t status = 0;
  std::string_view reason;
  std::span<const http::Header> headers;
  Framing framing = Framing::kNone;
  uint64_t content_length = 0;  // when the header is present
  bool keep_alive = true;
  // Case-insensitive; empty view (data() == nullptr) when absent.
  std::string_view header(std::string_view name) const;
};

// Receives one exchange's outcome. Exactly one of on_end, on_error or
// on_upgrade ends it (none after ExchangeHandle::cancel()); on_head comes
// before any on_body, and before on_upgrade (with the 101's head).
// Callbacks run on the shard, from the client's I/O handlers; on_error
// may also run inside HttpClient::start (a request that cannot even be
// queued). A sink may start other exchanges from any
// callback, and may cancel its own.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void on_head(const ResponseHeadView& head) = 0;
  // Returns false to pause: no more on_body (nor on_end) until
  // ExchangeHandle::resume() (called outside this callback).
  virtual bool on_body(std::string_view chunk) = 0;
  virtual void on_end() = 0;
  virtual void on_error(ClientError error, std::string_view detail) = 0;
  // kStreamed requests: the exchange can take (more) body bytes now.
  virtual void on_body_writable() {}
  // A 101 answer: on_head() got its head (status 101, Framing::kNone)
  // just before; the connection is the caller's now (set its handler and
  // context; the client forgets it); `rest` are bytes that followed the
  // head. The default closes it.
  virtual void on_upgrade(engine::Connection& conn, std::string_view rest);
};

// HttpClient::request()'s answer.
struct ClientResult {
  ClientError error = ClientError::kNone;
  std::string detail;  // error text for logs
  uint16_t status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool ok() const { return error == ClientError::kNone; }
  std::string_view header(std::string_view name) const;  // first, case-insensitive
};

// True for GET, HEAD, OPTIONS, TRACE, PUT and DELETE (RFC 9110 9.2.2).
bool idempotent_method(std::string_view method);

}  // namespace ringshard::client
