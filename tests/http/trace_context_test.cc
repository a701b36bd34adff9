// Tests for http/trace_context.h: the traceparent grammar (version 00 and
// the rules for higher versions), formatting, and the propagate-or-restart
// decision.
#include "http/trace_context.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace ringshard::http {
namespace RS_UNITY_ID {

constexpr std::string_view kValid =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

std::string fmt(const TraceParent& tp) {
  char buf[kTraceParentLength];
  return std::string(format_traceparent(tp, buf));
}

TEST(ParseTraceparent, ValidVersion00) {
  auto tp = parse_traceparent(kValid);
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->version, 0);
  EXPECT_EQ(tp->trace_id[0], 0x4b);
  EXPECT_EQ(tp->trace_id[15], 0x36);
  EXPECT_EQ(tp->parent_id[0], 0x00);
  EXPECT_EQ(tp->parent_id[7], 0xb7);
  EXPECT_EQ(tp->flags, 0x01);
  EXPECT_EQ(fmt(*tp), kValid);
}

TEST(ParseTraceparent, AnyFlagsParse) {
  for (std::string_view f : {"00", "01", "02", "03", "ff", "09"}) {
    std::string v(kValid);
    v.replace(53, 2, f);
    auto tp = parse_traceparent(v);
    ASSERT_TRUE(tp) << v;
    EXPECT_EQ(fmt(*tp), v);
  }
}

TEST(ParseTraceparent, OwsAroundIsIgnored) {
  EXPECT_TRUE(parse_traceparent(" \t" + std::string(kValid) + "\t "));
}

struct Bad {
  const char* why;
  std::string value;
};

TEST(ParseTraceparent, RefusesInvalid) {
  const std::string v(kValid);
  auto with = [&](size_t pos, std::string_view s) {
    std::string out = v;
    out.replace(pos, s.size(), s);
    return out;
  };
  const Bad cases[] = {
      {"empty", ""},
      {"short by one", v.substr(0, 54)},
      {"version 00 with a suffix", v + "-00"},
      {"version 00 with a trailing byte", v + "x"},
      {"version ff", with(0, "ff")},
      {"uppercase version", with(0, "0A")},
      {"uppercase trace-id", with(3, "4BF92F")},
      {"uppercase parent-id", with(36, "00F067")},
      {"uppercase flags", with(53, "0A")},
      {"zero trace-id", with(3, std::string(32, '0'))},
      {"zero parent-id", with(36, std::string(16, '0'))},
      {"non-hex in trace-id", with(10, "g")},
      {"non-hex in parent-id", with(40, "z")},
      {"non-hex flags", with(53, "0x")},
      {"non-hex version", with(0, "0g")},
      {"underscore separator", with(2, "_")},
      {"missing second dash", with(35, "0")},
      {"missing third dash", with(52, "0")},
      {"trace-id one short", "00-4bf92f3577b34da6a3ce929d0e0e473-000f067aa0ba902b7-01"},
      {"space inside", with(20, " ")},
      {"NUL inside", with(20, std::string(1, '\0'))},
      {"higher version, short", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0"},
      {"higher version, junk after flags", with(0, "cc") + "x-abc"},
      {"higher version, zero trace-id", with(0, "01").replace(3, 32, std::string(32, '0'))},
  };
  for (const Bad& b : cases) {
    EXPECT_FALSE(parse_traceparent(b.value)) << b.why << ": " << b.value;
  }
}

TEST(ParseTraceparent, HigherVersionsParseTheFirstFourFields) {
  std::string v(kValid);
  v.replace(0, 2, "cc");
  auto exact = parse_traceparent(v);
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->version, 0xcc);
  EXPECT_EQ(exact->flags, 0x01);
  auto longer = parse_traceparent(v + "-what-the-future-holds");
  ASSERT_TRUE(longer);
  EXPECT_EQ(*longer, *exact);
  EXPECT_TRUE(parse_traceparent(v + "-"));
  // Formatting speaks version 00 only.
  EXPECT_EQ(fmt(*exact), kValid);
}

