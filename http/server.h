// http/server.h: the HTTP/1.1 server connection driver.
//
// HttpServer is the engine::ConnectionHandler for HTTP: one instance per
// shard (made by make_http_handler), serving every connection of that shard.
// It parses requests (http/parser.h, http/chunked.h), routes them
// (http/router.h), calls the handler with a ServerRequest and a Response,
// and writes responses in request order (pipelining).
//
// Handlers answer now (Response::send), later (Response::defer, then
// AsyncResponse::send from the same shard), as a stream with backpressure
// pulled by the server (Response::stream), or pushed by the application
// whenever its data comes (Response::start / AsyncResponse::start, a
// ResponseWriter). A route with RouteOptions::stream_body takes its request
// body as it arrives (ServerRequest::body_reader, a RequestBodyReader)
// instead of whole. A ServerRequest and every view it hands out are valid
// only during the handler call: copy what a deferred answer needs. A
// handler that throws becomes a 500; the server keeps serving.
//
// A reverse proxy is the user of the last two: request body in through a
// RequestBodyReader, response out through a ResponseWriter, each side's
// backpressure (on_data returning false / write returning false) lifted by
// the other side's resume() / on_writable, so memory per connection stays
// bounded whatever the sizes.
//
// Per connection the driver holds a small state block; input bytes are
// copied only when a request spans reads (into a pooled 16 KiB chunk, grown
// on the heap for large bodies) and output is corked by the engine. An idle
// keep-alive connection holds no buffer.
//
// Thread: everything here runs on the owning shard's thread. The Router and
// ServerConfig are shared read-only by every shard.
#pragma once

#include <array>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/connection.h"
#include "engine/metrics.h"
#include "engine/shard.h"
#include "obs/access_log.h"
#include "ratelimit/connection_caps.h"
#include "obs/histogram.h"
#include "http/header_arena.h"
#include "http/middleware.h"
#include "http/parser.h"
#include "http/response_head.h"
#include "http/router.h"

namespace ringshard::http {

// Per route (and one for requests no route matched): requests by status
// code and latency, written by the owning shard, read by a /metrics scrape
// on any thread.
struct RouteStats {
  std::array<engine::Counter, 500> by_status{};  // index: status - 100
  obs::Histogram latency;
};

struct ServerConfig {
  ParserLimits parser;
  // Global middleware, outermost first (see http/middleware.h). Shared by
  // every shard; must outlive the servers.
  std::vector<const Middleware*> middleware;
  bool route_metrics = true;             // RouteStats per route and status
  // A second router for the admin listener (engine listener
  // `admin_listener`): /metrics, /health, /ready. Null: none.
  const Router* admin_router = nullptr;
  unsigned admin_listener = ~0u;
  // The access log (one JSON line per request), null when off.
  obs::AccessLog* access_log = nullptr;
  // Connection caps, process-wide and per client IP (shared by every
  // shard, lock-free), null when off. A connection over a cap is closed at
  // open, before anything is read, and counted in
  // HttpMetrics::connections_refused.
  ratelimit::ConnectionCaps* connection_caps = nullptr;
  uint64_t max_body_bytes = 1 << 20;     // default; a route may override
  uint32_t header_timeout_ms = 10'000;   // first byte of a request -> end of head
  uint32_t body_timeout_ms = 30'000;     // max time without body progress
  uint32_t idle_timeout_ms = 60'000;     // keep-alive wait for the next request
  uint32_t stream_stall_ms = 60'000;     // streaming response without progress
  uint32_t deferred_timeout_ms = 30'000; // deferred answer not sent: 504
  // Draining (SIGTERM): a keep-alive connection that is idle is closed
  // once it has stayed idle this long (never past the drain deadline), so
  // a request already on the wire is served instead of lost.
  uint32_t drain_idle_grace_ms = 1'000;
  std::string_view server_name = "ringshard";
};

class HttpConnection;
class HttpServer;
class RequestBodyReader;
struct StreamIo;

class ServerRequest {
 public:
  const Request& head() const { return *head_; }
  Method method() const { return head_->method; }
  std::string_view path() const { return head_->path; }
  std::string_view query() const { return head_->query; }
  std::string_view header(std::string_view name) const { return head_->header(name); }
  // The whole body; empty on a RouteOptions::stream_body route, whose body
  // is read through body_reader().
  std::string_view body() const { return body_; }
  // A handle to the body of a RouteOptions::stream_body route (see
  // RequestBodyReader); an invalid handle on any other route.
  RequestBodyReader body_reader() const;
  // A {name} segment of the route pattern; empty view if there is none.
  std::string_view param(std::string_view name) const;
  engine::Shard& shard() const { return *shard_; }
  // The client's address (getpeername, read once per connection and
  // cached); null if it cannot be read. Valid during the handler call.
  const sockaddr* peer(socklen_t& length) const;
  // The route pattern that matched ("/v1/deployments/{id}"); empty when
  // none did.
  std::string_view route_pattern() const { return route_pattern_; }
  // Arrived over TLS.
  bool tls() const;

