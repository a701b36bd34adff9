// libFuzzer target for http/trace_context.h (and valid_request_id from
// http/request_id.h, the other header value a client hands the
// middleware). Besides crashes under the sanitizers it checks:
//  - parse_traceparent agrees with a reference written differently
//    (split on '-', then field by field);
//  - a parsed value formats to 55 characters that parse back to the same
//    ids and flags, and to the input itself when it was version 00;
//  - next_trace propagates exactly when the input parses, keeps the
//    trace-id then, never reuses the caller's span id, and always yields
//    a valid traceparent;
//  - valid_request_id agrees with a reference built on strspn.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "http/request_id.h"
#include "http/trace_context.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ringshard::http::kTraceParentLength;
using ringshard::http::RequestIdGenerator;
using ringshard::http::TraceParent;

constexpr const char* kFuzzTarget = "traceparent";

bool lower_hex_field(std::string_view f, size_t n) {
  if (f.size() != n) return false;
  for (char c : f) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zero_text(std::string_view f) { return f.find_first_not_of('0') == f.npos; }

// The spec's algorithm, spelled as fields between dashes.
bool reference_valid(std::string_view v) {
  const size_t b = v.find_first_not_of(" \t");
  if (b == v.npos) return false;
  v = v.substr(b, v.find_last_not_of(" \t") - b + 1);
  if (v.size() < kTraceParentLength) return false;
  const std::string_view version = v.substr(0, 2);
  if (!lower_hex_field(version, 2) || version == "ff") return false;
  if (version == "00" && v.size() != kTraceParentLength) return false;
  if (v.size() > kTraceParentLength && v[kTraceParentLength] != '-') return false;
  std::string_view rest = v.substr(0, kTraceParentLength);
  std::string_view fields[4];
  for (int i = 0; i < 4; ++i) {
    const size_t dash = rest.find('-');
    if ((i < 3) != (dash != rest.npos)) return false;
    fields[i] = rest.substr(0, dash);
    rest = dash == rest.npos ? std::string_view() : rest.substr(dash + 1);
  }
  return lower_hex_field(fields[1], 32) && lower_hex_field(fields[2], 16) &&
         lower_hex_field(fields[3], 2) && !all_zero_text(fields[1]) &&
         !all_zero_text(fields[2]);
}

bool reference_request_id(std::string_view v) {
  static const char kAllowed[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/=-";
  if (v.empty() || v.size() > ringshard::http::kRequestIdMaxLength) return false;
  const std::string s(v);  // strspn needs a terminator; NULs end it early
  return std::strspn(s.c_str(), kAllowed) == s.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::optional<TraceParent> tp = ringshard::http::parse_traceparent(in);
  FUZZ_CHECK(tp.has_value() == reference_valid(in));

  char buf[kTraceParentLength];
  if (tp) {
    FUZZ_CHECK(tp->version != 0xff);
    const std::string_view out = ringshard::http::format_traceparent(*tp, buf);
    FUZZ_CHECK(out.size() == kTraceParentLength);
    const std::optional<TraceParent> back = ringshard::http::parse_traceparent(out);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(back->version == 0);
    FUZZ_CHECK(std::memcmp(back->trace_id, tp->trace_id, 16) == 0);
    FUZZ_CHECK(std::memcmp(back->parent_id, tp->parent_id, 8) == 0);
    FUZZ_CHECK(back->flags == tp->flags);
    if (tp->version == 0) FUZZ_CHECK(in.find(out) != in.npos);
  }

  RequestIdGenerator gen(size);
  const ringshard::http::TraceDecision d = ringshard::http::next_trace(in, gen);
  FUZZ_CHECK(d.propagated == tp.has_value());
  FUZZ_CHECK(d.keep_tracestate == tp.has_value());
  const std::optional<TraceParent> ours =
      ringshard::http::parse_traceparent(ringshard::http::format_traceparent(d.ours, buf));
  FUZZ_CHECK(ours.has_value());
  if (tp) {
    FUZZ_CHECK(std::memcmp(d.ours.trace_id, tp->trace_id, 16) == 0);
    FUZZ_CHECK(std::memcmp(d.ours.parent_id, tp->parent_id, 8) != 0);
    FUZZ_CHECK(d.ours.flags == (tp->flags & 0x03));
  } else {
    FUZZ_CHECK(d.ours.flags == 0);
  }

  FUZZ_CHECK(ringshard::http::valid_request_id(in) == reference_request_id(in));
  return 0;
}
