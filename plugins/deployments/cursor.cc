// plugins/deployments/cursor.cc: versioned, checked, base64url cursors.
#include "plugins/deployments/cursor.h"

#include <array>

namespace ringshard::deployments {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kBytes = 11;
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// The salt makes the check specific to this use: a 9-byte value checked
// the same way elsewhere is not a valid cursor here.
constexpr std::string_view kSalt = "ringshard.deployments.cursor";

uint16_t check(const uint8_t* data, size_t n) {
  uint32_t h = 2166136261u;
  for (char c : kSalt) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  for (size_t i = 0; i < n; ++i) h = (h ^ data[i]) * 16777619u;
  return static_cast<uint16_t>(h ^ (h >> 16));
}

int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::string encode_cursor(int64_t position) {
  const uint64_t p = position < 0 ? 0 : static_cast<uint64_t>(position);
  std::array<uint8_t, kBytes> b{};
  b[0] = kVersion;
  for (int i = 0; i < 8; ++i) b[1 + i] = static_cast<uint8_t>(p >> (56 - 8 * i));
  const uint16_t c = check(b.data(), 9);
  b[9] = static_cast<uint8_t>(c >> 8);
  b[10] = static_cast<uint8_t>(c);

  std::string out;
  out.reserve(kCursorLength);
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t byte : b) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      out += kAlphabet[(acc >> (bits - 6)) & 63];
      bits -= 6;
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<int64_t> decode_cursor(std::string_view cursor) {
  if (cursor.size() != kCursorLength) return std::nullopt;
  std::array<uint8_t, kBytes> b{};
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : cursor) {
    const int v = decode_char(ch);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      b[n++] = static_cast<uint8_t>(acc >> (bits - 8));
      bits -= 8;
    }
  }
  // 15 characters carry 90 bits: 88 of data and 2 that must be zero.
  if (n != kBytes || (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  if (b[0] != kVersion) return std::nullopt;
  const uint16_t c = check(b.data(), 9);
  if (b[9] != static_cast<uint8_t>(c >> 8) || b[10] != static_cast<uint8_t>(c)) {
    return std::nullopt;
  }
  uint64_t p = 0;
  for (int i = 0; i < 8; ++i) p = (p << 8) | b[1 + i];
  if (p > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(p);
}

}  // namespace ringshard::deployments