 private:
  friend class HttpServer;
  const Request* head_ = nullptr;
  std::string_view body_;
  const PathParams* params_ = nullptr;
  engine::Shard* shard_ = nullptr;
  engine::Connection* conn_ = nullptr;
  HttpConnection* hc_ = nullptr;
  std::string_view route_pattern_;
};

// Writes response bytes to a streaming response. Obtained in the producer
// callback of Response::stream().
class BodyStream {
 public:
  // Queues body bytes (copied). Returns false once the connection's send
  // queue is over its limit: return from the producer; it is called again
  // when the queue drains.
  bool write(std::string_view data);
  // Ends the response (the last chunk for chunked encoding).
  void end();
  bool ended() const { return ended_; }

 private:
  friend class HttpServer;
  friend class ResponseWriter;
  // Frames and queues bytes already through the body filter (if any).
  bool write_raw(std::string_view data);
  HttpServer* server_ = nullptr;
  HttpConnection* hc_ = nullptr;
  engine::Connection* conn_ = nullptr;
  bool ended_ = false;
};

using Producer = std::function<void(BodyStream&)>;

// Why a streamed request body ended before its end.
enum class BodyError : uint8_t {
  kClosed,     // the client went away (reset, or EOF before the body's end)
  kTimeout,    // no body byte for ServerConfig::body_timeout_ms while reading
  kMalformed,  // bad chunked encoding
  kTooLarge,   // a chunked body over the route's limit
};

// The body of a request on a RouteOptions::stream_body route, as it
// arrives. From ServerRequest::body_reader() in the handler; a copyable
// handle (connection slot, generation and request sequence, like
// AsyncResponse): a stale one (the request is over, the connection closed)
// is harmless, every call on it does nothing and valid() is false.
//
//   r.add(Method::kPost, "/upload", [](ServerRequest& req, Response& res) {
//     AsyncResponse answer = res.defer();
//     RequestBodyReader body = req.body_reader();
//     auto sum = std::make_shared<uint64_t>(0);
//     body.on_data([sum](std::string_view chunk) { *sum += checksum(chunk); return true; });
//     body.on_end([answer, sum]() mutable { answer.send(200, "text/plain", std::to_string(*sum)); });
//     body.on_error([](BodyError) { /* the server answers or closes */ });
//   }, {.stream_body = true});
//
// Flow: the handler runs once the head is parsed (after middleware). No
// body byte is read until on_data() is first set ("reading is wanted");
// then, if the client sent "Expect: 100-continue" and no response head has
// gone out, "100 Continue" is written. Content-Length and chunked bodies
// alike reach on_data as the data only (chunked is decoded), as views of
// the receive buffer valid during the call, at most one receive buffer
// (EngineConfig::recv_buffer_size) per call: nothing is copied unless the
// consumer paused with bytes still unread (those wait in the connection's
// input buffer, a few receive buffers at most, since reading stops).
// on_data returning false means "full": the server stops reading the
// connection until resume(). pause() does the same from outside on_data.
// on_end runs once after the last byte (also when on_data said "full" on
// that byte: the body is whole); on_error once instead of it.
//
// Callbacks never run inside the route handler: those set there run after
// it returns. Set later (from a deferred callback, another connection's
// event), on_data/on_end and resume() deliver what is already buffered
// from inside the call. Callbacks run on the shard; they may call any
// method of this handle, of the request's AsyncResponse or
// ResponseWriter; they must not throw (a throw closes the connection).
//
// Limits: the route's max_body (else ServerConfig::max_body_bytes) holds
// while streaming: a Content-Length over it is refused with 413 before the
// handler runs; a chunked body that grows over it ends in
// on_error(kTooLarge). Body timeout: body_timeout_ms without a byte while
// reading is wanted (not while the consumer is paused) ends in
// on_error(kTimeout). After on_error, if the application has not answered
// (still deferred) and does not answer from inside on_error, the server
// answers (413 too large, 400 malformed, 408 timeout) with Connection:
// close and tells the deferred answer's on_abort (kClosed); once a
// response head is out, the connection closes (a writer's on_abort hears
// it). kClosed: the connection closes. The connection never stays open
// after a body error.
//
// The response may come before the body's end (a 403 at once, an upstream
// that answered early). Once the response has ended, the reader is over
// (no more callbacks). The rest of the body is then read and dropped when
// it is a Content-Length body with at most kBodyDiscardLimit bytes left
// (and the client was not left waiting for a 100 Continue): the
// connection stays usable. Otherwise the connection closes after the
// response (reading and dropping while it lingers, so the client sees the
// response and not a reset); a whole answer (send, send_error) given
// before reading was wanted then says "Connection: close" too. A pushed
// or streamed response cut short by a body error is flushed as far as it
// got, then the connection closes (the client sees a short body).
//
// Pipelining: bytes behind the body belong to the next request, which is
// parsed only once the body is done and the response has ended.
//
// Allocates: the connection's StreamIo block on its first streamed
// request, and whatever the callbacks' captures need. Shard thread only.
inline constexpr uint64_t kBodyDiscardLimit = 256 * 1024;

class RequestBodyReader {
 public:
  // The request is live and its body not over (neither ended nor failed
  // nor given up).
  bool valid() const;
  // False when the request has no body (no Content-Length and not
  // chunked, or Content-Length: 0): on_end runs without on_data.
  bool has_body() const;
  // The declared Content-Length; nullopt for chunked or when none was sent.
  std::optional<uint64_t> length() const;
  bool chunked() const;
  // Body bytes handed on so far (decoded for chunked).
  uint64_t received() const;
  // Bytes the server holds in its input buffer for this connection (body
  // bytes behind a pause, a partial chunk line, a pipelined request).
  size_t buffered() const;

