// libFuzzer target for http/response_parser.h. Besides looking for crashes
// under the sanitizers it checks the parser's contract and aborts when it
// breaks:
//  - consumed <= input size and <= max_head_bytes; every view of a complete
//    ParsedResponse lies inside the input; errors are 502 with a reason;
//  - the parsed fields are coherent: status 100-999, version 0 or 1, no
//    body for HEAD / 1xx / 204 / 304, close-delimited bodies do not keep
//    the connection alive;
//  - on kComplete, parsing the same bytes again (same parser without reset,
//    fresh parser, only the `consumed` bytes) gives the same result;
//  - feeding the input in growing prefixes (halves, thirds, a seed-picked
//    cut, one byte at a time) gives the same outcome, error reason included;
//  - pipelined heads after the first one satisfy the same rules.
// Each input runs as the answer to a HEAD request and to any other, with
// the default limits and with small ones, so the size and header-count
// limits are reached by short inputs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/response_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ringshard::http::ParsedResponse;
using ringshard::http::ParseResult;
using ringshard::http::ParseStatus;
using ringshard::http::ResponseBodyKind;
using ringshard::http::ResponseParser;
using ringshard::http::ResponseParserLimits;

constexpr const char* kFuzzTarget = "response parser";

bool inside(std::string_view v, std::string_view in) {
  if (v.data() == nullptr) return v.empty();
  return v.data() >= in.data() && v.data() + v.size() <= in.data() + in.size();
}

struct Outcome {
  ParseStatus status = ParseStatus::kPartial;
  size_t consumed = 0;
  std::string_view reason;  // static strings: compared by content
  std::string fields;       // the complete ParsedResponse, flattened
  bool operator==(const Outcome&) const = default;
};

std::string flatten(const ParsedResponse& r) {
  std::string s;
  auto add = [&](std::string_view v) {
    s.append(v);
    s += '\0';
  };
  s += static_cast<char>(r.version_minor);
  add(std::to_string(r.status));
  add(r.reason);
  s += static_cast<char>(r.keep_alive | r.upgrade << 1 | r.transfer_coded << 2);
  s += static_cast<char>(r.body_kind);
  add(std::to_string(r.content_length));
  for (size_t i = 0; i < r.header_count; ++i) {
    add(r.headers[i].name);
    add(r.headers[i].value);
  }
  return s;
}

Outcome check_result(const ParseResult& res, const ParsedResponse& r,
                     std::string_view in, const ResponseParserLimits& limits,
                     bool head_request) {
  Outcome o;
  o.status = res.status;
  switch (res.status) {
    case ParseStatus::kPartial:
      FUZZ_CHECK(in.size() <= limits.max_head_bytes);
      break;
    case ParseStatus::kError:
      FUZZ_CHECK(!res.reason.empty());
      FUZZ_CHECK(res.error_status == 502);
      FUZZ_CHECK(res.consumed == 0);
      o.reason = res.reason;
      break;
    case ParseStatus::kComplete:
      FUZZ_CHECK(res.consumed >= 9);  // "HTTP/" ... "\r\n\r\n"
      FUZZ_CHECK(res.consumed <= in.size());
      FUZZ_CHECK(res.consumed <= limits.max_head_bytes);
      FUZZ_CHECK(in.substr(0, 5) == "HTTP/");
      FUZZ_CHECK(in.substr(res.consumed - 4, 4) == "\r\n\r\n");
      FUZZ_CHECK(r.header_count <= limits.max_headers);
      FUZZ_CHECK(r.version_minor <= 1);
      FUZZ_CHECK(r.status >= 100 && r.status <= 999);
      FUZZ_CHECK(inside(r.reason, in.substr(0, res.consumed)));
      for (size_t i = 0; i < r.header_count; ++i) {
        FUZZ_CHECK(inside(r.headers[i].name, in.substr(0, res.consumed)));
        FUZZ_CHECK(!r.headers[i].name.empty());
        FUZZ_CHECK(inside(r.headers[i].value, in.substr(0, res.consumed)));
      }
      if (head_request || r.status < 200 || r.status == 204 || r.status == 304) {
        FUZZ_CHECK(r.body_kind == ResponseBodyKind::kNone);
      } else {
        FUZZ_CHECK(r.body_kind != ResponseBodyKind::kNone);
      }
      if (r.body_kind == ResponseBodyKind::kUntilClose) FUZZ_CHECK(!r.keep_alive);
      if (r.body_kind == ResponseBodyKind::kChunked) FUZZ_CHECK(r.version_minor == 1);
      o.consumed = res.consumed;
      o.fields = flatten(r);
      break;
  }
  return o;
}

