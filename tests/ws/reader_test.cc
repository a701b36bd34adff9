// Tests for ws/reader.h: a table of frame streams with the events each must
// produce. Every stream is fed whole, in two pieces split at every point,
// one byte at a time, and with a sink that stops after every event (the
// caller feeding the rest again); all must give the same events and error.
// Message data is compared concatenated, since how a payload is cut into
// pieces depends on how the stream arrives.
#include "ws/reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace ringshard::ws {
namespace RS_UNITY_ID {

using namespace std::string_literals;

constexpr uint8_t kFin = 0x80;
constexpr uint8_t kRsv1 = 0x40;
constexpr uint8_t kRsv2 = 0x20;
constexpr uint8_t kRsv3 = 0x10;
constexpr uint8_t kCont = 0x0;
constexpr uint8_t kText = 0x1;
constexpr uint8_t kBin = 0x2;
constexpr uint8_t kClose = 0x8;
constexpr uint8_t kPing = 0x9;
constexpr uint8_t kPong = 0xA;

// A frame spelled out byte by byte, independently of encode_header:
// first byte as given, shortest length form, and when `masked` a key that
// differs per frame (derived from the payload) with the payload masked.
std::string frame(uint8_t b0, std::string_view payload, bool masked) {
  std::string f(1, static_cast<char>(b0));
  const uint8_t m = masked ? 0x80 : 0;
  const uint64_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(m | n);
  } else if (n < 65536) {
    f += static_cast<char>(m | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xFF);
  } else {
    f += static_cast<char>(m | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>(n >> (8 * i));
  }
  std::string body(payload);
  if (masked) {
    const uint8_t key[4] = {static_cast<uint8_t>(0xA5 ^ n), 0x3C,
                            static_cast<uint8_t>(n >> 8 | 1), 0xE7};
    f.append(reinterpret_cast<const char*>(key), 4);
    for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(body[i] ^ key[i % 4]);
  }
  return f + body;
}

// A client's frame (masked) and a server's frame (unmasked).
std::string cf(uint8_t b0, std::string_view payload) { return frame(b0, payload, true); }
std::string sf(uint8_t b0, std::string_view payload) { return frame(b0, payload, false); }

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

// Records events as text. Consecutive data pieces are joined into one
// "data:" event; every piece must be non-empty and lie inside the span
// being fed (payloads are unmasked in place, never copied).
struct Recorder : FrameReader::Sink {
  std::vector<std::string> events;
  size_t calls = 0;           // sink calls so far
  bool stop_each = false;     // return false from every call
  size_t stop_at = SIZE_MAX;  // return false from call number stop_at (0-based)
  std::span<char> window;

