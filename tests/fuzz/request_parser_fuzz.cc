// libFuzzer target for http/parser.h. Besides looking for crashes under the
// sanitizers it checks the parser's contract and aborts when it breaks:
//  - consumed <= input size; every view of a complete Request lies inside
//    the input (path may also be the static "/");
//  - on kComplete, parsing the same bytes again (fresh parser, or the same
//    one without reset) gives the same result, and so does parsing only the
//    `consumed` bytes;
//  - feeding the input in two parts (prefix, then the whole buffer) or one
//    byte at a time gives the same outcome as feeding it whole; an error may
//    show up earlier, but with the same status;
//  - pipelined heads after the first one satisfy the same rules.
// Each input runs with the default limits and with small ones, so the 414
// and 431 paths are reached by short inputs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ringshard::http::ParseResult;
using ringshard::http::ParserLimits;
using ringshard::http::ParseStatus;
using ringshard::http::Request;
using ringshard::http::RequestParser;

constexpr const char* kFuzzTarget = "request parser";

bool inside(std::string_view v, std::string_view in) {
  if (v.data() == nullptr) return v.empty();
  return v.data() >= in.data() && v.data() + v.size() <= in.data() + in.size();
}

struct Outcome {
  ParseStatus status = ParseStatus::kPartial;
  uint16_t code = 0;
  size_t consumed = 0;
  std::string fields;  // the complete Request, flattened
  bool operator==(const Outcome&) const = default;
};

std::string flatten(const Request& r) {
  std::string s;
  auto add = [&](std::string_view v) {
    s.append(v);
    s += '\0';
  };
  add(r.method_text);
  add(r.target);
  add(r.path);
  add(r.query);
  add(r.host);
  s += static_cast<char>(r.method);
  s += static_cast<char>(r.version_minor);
  s += static_cast<char>(r.keep_alive | r.upgrade << 1 | r.expect_continue << 2);
  s += static_cast<char>(r.body_kind);
  add(std::to_string(r.content_length));
  for (size_t i = 0; i < r.header_count; ++i) {
    add(r.headers[i].name);
    add(r.headers[i].value);
  }
  return s;
}

Outcome check_result(const ParseResult& res, const Request& r,
                     std::string_view in, const ParserLimits& limits) {
  Outcome o;
  o.status = res.status;
  switch (res.status) {
    case ParseStatus::kPartial:
      break;
    case ParseStatus::kError:
      FUZZ_CHECK(!res.reason.empty());
      FUZZ_CHECK(res.error_status == 400 || res.error_status == 414 ||
                 res.error_status == 417 || res.error_status == 431 ||
                 res.error_status == 501 || res.error_status == 505);
      o.code = res.error_status;
      break;
    case ParseStatus::kComplete:
      FUZZ_CHECK(res.consumed > 0);
      FUZZ_CHECK(res.consumed <= in.size());
      FUZZ_CHECK(res.consumed <= limits.max_head_bytes);
      FUZZ_CHECK(r.target.size() <= limits.max_target_bytes);
      FUZZ_CHECK(r.header_count <= limits.max_headers);
      FUZZ_CHECK(inside(r.method_text, in) && !r.method_text.empty());
      FUZZ_CHECK(inside(r.target, in) && !r.target.empty());
      FUZZ_CHECK(inside(r.path, in) || r.path == "/");
      FUZZ_CHECK(inside(r.query, in));
      FUZZ_CHECK(inside(r.host, in));
      FUZZ_CHECK(r.version_minor <= 1);
      for (size_t i = 0; i < r.header_count; ++i) {
        FUZZ_CHECK(inside(r.headers[i].name, in));
        FUZZ_CHECK(!r.headers[i].name.empty());
        FUZZ_CHECK(inside(r.headers[i].value, in));
      }
      o.consumed = res.consumed;
      o.fields = flatten(r);
      break;
  }
  return o;
}

// Feeds in[0..cut) for each cut in turn, then all of `in`.
template <size_t N>
Outcome feed_growing(std::string_view in, const ParserLimits& limits,
                     const size_t (&cuts)[N]) {
  RequestParser parser(limits);
  Request r;
  size_t last = 0;
  for (size_t cut : cuts) {
    if (cut > in.size()) break;
    if (cut < last) continue;  // the bytes presented only ever grow
    last = cut;
    ParseResult res = parser.parse(in.substr(0, cut), r);
    if (res.status != ParseStatus::kPartial) {
      return check_result(res, r, in.substr(0, cut), limits);
    }
  }
  return check_result(parser.parse(in, r), r, in, limits);
}

void expect_same(const Outcome& whole, const Outcome& other) {
  if (whole.status == ParseStatus::kError) {
    FUZZ_CHECK(other.status == ParseStatus::kError);
    FUZZ_CHECK(other.code == whole.code);
  } else {
    FUZZ_CHECK(other == whole);
  }
}

// Checks one head at the start of `in`; returns its outcome.
Outcome check_head(std::string_view in, const ParserLimits& limits,
                   uint32_t seed) {
  RequestParser parser(limits);
  Request r;
  const Outcome whole = check_result(parser.parse(in, r), r, in, limits);

  if (whole.status == ParseStatus::kComplete) {
    Request again;
    // Same parser, no reset: the state after kComplete is the initial one.
    FUZZ_CHECK(check_result(parser.parse(in, again), again, in, limits) == whole);
    RequestParser fresh(limits);
    FUZZ_CHECK(check_result(fresh.parse(in, again), again, in, limits) == whole);
    fresh.reset();
    std::string_view head = in.substr(0, whole.consumed);
    FUZZ_CHECK(check_result(fresh.parse(head, again), again, head, limits) == whole);
  }

  const size_t n = in.size();
  const size_t halves[] = {n / 2};
  expect_same(whole, feed_growing(in, limits, halves));
  const size_t picked[] = {n == 0 ? 0 : seed % (n + 1)};
  expect_same(whole, feed_growing(in, limits, picked));
  const size_t three[] = {n / 3, n / 3 + 1, 2 * n / 3};
  expect_same(whole, feed_growing(in, limits, three));

  // One byte at a time.
  RequestParser slow(limits);
  Request sr;
  Outcome bytewise;
  bool decided = false;
  for (size_t k = 0; k <= n && !decided; ++k) {
    ParseResult res = slow.parse(in.substr(0, k), sr);
    if (res.status != ParseStatus::kPartial) {
      bytewise = check_result(res, sr, in.substr(0, k), limits);
      decided = true;
    }
  }
  if (!decided) bytewise = check_result(slow.parse(in, sr), sr, in, limits);
  expect_same(whole, bytewise);
  return whole;
}

void check_stream(std::string_view in, const ParserLimits& limits) {
  uint32_t seed = 2166136261u;
  for (unsigned char c : in.substr(0, 16)) seed = (seed ^ c) * 16777619u;
  // Pipelined heads: parse, skip what was consumed, parse the rest.
  for (int i = 0; i < 8; ++i) {
    Outcome o = check_head(in, limits, seed);
    if (o.status != ParseStatus::kComplete) return;
    in.remove_prefix(o.consumed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check_stream(in, ParserLimits{});
  ParserLimits small;
  small.max_head_bytes = 128;
  small.max_target_bytes = 24;
  small.max_headers = 4;
  check_stream(in, small);
  return 0;
}
