// http/middleware.h: code that runs around route handlers, in order, for
// every route (global middleware, ServerConfig::middleware) or for one
// route (RouteOptions::middleware).
//
// A middleware acts before the handler (before(): refuse or answer the
// request through `res`, add response headers, note what it decided in the
// RequestContext) and when the response head is about to be written
// (on_response(): add headers, replace a whole body, e.g. compressed). The
// order: global before(), route before(), handler, then route
// on_response(), global on_response(), each list in reverse (the first
// middleware is the outermost). A before() that answers stops the chain;
// every on_response() of the request's middleware (global and route)
// still sees the answer, including those whose before() did not run:
// on_response() must not assume its before() ran.
//
// Global before() runs for every request that parsed, also those answered
// 404, 405 or 501 (a CORS preflight to a route that registered only GET is
// answered there). Requests refused by the parser (400, 413...) reach no
// middleware.
//
// Cost: a server with no middleware runs none of this (one empty-vector
// test per request). Middleware objects are shared by every shard and
// called concurrently from all of them: keep per-shard state in arrays
// indexed by RequestContext::shard, never shared mutable state without
// atomics.
//
// Thread: the request's shard.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/request.h"
#include "obs/prometheus.h"

namespace ringshard::http {

class ServerRequest;
class Response;

// Per request, owned by the server driver; lives from dispatch until the
// response has been written (across defer() and streaming).
struct RequestContext {
  unsigned shard = 0;
  uint64_t start_ns = 0;         // CLOCK_MONOTONIC at dispatch
  // X-Request-ID (validated or generated), empty when the middleware is off.
  char request_id[200];
  uint8_t request_id_len = 0;
  // W3C trace context of our span (lowercase hex), empty when off.
  char trace_id[32];
  char span_id[16];
  bool has_trace = false;
  bool keep_tracestate = false;
  // Rate limiting: the decision the headers describe (rule set when a rule
  // matched).
  const void* rate_rule = nullptr;
  uint64_t rate_limit = 0, rate_remaining = 0, rate_reset_ns = 0, rate_retry_ns = 0;
  bool rate_admitted = true;
  // Content coding chosen for the response (0 identity, 1 gzip, 2 br).
  uint8_t coding = 0;
  bool tls = false;              // arrived on a TLS listener
  // Free for application middleware (plugins).
  void* user[2] = {nullptr, nullptr};

  std::string_view request_id_view() const { return {request_id, request_id_len}; }
  void reset(unsigned shard_index, uint64_t now_ns) {
    shard = shard_index;
    start_ns = now_ns;
    request_id_len = 0;
    has_trace = keep_tracestate = false;
    rate_rule = nullptr;
    rate_admitted = true;
    coding = 0;
    user[0] = user[1] = nullptr;
  }
};

// Transforms a streamed body as it goes (compression): every piece the
// producer writes passes through write(), and finish() adds what is left
// at the end. Output is appended to `out`. False: the stream is broken and
// the connection closes (the head is out already).
class BodyFilter {
 public:
  virtual ~BodyFilter() = default;
  virtual bool write(std::string_view in, std::string& out) = 0;
  virtual bool finish(std::string& out) = 0;
};

// What on_response() sees and may change.
struct ResponseInfo {
  uint16_t status = 0;
  std::string_view content_type;
  std::string_view body;   // whole body; empty for a stream or a HEAD answer
  bool streamed = false;   // Response::stream(): the body comes later
  bool head_only = false;  // HEAD: no body bytes go out
  // A middleware that replaces the body points `body` at `storage` (owned
  // by the server for the duration of the write).
  std::string* storage = nullptr;
  // A streamed response's body filter (set by at most one middleware). The
  // server then sends the body chunked (close-delimited for HTTP/1.0), any
  // announced length dropped, and owns the filter until the stream ends.
  std::unique_ptr<BodyFilter> filter;
};

class Middleware {
 public:
  virtual ~Middleware() = default;
  // Before the handler. Return false after answering through `res` (the
  // handler and the following middleware are skipped).
  virtual bool before(ServerRequest& /*req*/, Response& /*res*/, RequestContext& /*ctx*/) const {
    return true;
  }
  // The head of the response is about to be written: add headers with
  // res.header(), or replace info.body. Not called for 1xx (an upgrade).
  virtual void on_response(const ServerRequest* /*req*/, Response& /*res*/, ResponseInfo& /*info*/,
                           RequestContext& /*ctx*/) const {}
  // Appends the middleware's own metrics to a /metrics scrape (any thread:
  // read per-shard counters with relaxed loads).
  virtual void write_metrics(obs::PrometheusWriter& /*out*/) const {}
};

}  // namespace ringshard::http