  // Return false to stop reading until resume(). Setting it starts reading.
  void on_data(std::function<bool(std::string_view chunk)> fn);
  void on_end(std::function<void()> fn);
  void on_error(std::function<void(BodyError)> fn);
  void pause();
  void resume();

 private:
  friend class ServerRequest;
  friend class HttpServer;
  HttpConnection* find(engine::Connection** conn) const;
  HttpServer* server_ = nullptr;
  uint32_t slot_ = 0;
  uint32_t generation_ = 0;
  uint64_t sequence_ = 0;
};

// Why a deferred request ended without the application's answer.
enum class AbortReason : uint8_t {
  kTimeout,  // its deadline passed: the server answered 504 itself
  kClosed,   // the connection went away (peer reset, drain deadline...)
};

struct DeferOptions {
  // Deadline from defer(); 0: ServerConfig::deferred_timeout_ms.
  uint32_t timeout_ms = 0;
  // Called at most once, on the shard, when the request ends without the
  // application's answer; after it the AsyncResponse is invalid (send()
  // returns false). Not called when the answer was sent. Use it to cancel
  // the work or free what it holds.
  std::function<void(AbortReason)> on_abort;
};

// Header fields for a response the caller builds (a proxy passing the
// upstream's through): views, read during the call only.
using HeaderList = std::span<const std::pair<std::string_view, std::string_view>>;

// A response pushed by the application whenever its data comes: from
// Response::start (in the handler) or AsyncResponse::start (after
// defer()). A copyable handle (connection slot, generation, request
// sequence): once the response has ended or the connection has gone, every
// call does nothing (write returns false) and valid() is false.
//
//   ResponseWriter w = res.start(200, headers, std::nullopt);  // chunked
//   w.on_abort([up](AbortReason) { up->cancel(); });
//   // whenever data comes:
//   if (!w.write(data)) up->pause();      // queue full: wait
//   w.on_writable([up] { up->resume(); });
//   // at the end:
//   w.end();
//
// Framing: Content-Length when `length` is given (end() before that many
// bytes closes the connection: the client must not take a short body for a
// whole one; bytes past it are dropped), chunked otherwise, close-delimited
// for an HTTP/1.0 client. HEAD, 1xx, 204 and 304: the head only; write()
// takes and drops data until end(). Middleware on_response hooks, route
// metrics and the access log see it as a streamed response (a compression
// filter, when one applies, then forces chunked).
//
// Backpressure: write() queues a copy and returns false once the
// connection's send queue is over its limit; on_writable runs once (per
// false write) when the queue has drained to half. Writing on after a false
// is allowed (it queues) but the memory is the caller's doing.
//
// Deadline: the response is aborted when it makes no progress (no write,
// no drain) for its stall timeout (set_stall_timeout, default
// ServerConfig::stream_stall_ms): on_abort(kTimeout), then the connection
// closes. The client going away: on_abort(kClosed). on_abort runs at most
// once, on the shard, and not after end() or abort(); the handle is
// invalid from its first instruction.
class ResponseWriter {
 public:
  bool write(std::string_view data);
  void end();
  // Ends the response unfinished (an upstream failed mid-body): the
  // connection closes, the only signal left once the head is out.
  // on_abort is not called.
  void abort();
  void on_writable(std::function<void()> fn);
  void on_abort(std::function<void(AbortReason)> fn);
  // 0: ServerConfig::stream_stall_ms. Restarts the deadline.
  void set_stall_timeout(uint32_t ms);
  bool valid() const;
  // Bytes queued on the connection, not yet sent (0 when invalid).
  size_t queued() const;

