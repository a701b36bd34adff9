// ws/frame.h: RFC 6455 frame vocabulary: opcodes, close codes, the frame
// header encoder and the masking loop.
//
//   char head[kMaxHeaderBytes];
//   size_t n = encode_header(head, Opcode::kText, payload.size(), /*fin=*/true,
//                            /*rsv1=*/false, /*mask=*/nullptr);  // server frame
//
// Pure functions: no allocation, no I/O, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringshard::ws {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

inline bool is_control(Opcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }

// Close status codes (RFC 6455 7.4.1) used by ringshard.
namespace close_code {
inline constexpr uint16_t kNormal = 1000;
inline constexpr uint16_t kGoingAway = 1001;
inline constexpr uint16_t kProtocolError = 1002;
inline constexpr uint16_t kUnsupportedData = 1003;
inline constexpr uint16_t kNoStatus = 1005;        // never sent on the wire
inline constexpr uint16_t kAbnormal = 1006;        // never sent on the wire
inline constexpr uint16_t kInvalidPayload = 1007;
inline constexpr uint16_t kPolicyViolation = 1008;
inline constexpr uint16_t kMessageTooBig = 1009;
inline constexpr uint16_t kMandatoryExtension = 1010;
inline constexpr uint16_t kInternalError = 1011;
}  // namespace close_code

// True for a code a peer may send in a close frame: 1000-1003, 1007-1011,
// and 3000-4999 (registered / private). 1004-1006, 1015, 1012-2999 and
// anything outside 1000-4999 are protocol errors.
bool valid_close_code(uint16_t code);

// The largest frame header: 2 + 8 (64-bit length) + 4 (mask key).
inline constexpr size_t kMaxHeaderBytes = 14;

// Writes a frame header for a payload of `length` bytes into `out` (room for
// kMaxHeaderBytes) and returns its size. Uses the shortest length encoding.
// `mask` null: an unmasked (server) frame; otherwise the 4 key bytes follow
// the length and the caller masks the payload with apply_mask.
size_t encode_header(char* out, Opcode op, uint64_t length, bool fin, bool rsv1,
                     const uint8_t* mask);

// The header size encode_header would write.
inline size_t header_size(uint64_t length, bool masked) {
  const size_t base = length < 126 ? 2 : length <= 0xFFFF ? 4 : 10;
  return base + (masked ? 4 : 0);
}

// XORs `n` bytes at `data` with the 4-byte `mask`, as if the data started at
// byte `offset` of the payload (so a payload can be unmasked in pieces).
// Works a machine word (or a vector) at a time; returns (offset + n) % 4,
// the offset for the next piece.
size_t apply_mask(char* data, size_t n, const uint8_t mask[4], size_t offset);

// A close frame's payload: a 2-byte code then a UTF-8 reason, at most 125
// bytes in all (the reason is cut at a character boundary if needed).
// Writes into `out` (room for 125) and returns the size.
size_t encode_close_payload(char* out, uint16_t code, std::string_view reason);

}  // namespace ringshard::ws
