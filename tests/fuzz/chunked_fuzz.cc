// libFuzzer target for http/chunked.h. Besides looking for crashes under the
// sanitizers it checks the decoder's contract and aborts when it breaks:
//  - consumed <= the bytes presented; every data run lies inside them;
//  - the data runs add up to body_bytes(), which never passes max_body;
//  - presenting the input in two parts (keeping what was left unconsumed),
//    or one byte at a time, gives the same status, consumed total and body as
//    presenting it whole; an error may show up earlier, with the same status;
//  - after kDone or kError nothing more is consumed.
// Each input runs with the default limits and with small ones.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/chunked.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ringshard::http::ChunkedDecoder;
using ringshard::http::ChunkedLimits;
using ringshard::http::ChunkedResult;
using ringshard::http::ChunkedStatus;

constexpr const char* kFuzzTarget = "chunked decoder";

struct Outcome {
  ChunkedStatus status = ChunkedStatus::kNeedMore;
  uint16_t code = 0;
  size_t consumed = 0;
  std::string body;
};

// Presents in[begin..cut) for each cut in turn, keeping what the decoder
// left unconsumed, then the rest of the input.
template <size_t N>
Outcome decode(std::string_view in, const ChunkedLimits& limits,
               const size_t (&cuts)[N], bool bytewise) {
  ChunkedDecoder dec(limits);
  Outcome o;
  size_t begin = 0;
  uint64_t delivered = 0;
  auto present = [&](size_t end) {
    std::string_view part = in.substr(begin, end - begin);
    ChunkedResult r = dec.feed(part, [&](std::string_view d) {
      FUZZ_CHECK(d.data() >= part.data());
      FUZZ_CHECK(d.data() + d.size() <= part.data() + part.size());
      delivered += d.size();
      o.body.append(d);
    });
    FUZZ_CHECK(r.consumed <= part.size());
    FUZZ_CHECK(delivered == dec.body_bytes());
    FUZZ_CHECK(dec.body_bytes() <= limits.max_body);
    begin += r.consumed;
    o.status = r.status;
    if (r.status == ChunkedStatus::kError) {
      FUZZ_CHECK(r.error_status == 400 || r.error_status == 413);
      FUZZ_CHECK(!r.reason.empty());
      o.code = r.error_status;
    }
    return r.status;
  };
  bool open = true;
  if (bytewise) {
    for (size_t end = 0; end <= in.size() && open; ++end) {
      if (end >= begin) open = present(end) == ChunkedStatus::kNeedMore;
    }
  } else {
    for (size_t cut : cuts) {
      if (cut > in.size() || cut < begin || !open) continue;
      open = present(cut) == ChunkedStatus::kNeedMore;
    }
  }
  if (open) present(in.size());
  o.consumed = begin;

  // Finished decoders consume nothing more.
  if (o.status != ChunkedStatus::kNeedMore) {
    ChunkedResult again = dec.feed(in.substr(begin), [](std::string_view) {
      FUZZ_FAIL("data delivered after kDone or kError");
    });
    FUZZ_CHECK(again.consumed == 0);
    FUZZ_CHECK(again.status == o.status);
  }
  return o;
}

void expect_same(const Outcome& whole, const Outcome& other) {
  FUZZ_CHECK(other.status == whole.status);
  if (whole.status == ChunkedStatus::kError) {
    FUZZ_CHECK(other.code == whole.code);
  } else {
    FUZZ_CHECK(other.consumed == whole.consumed);
    FUZZ_CHECK(other.body == whole.body);
  }
}

void check(std::string_view in, const ChunkedLimits& limits) {
  const size_t n = in.size();
  const size_t none[] = {0};
  const Outcome whole = decode(in, limits, none, false);
  if (whole.status == ChunkedStatus::kDone) FUZZ_CHECK(whole.consumed > 0);

  uint32_t seed = 2166136261u;
  for (unsigned char c : in.substr(0, 16)) seed = (seed ^ c) * 16777619u;
  const size_t halves[] = {n / 2};
  expect_same(whole, decode(in, limits, halves, false));
  const size_t picked[] = {seed % (n + 1)};
  expect_same(whole, decode(in, limits, picked, false));
  const size_t three[] = {n / 3, n / 3 + 1, 2 * n / 3};
  expect_same(whole, decode(in, limits, three, false));
  expect_same(whole, decode(in, limits, none, true));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check(in, ChunkedLimits{});
  ChunkedLimits small;
  small.max_body = 64;
  small.max_trailer_bytes = 32;
  small.max_chunk_line = 16;
  check(in, small);
  return 0;
}
