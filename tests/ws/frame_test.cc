// Tests for ws/frame.h: header encoding (bytes and round trips through the
// reader), the masking loop against a byte-at-a-time reference, close codes
// and close payloads.
#include "ws/frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ws/reader.h"
#include "ws/utf8.h"

namespace ringshard::ws {
namespace RS_UNITY_ID {

using namespace std::string_literals;

std::string header(Opcode op, uint64_t length, bool fin, bool rsv1,
                   const uint8_t* mask) {
  char out[kMaxHeaderBytes];
  const size_t n = encode_header(out, op, length, fin, rsv1, mask);
  EXPECT_EQ(n, header_size(length, mask != nullptr));
  return std::string(out, n);
}

const uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};

struct HeaderCase {
  std::string name;
  Opcode op;
  uint64_t length;
  bool fin;
  bool rsv1;
  bool masked;
  std::string bytes;
};

TEST(EncodeHeader, WritesTheShortestLengthForm) {
  const std::vector<HeaderCase> cases = {
      {"empty text", Opcode::kText, 0, true, false, false, "\x81\x00"s},
      {"7-bit max", Opcode::kBinary, 125, true, false, false, "\x82\x7d"s},
      {"16-bit min", Opcode::kBinary, 126, true, false, false, "\x82\x7e\x00\x7e"s},
      {"16-bit max", Opcode::kText, 65535, true, false, false, "\x81\x7e\xff\xff"s},
      {"64-bit min", Opcode::kText, 65536, true, false, false,
       "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"s},
      {"64-bit large", Opcode::kBinary, 0x0123456789abcdefull, true, false, false,
       "\x82\x7f\x01\x23\x45\x67\x89\xab\xcd\xef"s},
      {"not final", Opcode::kText, 5, false, false, false, "\x01\x05"s},
      {"continuation final", Opcode::kContinuation, 3, true, false, false, "\x80\x03"s},
      {"rsv1", Opcode::kText, 5, true, true, false, "\xc1\x05"s},
      {"ping", Opcode::kPing, 4, true, false, false, "\x89\x04"s},
      {"pong", Opcode::kPong, 0, true, false, false, "\x8a\x00"s},
      {"close", Opcode::kClose, 2, true, false, false, "\x88\x02"s},
      {"masked 7-bit", Opcode::kText, 5, true, false, true, "\x81\x85\x37\xfa\x21\x3d"s},
      {"masked 16-bit", Opcode::kText, 300, true, false, true,
       "\x81\xfe\x01\x2c\x37\xfa\x21\x3d"s},
      {"masked 64-bit", Opcode::kBinary, 1ull << 32, false, true, true,
       "\x42\xff\x00\x00\x00\x01\x00\x00\x00\x00\x37\xfa\x21\x3d"s},
  };
  for (const HeaderCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(header(c.op, c.length, c.fin, c.rsv1, c.masked ? kKey : nullptr), c.bytes);
  }
}

TEST(EncodeHeader, HeaderSizeMatchesAtEachLengthBoundary) {
  for (uint64_t len : {0ull, 125ull, 126ull, 65535ull, 65536ull, ~0ull >> 1}) {
    EXPECT_EQ(header_size(len, false), len < 126 ? 2u : len < 65536 ? 4u : 10u) << len;
    EXPECT_EQ(header_size(len, true), header_size(len, false) + 4) << len;
  }
}

// A sink that keeps one message and the control frames it sees.
struct MessageSink : FrameReader::Sink {
  std::vector<std::string> events;
  std::string data;
  bool on_message_begin(Opcode op, bool compressed) override {
    events.push_back("begin " + std::to_string(static_cast<int>(op)) +
                     (compressed ? " compressed" : ""));
    return true;
  }
  bool on_message_data(std::span<char> d) override {
    data.append(d.data(), d.size());
    return true;
  }
  bool on_message_end() override {
    events.push_back("end");
    return true;
  }
  bool on_control(Opcode op, std::span<char> p) override {
    events.push_back("control " + std::to_string(static_cast<int>(op)) + " " +
                     std::string(p.data(), p.size()));
    return true;
  }
};

std::string payload_of(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + 7);
  return s;
}

TEST(EncodeHeader, RoundTripsThroughTheReaderInBothRoles) {
  for (bool client : {false, true}) {
    for (size_t len : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 70001u}) {
      SCOPED_TRACE((client ? "client frame, length " : "server frame, length ") +
                   std::to_string(len));
      const std::string payload = payload_of(len);
      std::string wire = header(Opcode::kBinary, len, true, false, client ? kKey : nullptr);
      std::string body = payload;
      if (client) apply_mask(body.data(), body.size(), kKey, 0);
      wire += body;

      ReaderLimits limits;
      limits.expect_masked = client;
      FrameReader reader(limits);
      MessageSink sink;
      EXPECT_EQ(reader.feed(wire, sink), wire.size());
      ASSERT_FALSE(reader.failed()) << reader.error().reason;
      EXPECT_EQ(sink.events, (std::vector<std::string>{"begin 2", "end"}));
      EXPECT_EQ(sink.data, payload);
    }
  }
}

TEST(EncodeHeader, ControlAndRsv1RoundTrip) {
  ReaderLimits limits;
  limits.expect_masked = false;
  limits.allow_compressed = true;
  std::string wire = header(Opcode::kText, 2, false, true, nullptr) + "ab" +
                     header(Opcode::kPing, 3, true, false, nullptr) + "xyz" +
                     header(Opcode::kContinuation, 1, true, false, nullptr) + "c";
  FrameReader reader(limits);
  MessageSink sink;
  EXPECT_EQ(reader.feed(wire, sink), wire.size());
  EXPECT_FALSE(reader.failed());
  EXPECT_EQ(sink.events,
            (std::vector<std::string>{"begin 1 compressed", "control 9 xyz", "end"}));
  EXPECT_EQ(sink.data, "abc");
}

