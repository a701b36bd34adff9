// libFuzzer target for ws/utf8.h, against a reference validator written
// from the definition rather than as a state machine: for each character
// it decodes the bytes seen so far and asks whether any completion could
// still be a code point of that length's range, up to U+10FFFF and not a
// surrogate. That gives the index of the first byte after which the input
// can no longer be valid UTF-8, which is where a fail-fast validator must
// fail. Checked, aborting on a mismatch:
//  - is_valid_utf8 agrees with the reference;
//  - fed one byte at a time, feed() first returns false at exactly that
//    index, and complete() at the end agrees;
//  - fed in two or three pieces cut at points derived from the data, the
//    piece holding that byte is the first to fail, and the result agrees.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "ws/utf8.h"

namespace {

using ringshard::ws::Utf8Validator;

constexpr const char* kFuzzTarget = "utf8 validator";

struct Reference {
  size_t first_bad;  // index of the first byte that cannot be valid; size if none
  bool complete;     // no bad byte and the input ends on a boundary
};

// True if some code point in [lo, hi] may be encoded with a lead byte of
// this length (no overlongs, nothing above U+10FFFF, no surrogates).
bool reachable(uint32_t lo, uint32_t hi, int len) {
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  lo = std::max(lo, kMin[len]);
  hi = std::min<uint32_t>(hi, 0x10FFFF);
  if (lo > hi) return false;
  return !(lo >= 0xD800 && hi <= 0xDFFF);
}

Reference reference(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = p[i];
    int len;
    uint32_t cp;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
    } else {
      return {i, false};  // a continuation byte, or a 5/6-byte lead, or FE/FF
    }
    for (int k = 0; k < len; ++k) {
      if (k > 0) {
        if (i + k == n) return {n, false};  // cut inside a character
        if ((p[i + k] & 0xC0) != 0x80) return {i + k, false};
        cp = cp << 6 | (p[i + k] & 0x3F);
      }
      const int rest_bits = 6 * (len - 1 - k);
      const uint32_t lo = cp << rest_bits;
      const uint32_t hi = lo | ((1u << rest_bits) - 1);
      if (!reachable(lo, hi, len)) return {i + k, false};
    }
    i += static_cast<size_t>(len);
  }
  return {n, true};
}

// Feeds s in pieces ending at cut1 and cut2 (cut1 <= cut2), then the rest.
void check_pieces(std::string_view s, const Reference& ref, size_t cut1, size_t cut2) {
  const size_t ends[3] = {cut1, cut2, s.size()};
  Utf8Validator v;
  size_t begin = 0;
  bool ok = true;
  for (size_t end : ends) {
    const bool fed = v.feed(s.substr(begin, end - begin));
    // Fails exactly from the piece holding the first bad byte on.
    FUZZ_CHECK(fed == (ref.first_bad >= end || ref.first_bad == s.size()));
    ok = ok && fed;
    begin = end;
  }
  FUZZ_CHECK(ok == (ref.first_bad == s.size()));
  FUZZ_CHECK(v.failed() == !ok);
  FUZZ_CHECK(v.complete() == ref.complete);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s(reinterpret_cast<const char*>(data), size);
  const Reference ref = reference(s);

  FUZZ_CHECK(ringshard::ws::is_valid_utf8(s) == ref.complete);

  Utf8Validator slow;
  size_t failed_at = size;
  for (size_t i = 0; i < size; ++i) {
    if (!slow.feed(s.substr(i, 1))) {
      failed_at = i;
      break;
    }
  }
  FUZZ_CHECK(failed_at == ref.first_bad);
  FUZZ_CHECK(slow.complete() == ref.complete);

  uint32_t seed = 2166136261u;
  for (unsigned char c : s.substr(0, 32)) seed = (seed ^ c) * 16777619u;
  const size_t a = size == 0 ? 0 : seed % (size + 1);
  const size_t b = size == 0 ? 0 : (seed >> 11) % (size + 1);
  check_pieces(s, ref, std::min(a, b), std::max(a, b));
  check_pieces(s, ref, size / 2, size / 2);
  return 0;
}
