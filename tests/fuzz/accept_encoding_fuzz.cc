// libFuzzer target for http/accept_encoding.h. Besides crashes under the
// sanitizers it checks the parser's contract:
//  - every weight is -1 (not listed) or 0..1000;
//  - br is never chosen with brotli disabled; the choice from a string and
//    from its parsed weights agree;
//  - elements never span a comma and the first well-formed one wins, so
//    appending "," and anything to a value changes no weight it set, and
//    a value repeated after a comma reads as the value once;
//  - names and "q" are case-insensitive: upper-casing the ASCII letters
//    changes nothing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/accept_encoding.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ringshard::http::AcceptEncoding;
using ringshard::http::Coding;
using ringshard::http::choose_encoding;
using ringshard::http::parse_accept_encoding;

constexpr const char* kFuzzTarget = "accept-encoding";

bool same(const AcceptEncoding& a, const AcceptEncoding& b) {
  return a.gzip == b.gzip && a.br == b.br && a.identity == b.identity && a.star == b.star;
}

bool in_range(int16_t q) { return q == -1 || (q >= 0 && q <= 1000); }

// Each weight `a` set is the same in `b`.
bool keeps(const AcceptEncoding& a, const AcceptEncoding& b) {
  return (a.gzip < 0 || a.gzip == b.gzip) && (a.br < 0 || a.br == b.br) &&
         (a.identity < 0 || a.identity == b.identity) && (a.star < 0 || a.star == b.star);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const AcceptEncoding a = parse_accept_encoding(in);
  FUZZ_CHECK(in_range(a.gzip) && in_range(a.br) && in_range(a.identity) && in_range(a.star));

  const Coding on = choose_encoding(in, true);
  const Coding off = choose_encoding(in, false);
  FUZZ_CHECK(off != Coding::kBrotli);
  FUZZ_CHECK(on == choose_encoding(a, true));
  FUZZ_CHECK(off == choose_encoding(a, false));
  if (on == Coding::kGzip) FUZZ_CHECK(off == Coding::kGzip);

  const std::string twice = std::string(in) + "," + std::string(in);
  FUZZ_CHECK(same(parse_accept_encoding(twice), a));
  const size_t half = size / 2;
  const std::string joined = std::string(in.substr(0, half)) + "," + std::string(in.substr(half));
  FUZZ_CHECK(keeps(parse_accept_encoding(in.substr(0, half)), parse_accept_encoding(joined)));

  std::string upper(in);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  FUZZ_CHECK(same(parse_accept_encoding(upper), a));
  return 0;
}
