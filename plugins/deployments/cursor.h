// plugins/deployments/cursor.h: the list cursor ("next_cursor" of
// GET /v1/deployments), opaque to clients.
//
//   std::string c = encode_cursor(last.position);   // "AQAAAAAAAAAq..."
//   std::optional<int64_t> p = decode_cursor(c);     // last.position
//
// Format (version 1): base64url without padding (RFC 4648 section 5) of 11
// bytes: 0x01, the position as 8 bytes big-endian, then a 16-bit check
// (FNV-1a over a fixed salt and the first 9 bytes). 15 characters.
// decode_cursor refuses (nullopt) anything else: a wrong length or
// alphabet, non-zero padding bits (so each cursor has one spelling),
// another version, a check that does not match, a negative position. The
// check catches edits and cursors from elsewhere; it is not a secret (a
// forged cursor names a list position, which the client may ask for
// anyway).
//
// Pure; any thread; encode allocates the result, decode nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringshard::deployments {

inline constexpr size_t kCursorLength = 15;

// `position` must be >= 0 (a negative one is encoded as 0).
std::string encode_cursor(int64_t position);
std::optional<int64_t> decode_cursor(std::string_view cursor);

}  // namespace ringshard::deployments
