// http/http_connection.h: the HTTP driver's per-connection state, shared by
// the files of the driver (server.cc: parsing, dispatch, open and close;
// server_events.cc: resume, upgrade, timeouts, drain after dispatch;
// server_output.cc: response heads, hooks, metrics and the access log;
// response.cc: Response, BodyStream, AsyncResponse; request_body.cc:
// streamed request bodies; response_writer.cc: pushed responses).
// Internal to http/.
//
// Thread: the owning shard.
#pragma once

#include <sys/socket.h>
#include <time.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/chunked.h"
#include "http/input_buffer.h"
#include "http/middleware.h"
#include "http/parser.h"
#include "http/server.h"
#include "engine/timer_wheel.h"
#include "ratelimit/connection_caps.h"

namespace ringshard::http {

// The state of a request that streams its body (RouteOptions::stream_body)
// or its response through a ResponseWriter: the application's callbacks and
// where the body stands. Made on the first such request of a connection and
// kept with the connection's state block (plain requests never touch it).
struct StreamIo {
  // Body reader (RequestBodyReader).
  std::function<bool(std::string_view)> on_data;
  std::function<void()> on_end;
  std::function<void(BodyError)> on_error;
  std::string pending;          // chunked: decoded data behind a pause (rare)
  uint64_t left = 0;            // Content-Length: body bytes still to come
  uint64_t declared = 0;        // the Content-Length
  uint64_t received = 0;        // body bytes read so far (decoded for chunked)
  engine::TimerEntry body_timer;   // body_timeout_ms while the body is read
  uint64_t body_armed_ms = ~uint64_t{0};  // shard time the timer was last armed
  engine::Connection* conn = nullptr;     // for the timer, while active
  HttpServer* server = nullptr;
  bool stream_route = false;    // the request's route streams its body
  bool has_length = false;
  bool chunked_in = false;
  bool wanted = false;          // on_data set: the consumer reads
  bool paused = false;          // the consumer is full
  bool discard = false;         // the response ended first: drop the rest
  bool end_told = false;        // on_end called (or no longer due)
  bool expect_continue = false;
  bool peer_eof = false;        // the client half-closed during the body
  bool response_done = false;   // the response of this request has ended
  // Response writer (ResponseWriter).
  std::function<void()> on_writable;
  uint64_t stall_armed_ms = ~uint64_t{0};
  uint32_t stall_ms = 0;        // 0: ServerConfig::stream_stall_ms
  bool writer = false;          // kStreaming through a ResponseWriter
  bool no_body = false;         // HEAD, 1xx/204/304: writes are dropped
  bool want_writable = false;   // a write returned false

  void clear_callbacks() {
    on_data = nullptr;
    on_end = nullptr;
    on_error = nullptr;
    on_writable = nullptr;
    std::string().swap(pending);
  }
};

// Per-connection protocol state. Kept small (an idle connection holds this
// block and nothing else); reused through the server's free list.
class HttpConnection {
 public:
  enum class Phase : uint8_t {
    kIdle,       // between requests
    kHead,       // part of a request head has arrived
    kBody,       // head complete, body still arriving
    kWaiting,    // handler deferred its answer
    kStreaming,  // response body being produced
    kDone,       // closing after the last response
    kUpgraded,   // handed to another protocol; about to leave HTTP
  };
  enum class Timer : uint8_t { kNone, kHeader, kBody, kIdle, kStream, kDeferred, kDrainGrace };

  explicit HttpConnection(const ParserLimits& limits) : parser(limits) {}

  // Back to the state of a fresh connection (buffers already released).
  void reset(uint64_t max_body) {
    parser.reset();
    chunked = ChunkedDecoder(ChunkedLimits{max_body});
    chunk_scan = 0;
    stream_left = 0;
    body_need = 0;
    body_limit = max_body;
    producer = nullptr;
    on_abort = nullptr;
    phase = Phase::kIdle;
    timer = Timer::kNone;
    keep_alive = true;
    head_only = chunked_out = length_out = http10 = false;
    continue_sent = close_after = in_producer = in_process = more_behind = false;
    upgrade_handler = nullptr;
    upgrade_context = nullptr;
    io_active = body_open = false;
    peer_len = 0;
    remote_len = 0;
  }

