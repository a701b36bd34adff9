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

// Writes 16 lowercase hex digits of v's 64 bits, branch-free (SWAR: each
// nibble spread to its own byte, then '0'-'9'/'a'-'f' by adding an offset).
// The digit order is not v's big-endian text: for random bits, which this
// is only used for, any fixed order is as good, and this one is cheapest.
inline void hex16_random(uint64_t v, char* out) {
  for (int half = 0; half < 2; ++half) {
    uint64_t x = static_cast<uint32_t>(v >> (32 * half));
    x = (x | (x << 16)) & 0x0000ffff0000ffffull;
    x = (x | (x << 8)) & 0x00ff00ff00ff00ffull;
    x = (x | (x << 4)) & 0x0f0f0f0f0f0f0f0full;
    const uint64_t letters = ((x + 0x0606060606060606ull) >> 4) & 0x0101010101010101ull;
    x += 0x3030303030303030ull + letters * ('a' - '0' - 10);
    std::memcpy(out + 8 * half, &x, 8);
  }
}

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
      // What RequestIdGenerator::next_id makes (128 random bits as 32
      // lowercase hex digits), at a third of its cost: this is per request.
      static_assert(kRequestIdLength == 32);
      hex16_random(gen->next_u64(), ctx.request_id);
      hex16_random(gen->next_u64(), ctx.request_id + 16);
      ctx.request_id_len = static_cast<uint8_t>(kRequestIdLength);
    }
  }
  if (trace_context_ && gen != nullptr) {
    static_assert(sizeof(ctx.trace_id) == 32 && sizeof(ctx.span_id) == 16);
    if (traceparents == 1 && !traceparent.empty()) {
      // Continue the caller's trace (or restart it when the value is invalid).
      const TraceDecision d = next_trace(traceparent, *gen);
      hex_encode(d.ours.trace_id, ctx.trace_id);
      hex_encode(d.ours.parent_id, ctx.span_id);
      ctx.keep_tracestate = d.keep_tracestate;
    } else {
      // No (usable) traceparent, the common case: next_trace's new trace
      // (random trace-id and span-id, neither all zero; no tracestate), with
      // the cheap hex above.
      uint64_t t0, t1, span;
      do {
        t0 = gen->next_u64();
        t1 = gen->next_u64();
      } while ((t0 | t1) == 0);
      do {
        span = gen->next_u64();
      } while (span == 0);
      hex16_random(t0, ctx.trace_id);
      hex16_random(t1, ctx.trace_id + 16);
      hex16_random(span, ctx.span_id);
      ctx.keep_tracestate = false;
    }
    ctx.has_trace = true;
  }
  return true;
}

void RequestIdMiddleware::on_response(const ServerRequest* /*req*/, Response& res,
                                      ResponseInfo& /*info*/, RequestContext& ctx) const {
  if (ctx.request_id_len == 0) return;
  if (!res.added_header("X-Request-ID").empty()) return;
  res.trusted_header("X-Request-ID", ctx.request_id_view());
}

}  // namespace ringshard::http