 private:
  friend class Response;
  HttpConnection* find(engine::Connection** conn) const;
  HttpServer* server_ = nullptr;
  uint32_t slot_ = 0;
  uint32_t generation_ = 0;
  uint64_t sequence_ = 0;
};

// A handle to answer a deferred request later, on the same shard. Copyable;
// the first send() wins. If the connection has gone away in the meantime,
// send() returns false and does nothing.
class AsyncResponse {
 public:
  bool send(uint16_t status, std::string_view content_type, std::string_view body);
  bool send_error(uint16_t status, std::string_view message);
  // Answers through a Response bound to the request, with the headers
  // added before defer() already on it: `write` adds headers and sends
  // (send, send_error). False, without calling `write`, as send().
  bool answer(const std::function<void(Response&)>& write);
  // Answers with a pushed response (Response::start). An invalid writer,
  // as send() returns false, when the handle is no longer valid.
  ResponseWriter start(uint16_t status, HeaderList headers, std::optional<uint64_t> length);
  // Hands the connection to another protocol, as Response::upgrade, once
  // the answer is known (a reverse proxy relaying a WebSocket upgrade gets
  // the backend's 101 later): writes `head`, and the connection belongs to
  // `handler` with `context` at once (on_open, then on_data with any bytes
  // that arrived behind the request). False, with nothing done and
  // `context` still the caller's, as send().
  bool upgrade(std::string_view head, engine::ConnectionHandler& handler, void* context);
  bool valid() const;

 private:
  friend class Response;
  HttpServer* server_ = nullptr;
  uint32_t slot_ = 0;
  uint32_t generation_ = 0;
  uint64_t sequence_ = 0;
};

class Response {
 public:
  Response() = default;
  Response(const Response&) = delete;
  Response& operator=(const Response&) = delete;
  ~Response();

  // Adds a header to the response about to be sent (copied into the
  // shard's header arena: temporaries are fine, no count limit). A name
  // that is not a token or a value with CR, LF or NUL is an application
  // bug (response splitting): the header is not added and the response
  // becomes a 500 with the standard error body, counted in
  // HttpMetrics::invalid_headers. Headers added before defer() are kept for
  // the deferred answer.
  Response& header(std::string_view name, std::string_view value);
  // header() without the CR/LF/NUL and token checks, for middleware whose
  // names and values are already known to be valid (checked at config
  // load, formatted digits, request header values the parser accepted).
  Response& trusted_header(std::string_view name, std::string_view value);
  // The value of a header added so far (last wins), empty if none.
  std::string_view added_header(std::string_view name) const;