  RequestParser parser;
  ChunkedDecoder chunked;
  InputBuffer carry;
  std::string chunk_body;       // decoded chunked body (rare)
  size_t chunk_scan = 0;        // bytes after the head already decoded
  uint64_t sequence = 0;        // requests dispatched on this connection
  uint64_t stream_left = 0;     // Content-Length stream: bytes still owed
  size_t body_need = 0;         // kBody with Content-Length: head + body bytes
  uint64_t body_limit = 0;      // the body limit of the request being read
  Producer producer;
  std::function<void(AbortReason)> on_abort;  // kWaiting: the application's notice
  Phase phase = Phase::kIdle;
  Timer timer = Timer::kNone;
  bool keep_alive = true;
  bool head_only = false;       // HEAD: no body bytes go out
  bool chunked_out = false;     // streaming with chunked encoding
  bool length_out = false;      // streaming with Content-Length
  bool http10 = false;
  bool continue_sent = false;
  bool close_after = false;     // peer half-closed: close after this response
  bool in_producer = false;
  bool in_process = false;      // process() is on the stack: no re-entry
  bool more_behind = false;     // bytes of a further request are buffered
                                // behind the one being answered
  bool io_active = false;       // the request being served uses `io`
  bool body_open = false;       // io: its body is still arriving
  uint8_t pinned = 0;           // application callbacks running: never delete
  engine::ConnectionHandler* upgrade_handler = nullptr;  // kUpgraded: the new owner
  void* upgrade_context = nullptr;
  // The request being answered, for metrics and the access log.
  uint32_t stats_index = 0;     // into HttpServer::route_stats_
  uint16_t status = 0;          // of a streamed response, recorded at its end
  uint64_t start_ns = 0;        // CLOCK_MONOTONIC at dispatch (0: not measured)
  uint64_t bytes_in = 0;        // the request's head and body
  uint64_t bytes_out = 0;       // the response written so far
  // Middleware: the request's context (HttpServer::sync_ctx_ while the
  // handler runs; moved here, with headers added so far, when the answer
  // comes later), and the route's own middleware list.
  RequestContext* ctx = nullptr;
  std::unique_ptr<RequestContext> held_ctx;
  const std::vector<const Middleware*>* route_mw = nullptr;
  std::vector<std::pair<std::string, std::string>> held_headers;
  // Access log fields kept past the handler call (log on only).
  std::string log_method, log_path, log_agent;
  // The peer's address, read on first use (ServerRequest::peer).
  sockaddr_storage peer{};
  socklen_t peer_len = 0;       // 0: not read yet
  ratelimit::ConnKey cap_key;   // counted against the connection caps
  std::unique_ptr<BodyFilter> filter;  // streaming through a middleware's filter
  std::unique_ptr<StreamIo> io;        // see StreamIo; null until first needed
  char remote_text[56];         // the peer as text, for the access log
  uint8_t remote_len = 0;       // 0: not formatted yet
};

// The connection's peer address, read with getpeername once per connection
// and cached in `hc` (ServerRequest::peer, the access log and the
// connection caps all use it); null if it cannot be read.
inline const sockaddr* peer_address(const engine::Connection& conn, HttpConnection& hc,
                                    socklen_t& length) {
  if (hc.peer_len == 0) {
    socklen_t len = sizeof(hc.peer);
    if (getpeername(conn.fd(), reinterpret_cast<sockaddr*>(&hc.peer), &len) != 0) return nullptr;
    hc.peer_len = len;
  }
  length = hc.peer_len;
  return reinterpret_cast<const sockaddr*>(&hc.peer);
}

inline bool status_has_body(uint16_t status) {
  return status >= 200 && status != 204 && status != 304;
}

inline uint64_t monotonic_now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace ringshard::http
