#include "http/trace_context.h"

#include <cstring>

namespace ringshard::http {
namespace {

// Lowercase hex only: the spec's HEXDIGLC.
int lower_hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes 2 * out.size() lowercase hex digits at p. False on any other byte.
bool decode_hex(const char* p, std::span<uint8_t> out) {
  for (uint8_t& b : out) {
    const int hi = lower_hex(p[0]);
    const int lo = lower_hex(p[1]);
    if ((hi | lo) < 0) return false;
    b = static_cast<uint8_t>(hi << 4 | lo);
    p += 2;
  }
  return true;
}

bool all_zero(std::span<const uint8_t> b) {
  uint8_t acc = 0;
  for (uint8_t x : b) acc |= x;
  return acc == 0;
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

}  // namespace

std::optional<TraceParent> parse_traceparent(std::string_view v) {
  while (!v.empty() && is_ows(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_ows(v.back())) v.remove_suffix(1);
  // Every limit first: too short for any version.
  if (v.size() < kTraceParentLength) return std::nullopt;
  const char* p = v.data();
  TraceParent tp;
  uint8_t version[1];
  if (!decode_hex(p, version)) return std::nullopt;
  tp.version = version[0];
  if (tp.version == 0xff) return std::nullopt;
  if (tp.version == 0x00 && v.size() != kTraceParentLength) return std::nullopt;
  if (tp.version != 0x00 && v.size() > kTraceParentLength && p[55] != '-') {
    return std::nullopt;
  }
  if (p[2] != '-' || p[35] != '-' || p[52] != '-') return std::nullopt;
  if (!decode_hex(p + 3, tp.trace_id) || !decode_hex(p + 36, tp.parent_id)) {
    return std::nullopt;
  }
  uint8_t flags[1];
  if (!decode_hex(p + 53, flags)) return std::nullopt;
  tp.flags = flags[0];
  if (all_zero(tp.trace_id) || all_zero(tp.parent_id)) return std::nullopt;
  return tp;
}

std::string_view format_traceparent(const TraceParent& tp,
                                    std::span<char, kTraceParentLength> out) {
  char* p = out.data();
  p[0] = '0';
  p[1] = '0';
  p[2] = '-';
  hex_encode(tp.trace_id, p + 3);
  p[35] = '-';
  hex_encode(tp.parent_id, p + 36);
  p[52] = '-';
  const uint8_t flags[1] = {tp.flags};
  hex_encode(flags, p + 53);
  return {out.data(), out.size()};
}

// A zero id would make our own header invalid; at 2^-64 per span id it
// is worth one compare to never send one.
void new_trace_id(RequestIdGenerator& gen, uint8_t (&out)[16]) {
  do {
    gen.fill(out);
  } while (all_zero(out));
}

void new_span_id(RequestIdGenerator& gen, uint8_t (&out)[8]) {
  do {
    gen.fill(out);
  } while (all_zero(out));
}

TraceDecision next_trace(std::string_view incoming, RequestIdGenerator& gen) {
  TraceDecision d;
  if (std::optional<TraceParent> in = parse_traceparent(incoming)) {
    std::memcpy(d.ours.trace_id, in->trace_id, sizeof d.ours.trace_id);
    d.ours.flags = in->flags & (kTraceFlagSampled | kTraceFlagRandom);
    // Our span id must differ from the caller's, or two spans would share
    // an id; retrying is vanishingly rare.
    do {
      new_span_id(gen, d.ours.parent_id);
    } while (std::memcmp(d.ours.parent_id, in->parent_id, sizeof in->parent_id) == 0);
    d.keep_tracestate = true;
    d.propagated = true;
    return d;
  }
  new_trace_id(gen, d.ours.trace_id);
  new_span_id(gen, d.ours.parent_id);
  return d;
}

}  // namespace ringshard::http