  void send(uint16_t status, std::string_view content_type, std::string_view body);
  void send_error(uint16_t status, std::string_view message);
  // Streams the body: `length` set -> Content-Length, otherwise chunked
  // (close-delimited for HTTP/1.0). The producer runs now and again each
  // time the connection can take more, until it calls BodyStream::end().
  void stream(uint16_t status, std::string_view content_type,
              std::optional<uint64_t> length, Producer producer);
  // Starts a response that the application pushes (ResponseWriter):
  // `headers` go out as given (validated as header(); with those added
  // before, after them), except the ones the server owns, which are
  // dropped: Content-Length, Transfer-Encoding, Connection, Keep-Alive,
  // Date, Server. A Content-Type among them is the response's. An invalid
  // header: a 500 instead, and an invalid writer. Invalid writer too when
  // already answered or deferred (use AsyncResponse::start then).
  ResponseWriter start(uint16_t status, HeaderList headers, std::optional<uint64_t> length);
  // Answer later through the returned handle. Further pipelined requests
  // on this connection wait until it is answered. The request has a
  // deadline (options.timeout_ms, else the server's deferred_timeout_ms):
  // past it the client gets 504 with the standard error body and
  // options.on_abort is told; it is told too if the connection closes
  // first. A lost handle therefore never holds a connection for longer.
  AsyncResponse defer(DeferOptions options = {});
  // Hands the connection to another protocol (a WebSocket upgrade): writes
  // `head` (a complete response head, e.g. "101 Switching Protocols"), and
  // once the route handler returns, the connection belongs to `handler`
  // with context `context`. handler.on_open() runs first, then
  // handler.on_data() with the bytes that arrived behind this request (a
  // view into the receive buffer, not a copy), then every later byte. The
  // HTTP state of the connection is released; nothing more is parsed as
  // HTTP. Only from the route handler itself, not after defer().
  // False when the response was already answered or deferred, or the
  // connection is no longer open: nothing happened and `context` is still
  // the caller's to release. If the connection closes after a true return
  // but before the hand-over, handler.on_close() runs with `context` (and
  // no on_open before it) so that the handler can release it.
  bool upgrade(std::string_view head, engine::ConnectionHandler& handler, void* context);

  bool sent() const { return done_; }
  // The request's middleware context (null when the route has none).
  RequestContext* context() const { return ctx_; }

 private:
  friend class HttpServer;
  friend class AsyncResponse;
  void bind(HttpServer* server, HttpConnection* hc, engine::Connection* conn);
  // A header was refused earlier: answers 500 instead and returns true.
  bool refused_invalid_header();
  // A streamed or pushed response begins: marks it answered and runs the
  // middleware's response hooks; a body filter they install drops the
  // known length (`length` reset).
  void begin_streamed(uint16_t status, std::string_view content_type,
                      std::optional<uint64_t>& length);
  HttpServer* server_ = nullptr;
  HttpConnection* hc_ = nullptr;
  engine::Connection* conn_ = nullptr;
  RequestContext* ctx_ = nullptr;
  const ServerRequest* req_ = nullptr;  // during the handler call only
  size_t header_mark_ = 0;              // this response's first arena entry
  bool bound_ = false;
  bool invalid_header_ = false;
  bool done_ = false;
  bool deferred_ = false;
  bool in_hooks_ = false;               // on_response() running: header() still adds
};

// Requests refused before routing, by the status they got (the parser's
// and the limits' errors); the last kind counts any other status.
struct ParseErrorKind {
  uint16_t status;
  std::string_view name;
};
inline constexpr std::array<ParseErrorKind, 7> kParseErrorKinds = {{
    {400, "bad_request"}, {408, "request_timeout"}, {413, "payload_too_large"},
    {414, "uri_too_long"}, {431, "header_fields_too_large"}, {505, "version_not_supported"},
    {0, "other"},
}};

struct HttpMetrics {
  engine::Counter requests;
  engine::Counter responses_1xx, responses_2xx, responses_3xx, responses_4xx, responses_5xx;
  engine::Counter parse_errors;      // malformed requests refused
  std::array<engine::Counter, kParseErrorKinds.size()> parse_errors_by_kind{};
  engine::Counter header_timeouts;   // 408 or close before the head completed
  engine::Counter body_timeouts;
  engine::Counter idle_closes;       // keep-alive connections closed idle
  engine::Counter drain_idle_closes; // closed idle after the drain grace
  engine::Counter handler_exceptions;
  engine::Counter upgrades;          // connections handed to another protocol
  engine::Counter deferred_timeouts; // deferred requests answered 504 by the server
  engine::Counter deferred_aborts;   // deferred requests whose connection closed first
  engine::Counter invalid_headers;   // responses refused for a bad header from the app
  engine::Counter body_stream_errors;  // streamed request bodies ended by an error
  engine::Counter writer_aborts;     // pushed responses cut short (client gone, stall)
  engine::Counter connections_refused;  // closed at open: over a connection cap
  engine::Counter bytes_in;          // request bytes (heads and bodies) dispatched
  engine::Counter bytes_out;         // response bytes written (heads and bodies)
};

class HttpServer final : public engine::ConnectionHandler {
 public:
  HttpServer(engine::Shard& shard, const ServerConfig& config, const Router& router);
  ~HttpServer() override;