// Feeds in[0..cut) for each cut in turn, then all of `in`.
template <size_t N>
Outcome feed_growing(std::string_view in, const ResponseParserLimits& limits,
                     bool head_request, const size_t (&cuts)[N]) {
  ResponseParser parser(limits);
  ParsedResponse r;
  size_t last = 0;
  for (size_t cut : cuts) {
    if (cut > in.size()) break;
    if (cut < last) continue;  // the bytes presented only ever grow
    last = cut;
    std::string_view part = in.substr(0, cut);
    ParseResult res = parser.parse(part, r, head_request);
    if (res.status != ParseStatus::kPartial) {
      return check_result(res, r, part, limits, head_request);
    }
  }
  return check_result(parser.parse(in, r, head_request), r, in, limits,
                      head_request);
}

// Checks one head at the start of `in`; returns its outcome.
Outcome check_head(std::string_view in, const ResponseParserLimits& limits,
                   bool head_request, uint32_t seed) {
  ResponseParser parser(limits);
  ParsedResponse r;
  const Outcome whole = check_result(parser.parse(in, r, head_request), r, in,
                                     limits, head_request);

  if (whole.status == ParseStatus::kComplete) {
    ParsedResponse again;
    // Same parser, no reset: the state after kComplete is the initial one.
    FUZZ_CHECK(check_result(parser.parse(in, again, head_request), again, in,
                            limits, head_request) == whole);
    ResponseParser fresh(limits);
    std::string_view head = in.substr(0, whole.consumed);
    FUZZ_CHECK(check_result(fresh.parse(head, again, head_request), again,
                            head, limits, head_request) == whole);
  }

  const size_t n = in.size();
  const size_t halves[] = {n / 2};
  FUZZ_CHECK(feed_growing(in, limits, head_request, halves) == whole);
  const size_t picked[] = {n == 0 ? 0 : seed % (n + 1)};
  FUZZ_CHECK(feed_growing(in, limits, head_request, picked) == whole);
  const size_t three[] = {n / 3, n / 3 + 1, 2 * n / 3};
  FUZZ_CHECK(feed_growing(in, limits, head_request, three) == whole);

  // One byte at a time.
  ResponseParser slow(limits);
  ParsedResponse sr;
  Outcome bytewise;
  bool decided = false;
  for (size_t k = 0; k <= n && !decided; ++k) {
    std::string_view part = in.substr(0, k);
    ParseResult res = slow.parse(part, sr, head_request);
    if (res.status != ParseStatus::kPartial) {
      bytewise = check_result(res, sr, part, limits, head_request);
      decided = true;
    }
  }
  if (!decided) {
    bytewise = check_result(slow.parse(in, sr, head_request), sr, in, limits,
                            head_request);
  }
  FUZZ_CHECK(bytewise == whole);
  return whole;
}

void check_stream(std::string_view in, const ResponseParserLimits& limits,
                  bool head_request) {
  uint32_t seed = 2166136261u;
  for (unsigned char c : in.substr(0, 16)) seed = (seed ^ c) * 16777619u;
  // Pipelined heads: parse, skip what was consumed, parse the rest (bodies
  // are not skipped: whatever follows a head is parsed as the next head).
  for (int i = 0; i < 8; ++i) {
    Outcome o = check_head(in, limits, head_request, seed);
    if (o.status != ParseStatus::kComplete) return;
    in.remove_prefix(o.consumed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ResponseParserLimits small;
  small.max_head_bytes = 128;
  small.max_headers = 4;
  for (bool head_request : {false, true}) {
    check_stream(in, ResponseParserLimits{}, head_request);
    check_stream(in, small, head_request);
  }
  return 0;
}
