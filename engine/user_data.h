// engine/user_data.h: what a completion's 64-bit user_data means.
//
// user_data packs (op kind, generation, slot index) of the object the
// operation belongs to. A completion whose generation no longer matches its
// slot belongs to a connection that was closed and reused: it is dropped.
// Packing needs no allocation per operation.
#pragma once

#include <cstdint>

namespace ringshard::engine {

enum class Op : uint8_t {
  kNone = 0,
  kAccept,     // slot = listener index
  kRecv,       // slot = connection
  kSend,       // slot = connection
  kCancel,     // completion of a cancel request; ignored
  kWake,       // MSG_RING from another shard
  kEventRead,  // read on the shard's eventfd (external wake-up)
  kConnect,    // slot = connection (outbound)
};

struct UserData {
  Op op;
  uint32_t generation;  // 24 bits used
  uint32_t slot;

  static constexpr uint32_t kGenerationMask = 0xFFFFFF;

  uint64_t pack() const {
    return (uint64_t{static_cast<uint8_t>(op)} << 56) |
           (uint64_t{generation & kGenerationMask} << 32) | slot;
  }
  static UserData unpack(uint64_t v) {
    return UserData{static_cast<Op>(v >> 56),
                    static_cast<uint32_t>((v >> 32) & kGenerationMask),
                    static_cast<uint32_t>(v)};
  }
};

}  // namespace ringshard::engine