  void on_open(engine::Connection& conn) override;
  void on_data(engine::Connection& conn, std::span<const char> data) override;
  void on_writable(engine::Connection& conn) override;
  void on_peer_closed(engine::Connection& conn) override;
  void on_timeout(engine::Connection& conn) override;
  void on_drain(engine::Connection& conn) override;
  void on_close(engine::Connection& conn) override;

  engine::Shard& shard() { return shard_; }
  const HttpMetrics& metrics() const { return metrics_; }
  // A reloaded configuration (SIGHUP): requests dispatched from now on use
  // it. Shard thread only; `config` must outlive every request that began
  // under it (the app keeps each one it hands out).
  void set_config(const ServerConfig& config) { config_ = &config; }
  // Per route of the main router (index as RouteMatch::route), then one for
  // unmatched requests, then the admin router's routes. Any thread may read
  // the counters.
  const std::vector<std::unique_ptr<RouteStats>>& route_stats() const { return route_stats_; }
  size_t unmatched_stats_index() const { return router_.size(); }
  HeaderArena& headers() { return headers_; }

 private:
  friend class Response;
  friend class AsyncResponse;
  friend class BodyStream;
  friend class RequestBodyReader;
  friend class ResponseWriter;

  // Parses and runs as many complete requests of `in` as possible; returns
  // how many bytes it used.
  size_t process(engine::Connection& conn, HttpConnection& hc, std::string_view in);
  size_t process_requests(engine::Connection& conn, HttpConnection& hc, std::string_view in);
  void dispatch(engine::Connection& conn, HttpConnection& hc, const Request& req,
                std::string_view body, const RouteMatch& match, const PathParams& params);
  void refuse(engine::Connection& conn, HttpConnection& hc, uint16_t status,
              std::string_view reason);
  void write_head(engine::Connection& conn, HttpConnection& hc, uint16_t status,
                  std::string_view content_type, const uint64_t* length, bool chunked,
                  const Response* extra, std::string_view body = {});
  void finish_response(engine::Connection& conn, HttpConnection& hc);
  void resume(engine::Connection& conn, HttpConnection& hc);
  // resume() called while some connection's handler runs (one connection
  // answered from another's handler): it waits for a shard task, so the
  // answered connection's pipelined requests are not parsed into the
  // scratch head (request_, params_, headers_) the running handler reads.
  void defer_resume(engine::Connection& conn, HttpConnection& hc);
  static void run_deferred_resumes(engine::ShardTask* task, engine::Shard* shard);
  // After process() returned with the connection upgraded: hands it over,
  // with `rest` (the bytes behind the upgrade request), and frees `hc`.
  void complete_upgrade(engine::Connection& conn, HttpConnection& hc, std::string_view rest);
  void release_state(HttpConnection* hc);  // back to the free list
  void run_producer(engine::Connection& conn, HttpConnection& hc);
  // The deadline of a deferred request passed: 504, abort notice.
  void deferred_timed_out(engine::Connection& conn, HttpConnection& hc);
  void arm_drain_grace(engine::Connection& conn, HttpConnection& hc);
  // Streamed request bodies (request_body.cc).
  // The connection's StreamIo, made on first use.
  StreamIo& stream_io(HttpConnection& hc, engine::Connection& conn);
  void begin_streamed_body(HttpConnection& hc, engine::Connection& conn, const Request& req,
                           uint64_t max_body);
  // Hands body bytes of `in` to the consumer (or drops them); returns how
  // many it used. Runs on_end once the body is whole.
  size_t pump_body(engine::Connection& conn, HttpConnection& hc, std::string_view in);
  // False when the connection closed meanwhile: touch nothing of `hc`.
  bool deliver_body(engine::Connection& conn, HttpConnection& hc, std::string_view chunk);
  void body_wanted(engine::Connection& conn, HttpConnection& hc);
  void body_failed(engine::Connection& conn, HttpConnection& hc, BodyError error);
  void sync_reading(engine::Connection& conn, HttpConnection& hc);
  void arm_body_timer(HttpConnection& hc);
  // The response of a streamed request ended (from finish_response).
  void end_streamed_request(engine::Connection& conn, HttpConnection& hc);
  // The connection is closing under a streamed request: the notices.
  void close_streamed(HttpConnection& hc);
  static void body_timer_fired(engine::TimerEntry& e);
  // Pushed responses (response_writer.cc).
  void writer_writable(engine::Connection& conn, HttpConnection& hc);
  void writer_stalled(engine::Connection& conn, HttpConnection& hc);
  void count_status(uint16_t status);
  // Runs the middleware's on_response hooks, records metrics and the
  // access log line for a response about to be written.
  void run_response_hooks(Response& res, ResponseInfo& info);
  void record_completion(HttpConnection& hc, engine::Connection& conn, uint16_t status);
  const Router& router_for(const engine::Connection& conn) const {
    return conn.listener() == config_->admin_listener && config_->admin_router != nullptr
               ? *config_->admin_router : router_;
  }
  void arm_idle_or_header(engine::Connection& conn, HttpConnection& hc);
  std::string_view date();
  HttpConnection* state(engine::Connection& conn);

