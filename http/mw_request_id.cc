#include "http/mw_request_id.h"

#include <cstring>
#include <span>
#include <string_view>

#include "http/request.h"
#include "http/server.h"
#include "http/trace_context.h"

namespace ringshard::http {

namespace {

// "x-request-id" and "traceparent" compared without allocation; the length
// test first keeps the common header a single comparison.
constexpr std::string_view kRequestIdName = "x-request-id";
constexpr std::string_view kTraceParentName = "traceparent";

}  // namespace

RequestIdMiddleware::RequestIdMiddleware(unsigned shards, bool request_id, bool trace_context)
    : RequestIdMiddleware(shards, request_id, trace_context, std::nullopt) {}

RequestIdMiddleware::RequestIdMiddleware(unsigned shards, bool request_id, bool trace_context,
                                         uint64_t seed)
    : RequestIdMiddleware(shards, request_id, trace_context, std::optional<uint64_t>(seed)) {}

RequestIdMiddleware::RequestIdMiddleware(unsigned shards, bool request_id, bool trace_context,
                                         std::optional<uint64_t> seed)
    : shards_(shards), request_id_(request_id), trace_context_(trace_context) {
  slots_.reserve(shards);
  for (unsigned i = 0; i < shards; ++i) {
    slots_.push_back(seed ? std::make_unique<Slot>(*seed + i) : std::make_unique<Slot>());
  }
}

bool RequestIdMiddleware::before(ServerRequest& req, Response& /*res*/,
                                 RequestContext& ctx) const {
  // One pass over the fields: the first X-Request-ID, and traceparent with
  // how many times it came (more than once makes it invalid).
  std::string_view incoming_id;
  bool have_id = false;
  std::string_view traceparent;
  unsigned traceparents = 0;
  const Request& head = req.head();
  for (size_t i = 0; i < head.header_count; ++i) {
    const Header& h = head.headers[i];
    if (h.name.size() == kRequestIdName.size()) {
      if (!have_id && request_id_ && iequals(h.name, kRequestIdName)) {
        incoming_id = h.value;
        have_id = true;
      }
    } else if (h.name.size() == kTraceParentName.size()) {
      if (trace_context_ && iequals(h.name, kTraceParentName)) {
        traceparent = h.value;
        ++traceparents;
      }
    }
  }
  RequestIdGenerator* gen = ctx.shard < slots_.size() ? &slots_[ctx.shard]->gen : nullptr;

  if (request_id_) {
    static_assert(sizeof(ctx.request_id) >= kRequestIdMaxLength);
    static_assert(kRequestIdMaxLength <= 255);  // request_id_len is a uint8_t
    if (have_id && valid_request_id(incoming_id)) {
      std::memcpy(ctx.request_id, incoming_id.data(), incoming_id.size());
      ctx.request_id_len = static_cast<uint8_t>(incoming_id.size());
    } else if (gen != nullptr) {
      gen->next_id(std::span<char, kRequestIdLength>(ctx.request_id, kRequestIdLength));
      ctx.request_id_len = static_cast<uint8_t>(kRequestIdLength);
    }
  }
  if (trace_context_ && gen != nullptr) {
    const TraceDecision d =
        next_trace(traceparents == 1 ? traceparent : std::string_view(), *gen);
    static_assert(sizeof(ctx.trace_id) == 2 * sizeof(d.ours.trace_id));
    static_assert(sizeof(ctx.span_id) == 2 * sizeof(d.ours.parent_id));
    hex_encode(d.ours.trace_id, ctx.trace_id);
    hex_encode(d.ours.parent_id, ctx.span_id);
    ctx.has_trace = true;
    ctx.keep_tracestate = d.keep_tracestate;
  }
  return true;
}

void RequestIdMiddleware::on_response(const ServerRequest* /*req*/, Response& res,
                                      ResponseInfo& /*info*/, RequestContext& ctx) const {
  if (ctx.request_id_len == 0) return;
  if (!res.added_header("X-Request-ID").empty()) return;
  res.header("X-Request-ID", ctx.request_id_view());
}

}  // namespace ringshard::http
