// ws/frame.cc: frame headers, close payloads and the masking loop.
#include "ws/frame.h"

#include <bit>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ringshard::ws {

bool valid_close_code(uint16_t code) {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1011) return true;
  return code >= 3000 && code <= 4999;
}

size_t encode_header(char* out, Opcode op, uint64_t length, bool fin, bool rsv1,
                     const uint8_t* mask) {
  auto* p = reinterpret_cast<uint8_t*>(out);
  p[0] = static_cast<uint8_t>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) |
                              static_cast<uint8_t>(op));
  const uint8_t mask_bit = mask != nullptr ? 0x80 : 0;
  size_t n;
  if (length < 126) {
    p[1] = static_cast<uint8_t>(mask_bit | length);
    n = 2;
  } else if (length <= 0xFFFF) {
    p[1] = mask_bit | 126;
    p[2] = static_cast<uint8_t>(length >> 8);
    p[3] = static_cast<uint8_t>(length);
    n = 4;
  } else {
    p[1] = mask_bit | 127;
    for (int i = 0; i < 8; ++i) p[2 + i] = static_cast<uint8_t>(length >> (56 - 8 * i));
    n = 10;
  }
  if (mask != nullptr) {
    std::memcpy(p + n, mask, 4);
    n += 4;
  }
  return n;
}

// The work is XOR with a 4-byte key that repeats, so once the key is
// rotated to start at the current offset, any multiple of 4 bytes can be
// done as one wide XOR. A byte loop brings the pointer to a 16-byte
// boundary (aligned stores; loads never split a cache line), the vector
// loop does the bulk, and one 8-byte word plus a byte loop finish the tail.
// Loads and stores of words go through memcpy: no alignment or aliasing
// assumptions about the caller's buffer.
size_t apply_mask(char* data, size_t n, const uint8_t mask[4], size_t offset) {
  static_assert(std::endian::native == std::endian::little, "the key rotation assumes little-endian");
  auto* p = reinterpret_cast<unsigned char*>(data);
  offset &= 3;
  // The key as it applies from byte 0 of `data` on: payload byte j takes
  // mask[(offset + j) & 3], so on a little-endian machine the 32-bit key is
  // rotated right by 8 * offset bits, then repeated to 64 bits.
  uint32_t key32;
  std::memcpy(&key32, mask, 4);
  if (offset != 0) key32 = (key32 >> (8 * offset)) | (key32 << (32 - 8 * offset));
  const uint64_t key64 = (static_cast<uint64_t>(key32) << 32) | key32;
  size_t i = 0;
  // Unaligned loads throughout: on current x86 they cost the same as
  // aligned ones when the data happens to be aligned, and an alignment
  // prologue cost more than it saved on the small messages that dominate
  // (it was ~180 instructions for a 32-byte message; this is ~30).
#if defined(__SSE2__)
  const __m128i key128 = _mm_set1_epi64x(static_cast<long long>(key64));
  for (; i + 64 <= n; i += 64) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 16));
    __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 32));
    __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 48));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + i), _mm_xor_si128(a, key128));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + i + 16), _mm_xor_si128(b, key128));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + i + 32), _mm_xor_si128(c, key128));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + i + 48), _mm_xor_si128(d, key128));
  }
  for (; i + 16 <= n; i += 16) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + i), _mm_xor_si128(a, key128));
  }
#else
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    std::memcpy(w, p + i, 32);
    for (uint64_t& x : w) x ^= key64;
    std::memcpy(p + i, w, 32);
  }
#endif
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    w ^= key64;
    std::memcpy(p + i, &w, 8);
  }
  if (i + 4 <= n) {
    uint32_t w;
    std::memcpy(&w, p + i, 4);
    w ^= key32;
    std::memcpy(p + i, &w, 4);
    i += 4;
  }
  for (; i < n; ++i) p[i] ^= mask[(offset + i) & 3];
  return (offset + n) & 3;
}

size_t encode_close_payload(char* out, uint16_t code, std::string_view reason) {
  out[0] = static_cast<char>(code >> 8);
  out[1] = static_cast<char>(code & 0xFF);
  constexpr size_t kRoom = 125 - 2;
  size_t n = reason.size();
  if (n > kRoom) {
    n = kRoom;
    // reason[n] is the first byte left out; while it is a continuation
    // byte, the character it belongs to started before the cut. A UTF-8
    // character has at most 3 continuation bytes, so stop after 3 even if
    // the reason is not UTF-8.
    for (int k = 0; k < 3 && n > 0 &&
                    (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80;
         ++k) {
      --n;
    }
  }
  if (n != 0) std::memcpy(out + 2, reason.data(), n);  // data() may be null when empty
  return 2 + n;
}

}  // namespace ringshard::ws