void naive_mask(char* p, size_t n, const uint8_t mask[4], size_t offset) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<char>(p[i] ^ mask[(offset + i) % 4]);
}

TEST(ApplyMask, MatchesAByteLoopForEveryLengthOffsetAndAlignment) {
  alignas(64) char buf[400];
  alignas(64) char want[400];
  for (size_t start = 0; start < 16; ++start) {
    for (size_t offset = 0; offset < 4; ++offset) {
      for (size_t len = 0; len <= 300; ++len) {
        for (size_t i = 0; i < sizeof buf; ++i) buf[i] = want[i] = static_cast<char>(i * 7 + len);
        naive_mask(want + start, len, kKey, offset);
        const size_t next = apply_mask(buf + start, len, kKey, offset);
        ASSERT_EQ(next, (offset + len) % 4)
            << "start " << start << " offset " << offset << " len " << len;
        ASSERT_EQ(std::memcmp(buf, want, sizeof buf), 0)
            << "start " << start << " offset " << offset << " len " << len;
      }
    }
  }
}

TEST(ApplyMask, InPiecesEqualsWhole) {
  const std::string plain = payload_of(1000);
  std::string whole = plain;
  apply_mask(whole.data(), whole.size(), kKey, 0);
  for (size_t cut1 = 0; cut1 < 70; ++cut1) {
    for (size_t cut2 : {cut1, cut1 + 1, cut1 + 33, size_t{700}}) {
      std::string pieces = plain;
      size_t off = apply_mask(pieces.data(), cut1, kKey, 0);
      off = apply_mask(pieces.data() + cut1, cut2 - cut1, kKey, off);
      apply_mask(pieces.data() + cut2, pieces.size() - cut2, kKey, off);
      ASSERT_EQ(pieces, whole) << cut1 << " " << cut2;
    }
  }
}

TEST(ApplyMask, TwiceRestoresTheData) {
  std::string s = payload_of(4096);
  apply_mask(s.data() + 3, s.size() - 3, kKey, 2);
  EXPECT_NE(s, payload_of(4096));
  apply_mask(s.data() + 3, s.size() - 3, kKey, 2);
  EXPECT_EQ(s, payload_of(4096));
}

TEST(ApplyMask, ZeroLengthReturnsTheOffset) {
  for (size_t offset = 0; offset < 4; ++offset) {
    EXPECT_EQ(apply_mask(nullptr, 0, kKey, offset), offset);
  }
}

TEST(CloseCode, ValidityTable) {
  struct Row {
    uint16_t code;
    bool valid;
  };
  const Row rows[] = {
      {0, false},    {999, false},  {1000, true},  {1001, true},  {1002, true},
      {1003, true},  {1004, false}, {1005, false}, {1006, false}, {1007, true},
      {1008, true},  {1009, true},  {1010, true},  {1011, true},  {1012, false},
      {1013, false}, {1014, false}, {1015, false}, {1016, false}, {2000, false},
      {2999, false}, {3000, true},  {3999, true},  {4000, true},  {4999, true},
      {5000, false}, {65535, false},
  };
  for (const Row& r : rows) EXPECT_EQ(valid_close_code(r.code), r.valid) << r.code;
}

std::string close_payload(uint16_t code, std::string_view reason) {
  char out[125];
  const size_t n = encode_close_payload(out, code, reason);
  EXPECT_LE(n, 125u);
  return std::string(out, n);
}

TEST(CloseCode, PayloadIsBigEndianCodeThenReason) {
  EXPECT_EQ(close_payload(1000, ""), "\x03\xe8"s);
  EXPECT_EQ(close_payload(1009, "too big"), "\x03\xf1too big"s);
  EXPECT_EQ(close_payload(4999, "x"), "\x13\x87x"s);
}

TEST(CloseCode, ReasonOfExactly123BytesIsKept) {
  const std::string reason(123, 'r');
  EXPECT_EQ(close_payload(1000, reason), "\x03\xe8"s + reason);
}

TEST(CloseCode, LongAsciiReasonIsCutTo125Bytes) {
  const std::string reason(500, 'r');
  EXPECT_EQ(close_payload(1000, reason), "\x03\xe8"s + std::string(123, 'r'));
}

TEST(CloseCode, LongReasonIsCutAtACharacterBoundary) {
  // A character of each width placed to straddle the 123-byte cut at every
  // position: the payload keeps the longest whole-character prefix.
  for (const std::string& ch : {"\xc3\xa9"s, "\xe2\x82\xac"s, "\xf0\x9f\x98\x80"s}) {
    for (size_t before = 123 - ch.size(); before <= 123; ++before) {
      const std::string reason = std::string(before, 'a') + ch + "tail";
      const std::string got = close_payload(1000, reason);
      const size_t keep = before + ch.size() <= 123 ? before + ch.size() : before;
      SCOPED_TRACE("width " + std::to_string(ch.size()) + " at " + std::to_string(before));
      EXPECT_EQ(got.substr(2), reason.substr(0, keep));
      EXPECT_TRUE(is_valid_utf8(got.substr(2)));
    }
  }
}

TEST(Opcode, ControlOpcodesAreTheHighHalf) {
  EXPECT_FALSE(is_control(Opcode::kContinuation));
  EXPECT_FALSE(is_control(Opcode::kText));
  EXPECT_FALSE(is_control(Opcode::kBinary));
  EXPECT_TRUE(is_control(Opcode::kClose));
  EXPECT_TRUE(is_control(Opcode::kPing));
  EXPECT_TRUE(is_control(Opcode::kPong));
}

}  // namespace
}  // namespace ringshard::ws
