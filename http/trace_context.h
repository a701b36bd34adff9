// http/trace_context.h: W3C Trace Context (https://www.w3.org/TR/trace-context/)
// traceparent header: parse, format, and the propagate-or-restart decision
// a server makes for each request.
//
//   TraceDecision d = next_trace(req_traceparent_or_empty, shard_generator);
//   char buf[kTraceParentLength];
//   std::string_view ours = format_traceparent(d.ours, buf);
//   // log/forward `ours`; forward tracestate only if d.keep_tracestate
//
// Parsing (version 00, the only one defined):
//   version "-" trace-id "-" parent-id "-" trace-flags
//   2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters exactly, every field
//   lowercase hex (uppercase is invalid). Invalid: version "ff", an all-zero
//   trace-id or parent-id, any other length. Leading and trailing SP/HTAB
//   (the field's OWS) are ignored.
// Higher versions (01..fe), as the spec asks: the value must have at least
// 55 characters; the first four fields are read with the layout above, and
// the character after the flags must be the end or '-' (what follows is
// ignored). The result is reported as parsed; we always format version 00.
//
// Several traceparent fields in one request make the header invalid (the
// spec's rule); the caller passes an empty view for that case.
//
// Everything here is pure apart from the generator it is handed: no
// allocation, no syscall; any thread with its own generator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "http/request_id.h"

namespace ringshard::http {

inline constexpr size_t kTraceParentLength = 55;
inline constexpr uint8_t kTraceFlagSampled = 0x01;
inline constexpr uint8_t kTraceFlagRandom = 0x02;  // Trace Context Level 2

struct TraceParent {
  uint8_t version = 0;
  uint8_t trace_id[16] = {};
  uint8_t parent_id[8] = {};
  uint8_t flags = 0;
  bool operator==(const TraceParent&) const = default;
};

// The parsed header, or nullopt when it is invalid (see above).
std::optional<TraceParent> parse_traceparent(std::string_view value);

// Writes the 55-character version-00 form of `tp` (its version field is
// ignored: we speak 00 only) and returns a view of `out`.
std::string_view format_traceparent(const TraceParent& tp,
                                    std::span<char, kTraceParentLength> out);

// New random ids, never all zero. Same generator as request ids: one per
// shard, not shared between threads.
void new_trace_id(RequestIdGenerator& gen, uint8_t (&out)[16]);
void new_span_id(RequestIdGenerator& gen, uint8_t (&out)[8]);

struct TraceDecision {
  TraceParent ours;             // version 00, the traceparent of our span
  bool keep_tracestate = false; // forward the request's tracestate?
  bool propagated = false;      // ours continues the incoming trace
};

// A valid incoming traceparent: same trace-id, a new parent-id (our span),
// the flags the spec defines (sampled, random) kept and reserved bits
// cleared (the spec asks vendors to send those as zero); tracestate kept.
// Missing (empty) or invalid: a new trace-id and parent-id, flags 00 (not
// sampled: the server records nothing on its own), tracestate dropped.
TraceDecision next_trace(std::string_view incoming_traceparent,
                         RequestIdGenerator& gen);

}  // namespace ringshard::http
