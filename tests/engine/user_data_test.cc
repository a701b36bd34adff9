// Tests for engine/user_data.h: what a completion's user_data packs.
#include "engine/user_data.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace ringshard::engine {
namespace RS_UNITY_ID {

constexpr Op kAllOps[] = {Op::kNone,     Op::kAccept, Op::kRecv,
                          Op::kSend,     Op::kCancel,
                          Op::kWake,     Op::kEventRead, Op::kConnect};

TEST(UserData, RoundTripsEveryOp) {
  for (Op op : kAllOps) {
    const UserData in{op, 0x123456, 0xDEADBEEF};
    const UserData out = UserData::unpack(in.pack());
    EXPECT_EQ(out.op, op);
    EXPECT_EQ(out.generation, 0x123456u);
    EXPECT_EQ(out.slot, 0xDEADBEEFu);
  }
}

TEST(UserData, RoundTripsExtremeFields) {
  for (uint32_t generation : {0u, 1u, 0x7FFFFFu, 0xFFFFFEu, 0xFFFFFFu}) {
    for (uint32_t slot : {0u, 1u, 65'535u, 0x80000000u, 0xFFFFFFFFu}) {
      const UserData out = UserData::unpack(UserData{Op::kConnect, generation, slot}.pack());
      ASSERT_EQ(out.op, Op::kConnect);
      ASSERT_EQ(out.generation, generation);
      ASSERT_EQ(out.slot, slot);
    }
  }
}

TEST(UserData, FieldsDoNotBleedIntoEachOther) {
  // All-ones in one field leaves the others zero.
  auto pack = [](Op op, uint32_t generation, uint32_t slot) {
    return UserData{op, generation, slot}.pack();
  };
  EXPECT_EQ(pack(Op::kNone, 0, 0xFFFFFFFFu), 0x00000000FFFFFFFFull);
  EXPECT_EQ(pack(Op::kNone, 0xFFFFFFu, 0), 0x00FFFFFF00000000ull);
  EXPECT_EQ(pack(static_cast<Op>(0xFF), 0, 0), 0xFF00000000000000ull);
  EXPECT_EQ(pack(Op::kNone, 0, 0), 0u);
}

TEST(UserData, GenerationWrapsAt24Bits) {
  // Only the low 24 bits of the generation travel; bits above are dropped
  // rather than corrupting the op.
  const UserData out = UserData::unpack(UserData{Op::kRecv, 0x01000005u, 9}.pack());
  EXPECT_EQ(out.op, Op::kRecv);
  EXPECT_EQ(out.generation, 5u);
  EXPECT_EQ(out.slot, 9u);
  const UserData all_ones = UserData::unpack(UserData{Op::kSend, 0xFFFFFFFFu, 1}.pack());
  EXPECT_EQ(all_ones.op, Op::kSend);
  EXPECT_EQ(all_ones.generation, UserData::kGenerationMask);
}

TEST(UserData, GenerationIncrementWrapsToZeroAndStaysDistinct) {
  // A slot's generation counts up modulo 2^24 (as the connection slab does);
  // successive generations always pack to different values.
  uint32_t generation = UserData::kGenerationMask - 2;
  uint64_t previous = UserData{Op::kRecv, generation, 42}.pack();
  for (int i = 0; i < 5; ++i) {
    generation = (generation + 1) & UserData::kGenerationMask;
    const uint64_t packed = UserData{Op::kRecv, generation, 42}.pack();
    EXPECT_NE(packed, previous);
    const UserData out = UserData::unpack(packed);
    EXPECT_EQ(out.generation, generation);
    EXPECT_EQ(out.slot, 42u);
    EXPECT_EQ(out.op, Op::kRecv);
    previous = packed;
  }
  EXPECT_EQ(generation, 2u);
}

TEST(UserData, OpsOfTheSameConnectionDiffer) {
  // A cancel addressed to the receive of (slot, generation) must not match
  // the send of the same connection.
  const uint64_t recv = UserData{Op::kRecv, 7, 3}.pack();
  const uint64_t send = UserData{Op::kSend, 7, 3}.pack();
  const uint64_t cancel = UserData{Op::kCancel, 7, 3}.pack();
  EXPECT_NE(recv, send);
  EXPECT_NE(recv, cancel);
  EXPECT_NE(send, cancel);
}

}  // namespace
}  // namespace ringshard::engine
