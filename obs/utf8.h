// obs/utf8.h: the length of one well-formed UTF-8 sequence (RFC 3629), for
// the escapers of the JSON logs and the Prometheus writer, which replace
// ill-formed bytes with U+FFFD so that their output is always valid UTF-8.
//
//   size_t n = utf8_sequence_len(p, end - p);  // 1..4, or 0 if ill-formed
//
// Rejects overlong forms, surrogates (U+D800..U+DFFF), code points above
// U+10FFFF and truncated sequences. Pure, no allocation, any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringshard::obs {

inline constexpr char kUtf8Replacement[] = "\xEF\xBF\xBD";  // U+FFFD

inline size_t utf8_sequence_len(const unsigned char* p, size_t avail) {
  const unsigned char b0 = p[0];
  if (b0 < 0x80) return 1;
  auto cont = [&](size_t i, unsigned char lo, unsigned char hi) {
    return i < avail && p[i] >= lo && p[i] <= hi;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1, 0x80, 0xBF) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;
    return cont(1, lo, hi) && cont(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return cont(1, lo, hi) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

}  // namespace ringshard::obs