  bool next() { return calls++ != stop_at && !stop_each; }
  bool on_message_begin(Opcode op, bool compressed) override {
    events.push_back(std::string(op == Opcode::kText ? "begin text" : "begin binary") +
                     (compressed ? " rsv1" : ""));
    return next();
  }
  bool on_message_data(std::span<char> d) override {
    EXPECT_FALSE(d.empty());
    EXPECT_GE(d.data(), window.data());
    EXPECT_LE(d.data() + d.size(), window.data() + window.size());
    const std::string s(d.data(), d.size());
    if (!events.empty() && events.back().starts_with("data:")) {
      events.back() += s;
    } else {
      events.push_back("data:" + s);
    }
    return next();
  }
  bool on_message_end() override {
    events.push_back("end");
    return next();
  }
  bool on_control(Opcode op, std::span<char> p) override {
    EXPECT_LE(p.size(), 125u);
    const char* name = op == Opcode::kPing ? "ping:" : op == Opcode::kPong ? "pong:" : "close:";
    events.push_back(name + std::string(p.data(), p.size()));
    return next();
  }
};

struct Case {
  std::string name;
  std::string bytes;
  std::vector<std::string> events;  // an error appears last as "error <code>"
  ReaderLimits limits = {};
};

ReaderLimits client_role() {
  ReaderLimits l;
  l.expect_masked = false;
  return l;
}
ReaderLimits compressed() {
  ReaderLimits l;
  l.allow_compressed = true;
  return l;
}
ReaderLimits small(uint64_t frame, uint64_t message) {
  ReaderLimits l;
  l.max_frame_bytes = frame;
  l.max_message_bytes = message;
  return l;
}

using Events = std::vector<std::string>;

std::vector<Case> cases() {
  std::vector<Case> v = {
      // Whole messages.
      {"masked text", cf(kFin | kText, "Hello"), {"begin text", "data:Hello", "end"}},
      {"masked binary", cf(kFin | kBin, "\0\1\2"s), {"begin binary", "data:\0\1\2"s, "end"}},
      {"empty text has no data", cf(kFin | kText, ""), {"begin text", "end"}},
      {"empty binary has no data", cf(kFin | kBin, ""), {"begin binary", "end"}},
      {"unmasked frame in the client role", sf(kFin | kText, "hi"),
       {"begin text", "data:hi", "end"}, client_role()},
      {"7-bit length 125", cf(kFin | kBin, pattern(125)),
       {"begin binary", "data:" + pattern(125), "end"}},
      {"16-bit length 126", cf(kFin | kBin, pattern(126)),
       {"begin binary", "data:" + pattern(126), "end"}},
      {"16-bit length 65535", cf(kFin | kText, pattern(65535)),
       {"begin text", "data:" + pattern(65535), "end"}},
      {"64-bit length 65536", cf(kFin | kText, pattern(65536)),
       {"begin text", "data:" + pattern(65536), "end"}},
      {"64-bit length, client role", sf(kFin | kBin, pattern(70000)),
       {"begin binary", "data:" + pattern(70000), "end"}, client_role()},
      {"non-minimal 16-bit length is accepted",
       "\x81\xfe\x00\x03\x00\x00\x00\x00" "abc"s, {"begin text", "data:abc", "end"}},
      {"two messages", cf(kFin | kText, "one") + cf(kFin | kBin, "two"),
       {"begin text", "data:one", "end", "begin binary", "data:two", "end"}},

      // Fragmentation and control frames.
      {"fragmented text", cf(kText, "Hel") + cf(kCont, "lo ") + cf(kFin | kCont, "world"),
       {"begin text", "data:Hello world", "end"}},
      {"fragments with interleaved ping and pong",
       cf(kText, "Hel") + cf(kFin | kPing, "p1") + cf(kCont, "lo ") +
           cf(kFin | kPong, "") + cf(kFin | kCont, "world"),
       {"begin text", "data:Hel", "ping:p1", "data:lo ", "pong:", "data:world", "end"}},
      {"empty fragments", cf(kBin, "") + cf(kCont, "") + cf(kFin | kCont, ""),
       {"begin binary", "end"}},
      {"empty first fragment", cf(kBin, "") + cf(kFin | kCont, "xy"),
       {"begin binary", "data:xy", "end"}},
      {"ping then message", cf(kFin | kPing, "are you there") + cf(kFin | kText, "x"),
       {"ping:are you there", "begin text", "data:x", "end"}},
      {"empty ping", cf(kFin | kPing, ""), {"ping:"}},
      {"ping of 125 bytes", cf(kFin | kPing, pattern(125)), {"ping:" + pattern(125)}},
      {"close frame", cf(kFin | kClose, "\x03\xe8" "bye"), {"close:\x03\xe8" "bye"}},
      {"control frames in the client role",
       sf(kFin | kPong, "pp") + sf(kFin | kClose, ""), {"pong:pp", "close:"}, client_role()},
      {"compressed message", cf(kFin | kRsv1 | kText, "zz"),
       {"begin text rsv1", "data:zz", "end"}, compressed()},
      {"compressed fragmented message",
       cf(kRsv1 | kBin, "a") + cf(kFin | kPing, "") + cf(kFin | kCont, "b"),
       {"begin binary rsv1", "data:a", "ping:", "data:b", "end"}, compressed()},

      // Limits reached exactly.
      {"frame of exactly max_frame_bytes", cf(kFin | kBin, "0123456789"),
       {"begin binary", "data:0123456789", "end"}, small(10, 100)},
      {"message of exactly max_message_bytes across fragments",
       cf(kBin, "01234") + cf(kFin | kPing, "") + cf(kFin | kCont, "56789"),
       {"begin binary", "data:01234", "ping:", "data:56789", "end"}, small(100, 10)},
      {"limit counts each message anew",
       cf(kFin | kBin, "0123456789") + cf(kFin | kBin, "0123456789"),
       {"begin binary", "data:0123456789", "end", "begin binary", "data:0123456789", "end"},
       small(100, 10)},
      {"control frames do not count toward the message",
       cf(kBin, "01234") + cf(kFin | kPing, "pingpingping") + cf(kFin | kCont, "56789"),
       {"begin binary", "data:01234", "ping:pingpingping", "data:56789", "end"},
       small(100, 10)},

      // Streams that stop mid-message (the outcome also records the state).
      {"stream ends inside a payload", cf(kFin | kText, "Hello").substr(0, 8),
       {"begin text", "data:He"}},
      {"stream ends inside a header", cf(kFin | kText, pattern(300)).substr(0, 3), {}},
      {"stream ends between fragments", cf(kText, "ab"), {"begin text", "data:ab"}},
      {"stream ends inside a control payload", cf(kFin | kPing, "abcdef").substr(0, 9), {}},

      // Protocol errors (1002).
      {"RSV2 set", cf(kFin | kRsv2 | kText, "x"), {"error 1002"}},
      {"RSV3 set", cf(kFin | kRsv3 | kText, "x"), {"error 1002"}},
      {"RSV2 set even with compression", cf(kFin | kRsv2 | kText, "x"), {"error 1002"},
       compressed()},
      {"RSV1 without compression", cf(kFin | kRsv1 | kText, "x"), {"error 1002"}},
      {"RSV1 on a continuation frame",
       cf(kRsv1 | kText, "a") + cf(kFin | kRsv1 | kCont, "b"),
       {"begin text rsv1", "data:a", "error 1002"}, compressed()},
      {"RSV1 on a control frame", cf(kFin | kRsv1 | kPing, ""), {"error 1002"},
       compressed()},
      {"control frame of 126 bytes", cf(kFin | kPing, pattern(126)), {"error 1002"}},
      {"close frame with a 64-bit length", "\x88\xff"s + std::string(7, '\0') + "\x05" "keyyhello",
       {"error 1002"}},
      {"fragmented ping", cf(kPing, "x"), {"error 1002"}},
      {"fragmented close mid-message", cf(kText, "a") + cf(kClose, ""),
       {"begin text", "data:a", "error 1002"}},
      {"continuation with no message", cf(kFin | kCont, "x"), {"error 1002"}},
      {"continuation after the message ended",
       cf(kFin | kText, "a") + cf(kFin | kCont, "b"),
       {"begin text", "data:a", "end", "error 1002"}},
      {"new text frame mid-message", cf(kText, "a") + cf(kFin | kText, "b"),
       {"begin text", "data:a", "error 1002"}},
      {"new binary frame after a ping mid-message",
       cf(kText, "a") + cf(kFin | kPing, "") + cf(kBin, "b"),
       {"begin text", "data:a", "ping:", "error 1002"}},
      {"unmasked client frame", sf(kFin | kText, "x"), {"error 1002"}},
      {"unmasked client ping", sf(kFin | kPing, ""), {"error 1002"}},
      {"masked server frame", cf(kFin | kText, "x"), {"error 1002"}, client_role()},
      {"64-bit length with the top bit set",
       "\x82\xff\x80"s + std::string(7, '\0') + "mask", {"error 1002"}},
      {"64-bit length all ones", "\x82\xff"s + std::string(8, '\xff') + "mask",
       {"error 1002"}},
      {"error after a whole message", cf(kFin | kText, "ok") + cf(kFin | 0x3, ""),
       {"begin text", "data:ok", "end", "error 1002"}},
      {"bytes after an error are ignored", cf(kFin | 0xF, "") + cf(kFin | kText, "x"),
       {"error 1002"}},

      // Too big (1009), before any of the frame is delivered.
      {"frame over max_frame_bytes", cf(kFin | kBin, "0123456789A"), {"error 1009"},
       small(10, 100)},
      {"control frame over max_frame_bytes", cf(kFin | kPing, "0123456789A"),
       {"error 1009"}, small(10, 100)},
      {"huge 64-bit length", "\x82\xff\x00\x00\x01"s + std::string(5, '\0') + "mask",
       {"error 1009"}},
      {"first frame over max_message_bytes", cf(kFin | kBin, "0123456789A"),
       {"error 1009"}, small(100, 10)},
      {"message over max_message_bytes across fragments",
       cf(kBin, "012345") + cf(kCont, "6789") + cf(kFin | kPing, "p") + cf(kFin | kCont, "A"),
       {"begin binary", "data:0123456789", "ping:p", "error 1009"}, small(100, 10)},
      {"message limit in the client role",
       sf(kText, "0123456789") + sf(kFin | kCont, "x"),
       {"begin text", "data:0123456789", "error 1009"},
       [] {
         ReaderLimits l = small(100, 10);
         l.expect_masked = false;
         return l;
       }()},
  };
  for (uint8_t op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    v.push_back({"reserved opcode " + std::to_string(op), cf(kFin | op, "x"), {"error 1002"}});
    v.push_back({"reserved opcode " + std::to_string(op) + " mid-message",
                 cf(kText, "a") + cf(kFin | op, "x"),
                 {"begin text", "data:a", "error 1002"}});
  }
  return v;
}

struct Outcome {
  Events events;
  size_t consumed = 0;
  std::string reason;
  bool in_message = false;
  bool mid_frame = false;
  bool operator==(const Outcome&) const = default;
  friend void PrintTo(const Outcome& o, std::ostream* os) {
    *os << "{";
    for (const auto& e : o.events) *os << "[" << e.substr(0, 40) << "] ";
    *os << "consumed " << o.consumed << " reason '" << o.reason << "' in_message "
        << o.in_message << " mid_frame " << o.mid_frame << "}";
  }
};

// Presents bytes[begin..cut) for each cut in turn (the reader keeps what it
// needs of split headers; the caller keeps only what feed() did not use),
// then the rest. With a stopping sink, feeds again after every stop.
Outcome run(const Case& c, const std::vector<size_t>& cuts, bool stop_each) {
  std::string buf = c.bytes;  // unmasked in place
  FrameReader reader(c.limits);
  Recorder sink;
  sink.stop_each = stop_each;
  size_t begin = 0;
  auto present = [&](size_t end) {
    for (;;) {
      const std::span<char> in(buf.data() + begin, end - begin);
      sink.window = in;
      const size_t calls_before = sink.calls;
      const size_t used = reader.feed(in, sink);
      EXPECT_LE(used, in.size());
      begin += used;
      if (reader.failed()) return false;
      if (!stop_each) {
        EXPECT_EQ(used, in.size());
        return true;
      }
      EXPECT_LE(sink.calls, calls_before + 1);  // stops after one event
      if (sink.calls == calls_before) {
        EXPECT_EQ(used, in.size());  // nothing stopped it: all used
        return true;
      }
    }
  };
  bool ok = true;
  for (size_t cut : cuts) {
    if (cut < begin) continue;
    if (!(ok = present(cut))) break;
  }
  if (ok) present(buf.size());

  Outcome o;
  o.events = sink.events;
  o.consumed = begin;
  if (reader.failed()) {
    EXPECT_FALSE(reader.error().reason.empty());
    o.events.push_back("error " + std::to_string(reader.error().close_code));
    o.reason = std::string(reader.error().reason);
    // A failed reader takes nothing more.
    const size_t n = sink.events.size();
    EXPECT_EQ(reader.feed(std::span<char>(buf.data() + begin, buf.size() - begin), sink), 0u);
    EXPECT_EQ(sink.events.size(), n);
    o.consumed = 0;  // where an error stops depends on the cuts
  } else {
    o.in_message = reader.in_message();
    o.mid_frame = reader.mid_frame();
  }
  return o;
}

std::vector<size_t> split_points(size_t n) {
  std::vector<size_t> v;
  for (size_t k = 0; k <= n; ++k) {
    // Long payloads: every point near the ends and the header, a sample between.
    if (n <= 2048 || k < 40 || k + 40 > n || k % 509 == 0) v.push_back(k);
  }
  return v;
}

class ReaderTable : public ::testing::Test {
 protected:
  static void for_each_case(void (*check)(const Case&, const Outcome&)) {
    for (const Case& c : cases()) {
      SCOPED_TRACE("case: " + c.name);
      const Outcome whole = run(c, {}, false);
      check(c, whole);
    }
  }
};

TEST_F(ReaderTable, WholeStreamGivesTheExpectedEvents) {
  for_each_case([](const Case& c, const Outcome& whole) {
    EXPECT_EQ(whole.events, c.events);
    if (c.events.empty() || !c.events.back().starts_with("error")) {
      EXPECT_EQ(whole.consumed, c.bytes.size());
    }
  });
}

TEST_F(ReaderTable, TwoPiecesAtEverySplitPointAgree) {
  for_each_case([](const Case& c, const Outcome& whole) {
    for (size_t cut : split_points(c.bytes.size())) {
      ASSERT_EQ(run(c, {cut}, false), whole) << "split at " << cut;
    }
  });
}

TEST_F(ReaderTable, OneByteAtATimeAgrees) {
  for_each_case([](const Case& c, const Outcome& whole) {
    std::vector<size_t> cuts(c.bytes.size() + 1);
    for (size_t k = 0; k < cuts.size(); ++k) cuts[k] = k;
    EXPECT_EQ(run(c, cuts, false), whole);
  });
}

TEST_F(ReaderTable, SinkStoppingAfterEveryEventAgrees) {
  for_each_case([](const Case& c, const Outcome& whole) {
    EXPECT_EQ(run(c, {}, true), whole) << "whole";
    for (size_t cut : split_points(c.bytes.size())) {
      ASSERT_EQ(run(c, {cut}, true), whole) << "split at " << cut;
    }
  });
}

TEST_F(ReaderTable, SinkStoppingOneByteAtATimeAgrees) {
  for_each_case([](const Case& c, const Outcome& whole) {
    std::vector<size_t> cuts(c.bytes.size() + 1);
    for (size_t k = 0; k < cuts.size(); ++k) cuts[k] = k;
    EXPECT_EQ(run(c, cuts, true), whole);
  });
}

TEST_F(ReaderTable, ErrorsComeWithAReason) {
  for_each_case([](const Case& c, const Outcome& whole) {
    const bool want_error = !c.events.empty() && c.events.back().starts_with("error");
    EXPECT_EQ(!whole.reason.empty(), want_error);
  });
}

// Single behaviours of the feed() contract.

// Feeds `in` with the recorder's window set to it.
size_t feed(FrameReader& reader, std::span<char> in, Recorder& sink) {
  sink.window = in;
  return reader.feed(in, sink);
}
size_t feed(FrameReader& reader, std::string& s, Recorder& sink) {
  return feed(reader, std::span<char>(s.data(), s.size()), sink);
}

TEST(FrameReader, StopAtBeginCountsTheHeader) {
  std::string wire = cf(kFin | kText, "Hello") + cf(kFin | kPing, "p");
  FrameReader reader;
  Recorder sink;
  sink.stop_at = 0;
  EXPECT_EQ(feed(reader, wire, sink), 6u);  // 2-byte header + key
  EXPECT_EQ(sink.events, (Events{"begin text"}));
  EXPECT_TRUE(reader.mid_frame());
  const size_t rest = feed(reader, std::span<char>(wire).subspan(6), sink);
  EXPECT_EQ(rest, wire.size() - 6);
  EXPECT_EQ(sink.events, (Events{"begin text", "data:Hello", "end", "ping:p"}));
}

TEST(FrameReader, StopAtLastDataLeavesTheEndPendingForAnEmptyFeed) {
  std::string wire = cf(kFin | kText, "Hello");
  FrameReader reader;
  Recorder sink;
  sink.stop_at = 1;
  EXPECT_EQ(feed(reader, wire, sink), wire.size());
  EXPECT_EQ(sink.events, (Events{"begin text", "data:Hello"}));
  EXPECT_TRUE(reader.mid_frame());
  EXPECT_TRUE(reader.in_message());
  EXPECT_EQ(feed(reader, std::span<char>(), sink), 0u);
  EXPECT_EQ(sink.events, (Events{"begin text", "data:Hello", "end"}));
  EXPECT_FALSE(reader.mid_frame());
  EXPECT_FALSE(reader.in_message());
}

TEST(FrameReader, StopAtControlCountsTheWholeFrameAndLeavesTheRestMasked) {
  const std::string original = cf(kFin | kPing, "abc") + cf(kFin | kText, "Hello");
  std::string wire = original;
  FrameReader reader;
  Recorder sink;
  sink.stop_at = 0;
  EXPECT_EQ(feed(reader, wire, sink), 9u);
  EXPECT_EQ(sink.events, (Events{"ping:abc"}));
  EXPECT_FALSE(reader.mid_frame());
  // Nothing after the used bytes was touched.
  EXPECT_EQ(wire.substr(9), original.substr(9));
}

TEST(FrameReader, StopAtEndLeavesTheNextFrame) {
  std::string wire = cf(kFin | kText, "a") + cf(kFin | kText, "b");
  FrameReader reader;
  Recorder sink;
  sink.stop_at = 2;
  EXPECT_EQ(feed(reader, wire, sink), 7u);
  EXPECT_EQ(sink.events, (Events{"begin text", "data:a", "end"}));
  EXPECT_FALSE(reader.in_message());
  EXPECT_FALSE(reader.mid_frame());
}

TEST(FrameReader, PayloadIsUnmaskedInPlace) {
  std::string wire = cf(kFin | kBin, "in place");
  FrameReader reader;
  Recorder sink;
  feed(reader, wire, sink);
  EXPECT_EQ(wire.substr(6), "in place");
}

TEST(FrameReader, ErrorReturnsTheBytesBeforeTheBadFrame) {
  std::string wire = cf(kFin | kText, "ok") + cf(kFin | kRsv2 | kText, "x");
  FrameReader reader;
  Recorder sink;
  EXPECT_EQ(feed(reader, wire, sink), 8u);
  EXPECT_TRUE(reader.failed());
  EXPECT_EQ(reader.error().close_code, close_code::kProtocolError);
}

TEST(FrameReader, BadFirstByteFailsWithoutTheRestOfTheHeader) {
  std::string wire = "\x83"s;
  FrameReader reader;
  Recorder sink;
  feed(reader, wire, sink);
  EXPECT_TRUE(reader.failed());
}

TEST(FrameReader, ResetAfterAnErrorStartsAfresh) {
  std::string bad = sf(kFin | kText, "x");
  FrameReader reader;
  Recorder sink;
  feed(reader, bad, sink);
  ASSERT_TRUE(reader.failed());
  reader.reset();
  EXPECT_FALSE(reader.failed());
  std::string good = cf(kFin | kText, "y");
  EXPECT_EQ(feed(reader, good, sink), good.size());
  EXPECT_EQ(sink.events, (Events{"begin text", "data:y", "end"}));
}

TEST(FrameReader, ResetKeepsTheLimits) {
  FrameReader reader(client_role());
  reader.reset();
  std::string wire = sf(kFin | kText, "x");
  Recorder sink;
  EXPECT_EQ(feed(reader, wire, sink), wire.size());
  EXPECT_FALSE(reader.failed());
}

TEST(FrameReader, ResetDropsAPartialHeader) {
  std::string part = cf(kFin | kText, "abc").substr(0, 3);
  FrameReader reader;
  Recorder sink;
  feed(reader, part, sink);
  EXPECT_TRUE(reader.mid_frame());
  reader.reset();
  EXPECT_FALSE(reader.mid_frame());
  std::string wire = cf(kFin | kText, "z");
  feed(reader, wire, sink);
  EXPECT_EQ(sink.events, (Events{"begin text", "data:z", "end"}));
}

TEST(FrameReader, SetLimitsAppliesToTheNextFrame) {
  FrameReader reader;
  Recorder sink;
  std::string first = cf(kFin | kText, "0123456789");
  feed(reader, first, sink);
  EXPECT_FALSE(reader.failed());
  reader.set_limits(small(5, 5));
  std::string second = cf(kFin | kText, "0123456789");
  feed(reader, second, sink);
  EXPECT_TRUE(reader.failed());
  EXPECT_EQ(reader.error().close_code, close_code::kMessageTooBig);
}

TEST(FrameReader, InMessageBetweenFragments) {
  FrameReader reader;
  Recorder sink;
  std::string first = cf(kText, "a");
  feed(reader, first, sink);
  EXPECT_TRUE(reader.in_message());
  EXPECT_FALSE(reader.mid_frame());
  std::string last = cf(kFin | kCont, "b");
  feed(reader, last, sink);
  EXPECT_FALSE(reader.in_message());
}

}  // namespace
}  // namespace ringshard::ws
