// tls/base64.h: standard base64 (RFC 4648 section 4, '=' padded), the one
// encoder of the project's library code: public-key pins (tls/pinning.h),
// the WebSocket handshake's Sec-WebSocket-Accept (ws/handshake.cc) and
// proxy credentials (client/proxy_env.cc) all write it.
//
// Pure, header-only, no allocation but the string an overload returns;
// any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringshard::tls {

// The 6-bit value of a base64 alphabet character, or -1.
constexpr int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

constexpr size_t base64_size(size_t n) { return 4 * ((n + 2) / 3); }

// Writes base64_size(n) characters to `out`.
inline void base64_encode(const uint8_t* in, size_t n, char* out) {
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = uint32_t{in[i]} << 16 | uint32_t{in[i + 1]} << 8 | in[i + 2];
    *out++ = kAlphabet[v >> 18];
    *out++ = kAlphabet[(v >> 12) & 63];
    *out++ = kAlphabet[(v >> 6) & 63];
    *out++ = kAlphabet[v & 63];
  }
  if (i < n) {
    const bool two = i + 1 < n;
    const uint32_t v = uint32_t{in[i]} << 16 | (two ? uint32_t{in[i + 1]} << 8 : 0);
    *out++ = kAlphabet[v >> 18];
    *out++ = kAlphabet[(v >> 12) & 63];
    *out++ = two ? kAlphabet[(v >> 6) & 63] : '=';
    *out++ = '=';
  }
}

inline std::string base64_encode(std::string_view bytes) {
  std::string out(base64_size(bytes.size()), '\0');
  base64_encode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), out.data());
  return out;
}

}  // namespace ringshard::tls