  engine::Shard& shard_;
  const ServerConfig* config_;  // swapped by set_config() on a reload
  const Router& router_;
  Request request_;        // scratch head, valid during one dispatch (8 KiB:
                           // one per shard, not per connection)
  PathParams params_;
  HttpMetrics metrics_;
  // Cached Date header value, refreshed when the second changes.
  int64_t date_second_ = -1;
  uint64_t date_checked_ms_ = ~uint64_t{0};  // shard time of the last check
  char date_buf_[32] = {};
  // The last response head without extra headers, kept encoded: a server
  // answering the same shape (status, type, length, framing) again copies it
  // instead of serialising. Keyed by every input; the Date second too.
  struct HeadCache {
    bool valid = false;
    uint16_t status = 0;
    uint8_t connection = 0;
    bool has_length = false;
    bool chunked = false;
    uint64_t length = 0;
    int64_t date_second = -1;
    uint8_t type_size = 0;
    uint16_t size = 0;
    char type[64];
    char bytes[320];
  } head_cache_;
  // Free per-connection state blocks, reused.
  std::vector<HttpConnection*> free_states_;
  static constexpr uint64_t kLogTickMs = 250;  // access log hand-off tick
  static void log_tick(engine::TimerEntry& e);
  static std::string_view peer_text(engine::Connection& conn, HttpConnection& hc, char* buf,
                                    size_t size);
  engine::TimerEntry log_timer_;
  HeaderArena headers_;
  RequestContext sync_ctx_;        // the context of a request answered in its handler
  std::string body_scratch_;       // a middleware's replacement body (compression)
  std::string filter_out_;         // a body filter's output, per write
  std::vector<std::unique_ptr<RouteStats>> route_stats_;
  unsigned processing_ = 0;  // process() frames on the stack, any connection
  struct DeferredResumes : engine::ShardTask {
    HttpServer* server = nullptr;
    bool posted = false;
    struct Entry {
      uint32_t slot;
      uint32_t generation;
      HttpConnection* state;  // still its context: not closed, not upgraded
    };
    std::vector<Entry> conns;
  } deferred_;
};

// The per-shard factory the engine calls.
std::unique_ptr<engine::ConnectionHandler> make_http_handler(engine::Shard& shard,
                                                             const ServerConfig& config,
                                                             const Router& router);

}  // namespace ringshard::http
