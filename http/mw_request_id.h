// http/mw_request_id.h: request ids (X-Request-ID) and W3C trace context
// (traceparent) for every request, as global middleware.
//
//   RequestIdMiddleware ids(shards, /*request_id=*/true, /*trace_context=*/true);
//   config.middleware.push_back(&ids);          // outermost: first in the chain
//
// before():
//  - request id on: the request's X-Request-ID (the first such field) is
//    kept when valid_request_id() accepts it (http/request_id.h: 1..200
//    characters of [A-Za-z0-9._~+/=-]); otherwise (absent, empty, too long,
//    bad characters) a new id of 32 lowercase hex digits replaces it. The id
//    goes to RequestContext::request_id/request_id_len, where the access log
//    and Response::send_error (details.request_id) read it.
//  - trace context on: next_trace() on the request's traceparent (an empty
//    view when it is absent or sent more than once, which the spec makes
//    invalid): a valid one keeps its trace-id and gets a new span-id (ours);
//    a missing or invalid one gets a new trace-id and span-id. Written as
//    lowercase hex to RequestContext::trace_id/span_id, has_trace = true,
//    keep_tracestate = whether the request's tracestate may be forwarded
//    (false when the trace was restarted: the old tracestate describes
//    another trace).
// on_response(): adds "X-Request-ID: <id>" unless the response already has
// that header (a handler's own wins). No traceparent/traceresponse goes on
// the response: W3C Trace Context Level 2 only allows a server to return a
// traceresponse, nothing needs it yet, and revealing our span ids to every
// client is not free; the ids reach the access log through the context.
//
// Cost: this runs on every request in the default configuration. It never
// allocates, makes no syscall (the generators are seeded from getrandom()
// at construction) and builds no std::string: one pass over the request's
// header fields, five xoshiro256** steps and branch-free hex into the
// context for a request without ids (next_id() and next_trace() cost
// about 80 ns together on the CI box, mostly byte-wise hex), the parse of
// http/trace_context.h for a request with a traceparent.
//
// Shards: one RequestIdGenerator per shard, each on its own cache line,
// indexed by RequestContext::shard; `shards` must be the engine's shard
// count. A context whose shard index is out of range gets no generated
// values (a valid incoming id is still kept): generators are never shared
// between threads.
//
// Thread: shared by every shard; each shard touches only its own generator.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "http/middleware.h"
#include "http/request_id.h"

namespace ringshard::http {

class RequestIdMiddleware final : public Middleware {
 public:
  // Generators seeded from getrandom().
  RequestIdMiddleware(unsigned shards, bool request_id, bool trace_context);
  // Deterministic generators (shard i seeded with seed + i), for tests.
  RequestIdMiddleware(unsigned shards, bool request_id, bool trace_context, uint64_t seed);

  bool before(ServerRequest& req, Response& res, RequestContext& ctx) const override;
  void on_response(const ServerRequest* req, Response& res, ResponseInfo& info,
                   RequestContext& ctx) const override;

  bool request_id_enabled() const { return request_id_; }
  bool trace_context_enabled() const { return trace_context_; }
  unsigned shards() const { return shards_; }

 private:
  struct alignas(64) Slot {
    Slot() = default;
    explicit Slot(uint64_t seed) : gen(seed) {}
    RequestIdGenerator gen;
  };
  RequestIdMiddleware(unsigned shards, bool request_id, bool trace_context,
                      std::optional<uint64_t> seed);

  unsigned shards_;
  bool request_id_;
  bool trace_context_;
  // Mutable through a const before(): each shard owns slots_[shard]
  // (allocated one by one: aligned, so no two share a cache line).
  std::vector<std::unique_ptr<Slot>> slots_;
};

}  // namespace ringshard::http