TEST(FormatTraceparent, Roundtrips) {
  TraceParent tp;
  for (int i = 0; i < 16; ++i) tp.trace_id[i] = static_cast<uint8_t>(i * 17);
  for (int i = 0; i < 8; ++i) tp.parent_id[i] = static_cast<uint8_t>(0xf0 | i);
  tp.flags = 0x03;
  const std::string s = fmt(tp);
  EXPECT_EQ(s, "00-00112233445566778899aabbccddeeff-f0f1f2f3f4f5f6f7-03");
  auto back = parse_traceparent(s);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, tp);
}

TEST(NewIds, AreNotZeroAndDiffer) {
  RequestIdGenerator gen(3);
  uint8_t a[16];
  uint8_t b[16];
  new_trace_id(gen, a);
  new_trace_id(gen, b);
  EXPECT_NE(std::memcmp(a, b, 16), 0);
  uint8_t s[8];
  new_span_id(gen, s);
  uint8_t zero[8] = {};
  EXPECT_NE(std::memcmp(s, zero, 8), 0);
}

TEST(NextTrace, PropagatesAValidTraceWithANewSpan) {
  RequestIdGenerator gen(5);
  const TraceParent in = *parse_traceparent(kValid);
  TraceDecision d = next_trace(kValid, gen);
  EXPECT_TRUE(d.propagated);
  EXPECT_TRUE(d.keep_tracestate);
  EXPECT_EQ(std::memcmp(d.ours.trace_id, in.trace_id, 16), 0);
  EXPECT_NE(std::memcmp(d.ours.parent_id, in.parent_id, 8), 0);
  EXPECT_EQ(d.ours.flags, 0x01);
  EXPECT_EQ(d.ours.version, 0);
  const std::string out = fmt(d.ours);
  EXPECT_EQ(out.substr(0, 36), std::string(kValid.substr(0, 36)));
  EXPECT_EQ(out.substr(52), "-01");
  EXPECT_TRUE(parse_traceparent(out));
}

TEST(NextTrace, KeepsDefinedFlagsAndClearsReservedOnes) {
  RequestIdGenerator gen(5);
  std::string v(kValid);
  v.replace(53, 2, "ff");
  EXPECT_EQ(next_trace(v, gen).ours.flags, kTraceFlagSampled | kTraceFlagRandom);
  v.replace(53, 2, "00");
  EXPECT_EQ(next_trace(v, gen).ours.flags, 0);
  v.replace(53, 2, "02");
  EXPECT_EQ(next_trace(v, gen).ours.flags, kTraceFlagRandom);
}

TEST(NextTrace, HigherVersionIsPropagatedAsVersion00) {
  RequestIdGenerator gen(5);
  std::string v(kValid);
  v.replace(0, 2, "42");
  TraceDecision d = next_trace(v + "-extra", gen);
  EXPECT_TRUE(d.propagated);
  EXPECT_EQ(d.ours.version, 0);
  EXPECT_EQ(fmt(d.ours).substr(0, 36), std::string(kValid.substr(0, 36)));
}

TEST(NextTrace, MissingOrInvalidStartsANewTrace) {
  RequestIdGenerator gen(9);
  const TraceParent in = *parse_traceparent(kValid);
  std::string upper(kValid);
  upper[5] = 'F';
  for (std::string_view incoming : {std::string_view(""), std::string_view("garbage"),
                                    std::string_view(upper)}) {
    TraceDecision d = next_trace(incoming, gen);
    EXPECT_FALSE(d.propagated) << incoming;
    EXPECT_FALSE(d.keep_tracestate) << incoming;
    EXPECT_NE(std::memcmp(d.ours.trace_id, in.trace_id, 16), 0);
    EXPECT_EQ(d.ours.flags, 0);
    EXPECT_TRUE(parse_traceparent(fmt(d.ours))) << fmt(d.ours);
  }
}

TEST(NextTrace, NewTracesDiffer) {
  RequestIdGenerator gen(11);
  EXPECT_NE(fmt(next_trace("", gen).ours), fmt(next_trace("", gen).ours));
}

}  // namespace
}  // namespace ringshard::http
