// Tests for ws/deflate.h: the negotiation table (offers in, response and
// params out, with config variations), the client-side parse of responses,
// and Deflater/Inflater round trips, RFC 7692 section 7.2.3 vectors,
// interop with plain zlib, the size cap, corrupt input and memory use.
#include "ws/deflate.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace ringshard::ws {
namespace RS_UNITY_ID {

using namespace std::string_literals;

// --- negotiate_deflate ----------------------------------------------------------

enum class Outcome { kAccepted, kDeclined, kError };

struct NegotiationCase {
  const char* name;
  std::string_view offers;
  Outcome outcome;
  const char* response = "";  // when accepted
  DeflateParams params = {};  // when accepted
  DeflateConfig config = {};
};

DeflateParams P(bool snct, bool cnct, uint8_t server_bits, uint8_t client_bits) {
  DeflateParams p;
  p.server_no_context_takeover = snct;
  p.client_no_context_takeover = cnct;
  p.server_max_window_bits = server_bits;
  p.client_max_window_bits = client_bits;
  return p;
}

DeflateConfig C(uint8_t server_bits, uint8_t client_bits, bool snct = false, bool cnct = false) {
  DeflateConfig c;
  c.server_max_window_bits = server_bits;
  c.client_max_window_bits = client_bits;
  c.server_no_context_takeover = snct;
  c.client_no_context_takeover = cnct;
  return c;
}

DeflateConfig disabled() {
  DeflateConfig c;
  c.enabled = false;
  return c;
}

const DeflateParams kDefault = {};
constexpr Outcome kAccepted = Outcome::kAccepted;
constexpr Outcome kDeclined = Outcome::kDeclined;
constexpr Outcome kError = Outcome::kError;

const NegotiationCase kNegotiationCases[] = {
    // Plain offers and each parameter.
    {"Empty", "", kDeclined},
    {"Plain", "permessage-deflate", kAccepted, "permessage-deflate", kDefault},
    {"OtherExtensionOnly", "x-webkit-deflate-frame", kDeclined},
    {"AfterOtherExtension", "foo; bar=1, permessage-deflate", kAccepted, "permessage-deflate",
     kDefault},
    {"NameIsCaseSensitive", "Permessage-Deflate", kDeclined},
    {"ServerNoContextTakeover", "permessage-deflate; server_no_context_takeover", kAccepted,
     "permessage-deflate; server_no_context_takeover", P(true, false, 15, 15)},
    {"ClientNoContextTakeoverEchoed", "permessage-deflate; client_no_context_takeover",
     kAccepted, "permessage-deflate; client_no_context_takeover", P(false, true, 15, 15)},
    {"ServerBits", "permessage-deflate; server_max_window_bits=10", kAccepted,
     "permessage-deflate; server_max_window_bits=10", P(false, false, 10, 15)},
    {"ServerBits15StillAnswered", "permessage-deflate; server_max_window_bits=15", kAccepted,
     "permessage-deflate; server_max_window_bits=15", kDefault},
    {"ServerBits9", "permessage-deflate; server_max_window_bits=9", kAccepted,
     "permessage-deflate; server_max_window_bits=9", P(false, false, 9, 15)},
    {"ClientBitsNoValue", "permessage-deflate; client_max_window_bits", kAccepted,
     "permessage-deflate", kDefault},
    {"ClientBitsValue", "permessage-deflate; client_max_window_bits=12", kAccepted,
     "permessage-deflate; client_max_window_bits=12", P(false, false, 15, 12)},
    {"ClientBits8", "permessage-deflate; client_max_window_bits=8", kAccepted,
     "permessage-deflate; client_max_window_bits=8", P(false, false, 15, 8)},
    {"ClientBits15", "permessage-deflate; client_max_window_bits=15", kAccepted,
     "permessage-deflate", kDefault},
    {"Everything",
     "permessage-deflate; client_max_window_bits=11; server_max_window_bits=12; "
     "client_no_context_takeover; server_no_context_takeover",
     kAccepted,
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=12; client_max_window_bits=11",
     P(true, true, 12, 11)},

    // Values, quoting and whitespace.
    {"QuotedValue", "permessage-deflate; client_max_window_bits=\"10\"", kAccepted,
     "permessage-deflate; client_max_window_bits=10", P(false, false, 15, 10)},
    {"QuotedEscapedValue", "permessage-deflate; server_max_window_bits=\"1\\1\"", kAccepted,
     "permessage-deflate; server_max_window_bits=11", P(false, false, 11, 15)},
    {"Whitespace", " \tpermessage-deflate \t;\tclient_max_window_bits = 10 ;server_no_context_takeover ",
     kAccepted, "permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
     P(true, false, 15, 10)},
    {"EmptyListElements", ", ,permessage-deflate,, ", kAccepted, "permessage-deflate", kDefault},
    {"UnknownExtensionParamsIgnored", "foo; server_max_window_bits=99; x=\"y\", permessage-deflate",
     kAccepted, "permessage-deflate", kDefault},

    // Declined offers (not errors).
    {"ServerBits8Declined", "permessage-deflate; server_max_window_bits=8", kDeclined},
    {"ServerBitsNoValue", "permessage-deflate; server_max_window_bits", kDeclined},
    {"ServerBits16", "permessage-deflate; server_max_window_bits=16", kDeclined},
    {"ServerBits7", "permessage-deflate; server_max_window_bits=7", kDeclined},
    {"ServerBitsLeadingZero", "permessage-deflate; server_max_window_bits=09", kDeclined},
    {"ServerBitsLeadingZero010", "permessage-deflate; server_max_window_bits=010", kDeclined},
    {"ServerBitsNotNumber", "permessage-deflate; server_max_window_bits=1a", kDeclined},
    {"ServerBitsSigned", "permessage-deflate; server_max_window_bits=+9", kDeclined},
    {"ClientBitsHuge", "permessage-deflate; client_max_window_bits=99999999999999999999", kDeclined},
    {"ClientBitsZero", "permessage-deflate; client_max_window_bits=0", kDeclined},
    {"DuplicateFlag",
     "permessage-deflate; server_no_context_takeover; server_no_context_takeover", kDeclined},
    {"DuplicateClientBits", "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
     kDeclined},
    {"DuplicateServerBitsSameValue",
     "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", kDeclined},
    {"ValueOnFlag", "permessage-deflate; client_no_context_takeover=true", kDeclined},
    {"QuotedValueOnFlag", "permessage-deflate; server_no_context_takeover=\"x\"", kDeclined},
    {"UnknownParam", "permessage-deflate; mystery", kDeclined},
    {"ParamNameIsCaseSensitive", "permessage-deflate; Server_No_Context_Takeover", kDeclined},
    {"AllDeclined", "permessage-deflate; a, permessage-deflate; server_max_window_bits=8",
     kDeclined},

    // Several offers: the first acceptable one wins.
    {"FirstDeclinedSecondAccepted",
     "permessage-deflate; server_max_window_bits=8, permessage-deflate; client_max_window_bits=9",
     kAccepted, "permessage-deflate; client_max_window_bits=9", P(false, false, 15, 9)},
    {"FirstUnknownParamSecondAccepted", "permessage-deflate; x, permessage-deflate", kAccepted,
     "permessage-deflate", kDefault},
    {"FirstWins",
     "permessage-deflate; server_max_window_bits=10, permessage-deflate; server_max_window_bits=11",
     kAccepted, "permessage-deflate; server_max_window_bits=10", P(false, false, 10, 15)},
    {"LaterBadOfferAfterWinnerIgnored", "permessage-deflate, permessage-deflate; junk=1",
     kAccepted, "permessage-deflate", kDefault},

    // Malformed syntax: error, whatever came before.
    {"TrailingSemicolon", "permessage-deflate;", kError},
    {"EmptyParamName", "permessage-deflate; =10", kError},
    {"EmptyValue", "permessage-deflate; client_max_window_bits=", kError},
    {"EmptyQuotedValue", "permessage-deflate; client_max_window_bits=\"\"", kError},
    {"UnterminatedQuote", "permessage-deflate; client_max_window_bits=\"10", kError},
    {"EscapeAtEnd", "permessage-deflate; client_max_window_bits=\"10\\", kError},
    {"QuotedNonToken", "permessage-deflate; client_max_window_bits=\"1 0\"", kError},
    {"QuotedSeparator", "foo; x=\"a,b\"", kError},
    {"SpaceInsideName", "permessage deflate", kError},
    {"TwoValues", "permessage-deflate; client_max_window_bits=10 11", kError},
    {"LeadingSemicolon", "; permessage-deflate", kError},
    {"BadCharInName", "permessage-deflate@", kError},
    {"NonAscii", "permessage-deflate; x=\xc3\xa9", kError},
    {"MalformedAfterWinner", "permessage-deflate, foo;;", kError},
    {"MalformedInUnknownExtension", "foo; =, permessage-deflate", kError},
    {"OnlySemicolon", ";", kError},

    // Config.
    {"DisabledNeverAccepts", "permessage-deflate", kDeclined, "", {}, disabled()},
    {"DisabledIgnoresSyntax", "permessage-deflate;;", kDeclined, "", {}, disabled()},
    {"ConfigServerNoContextTakeover", "permessage-deflate", kAccepted,
     "permessage-deflate; server_no_context_takeover", P(true, false, 15, 15), C(15, 15, true)},
    {"ConfigClientNoContextTakeover", "permessage-deflate", kAccepted,
     "permessage-deflate; client_no_context_takeover", P(false, true, 15, 15),
     C(15, 15, false, true)},
    {"ConfigServerBitsUnasked", "permessage-deflate", kAccepted,
     "permessage-deflate; server_max_window_bits=10", P(false, false, 10, 15), C(10, 15)},
    {"ConfigServerBitsBelowOffer", "permessage-deflate; server_max_window_bits=12", kAccepted,
     "permessage-deflate; server_max_window_bits=10", P(false, false, 10, 15), C(10, 15)},
    {"ConfigServerBitsAboveOffer", "permessage-deflate; server_max_window_bits=9", kAccepted,
     "permessage-deflate; server_max_window_bits=9", P(false, false, 9, 15), C(10, 15)},
    {"ConfigServerBits8CountsAs9", "permessage-deflate", kAccepted,
     "permessage-deflate; server_max_window_bits=9", P(false, false, 9, 15), C(8, 15)},
    {"ConfigServerBits8StillDeclines8", "permessage-deflate; server_max_window_bits=8", kDeclined,
     "", {}, C(8, 15)},
    {"ConfigClientBitsNotOffered", "permessage-deflate", kAccepted, "permessage-deflate",
     kDefault, C(15, 10)},
    {"ConfigClientBitsOfferedNoValue", "permessage-deflate; client_max_window_bits", kAccepted,
     "permessage-deflate; client_max_window_bits=10", P(false, false, 15, 10), C(15, 10)},
    {"ConfigClientBitsBelowOffer", "permessage-deflate; client_max_window_bits=12", kAccepted,
     "permessage-deflate; client_max_window_bits=10", P(false, false, 15, 10), C(15, 10)},
    {"ConfigClientBitsAboveOffer", "permessage-deflate; client_max_window_bits=9", kAccepted,
     "permessage-deflate; client_max_window_bits=9", P(false, false, 15, 9), C(15, 10)},
    {"ConfigClientBits8", "permessage-deflate; client_max_window_bits", kAccepted,
     "permessage-deflate; client_max_window_bits=8", P(false, false, 15, 8), C(15, 8)},
    {"ConfigClampsHighValues", "permessage-deflate; client_max_window_bits", kAccepted,
     "permessage-deflate", kDefault, C(200, 200)},
    {"ConfigEverything", "permessage-deflate; client_max_window_bits", kAccepted,
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=11; client_max_window_bits=12",
     P(true, true, 11, 12), C(11, 12, true, true)},
};

class Negotiate : public testing::TestWithParam<NegotiationCase> {};

TEST_P(Negotiate, Outcome) {
  const NegotiationCase& c = GetParam();
  DeflateOffer offer = negotiate_deflate(c.offers, c.config);
  EXPECT_EQ(offer.error, c.outcome == kError);
  EXPECT_EQ(offer.accepted, c.outcome == kAccepted);
  if (c.outcome == kError) {
    EXPECT_FALSE(offer.reason.empty());
    EXPECT_TRUE(offer.response.empty());
  } else {
    EXPECT_TRUE(offer.reason.empty());
  }
  if (c.outcome == kAccepted) {
    EXPECT_EQ(offer.response, c.response);
    EXPECT_EQ(offer.params, c.params);
  } else {
    EXPECT_TRUE(offer.response.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Table, Negotiate, testing::ValuesIn(kNegotiationCases),
                         [](const auto& info) { return std::string(info.param.name); });

// The accepted cases again: the response a client reads gives it the same
// parameters the server applies.
std::vector<NegotiationCase> accepted_cases() {
  std::vector<NegotiationCase> v;
  for (const NegotiationCase& c : kNegotiationCases) {
    if (c.outcome == kAccepted) v.push_back(c);
  }
  return v;
}

class NegotiatedResponse : public testing::TestWithParam<NegotiationCase> {};

TEST_P(NegotiatedResponse, ParsesBackToParams) {
  const NegotiationCase& c = GetParam();
  DeflateOffer offer = negotiate_deflate(c.offers, c.config);
  ASSERT_TRUE(offer.accepted);
  DeflateParams parsed;
  ASSERT_TRUE(parse_deflate_response(offer.response, parsed)) << offer.response;
  EXPECT_EQ(parsed, offer.params);
}

INSTANTIATE_TEST_SUITE_P(Accepted, NegotiatedResponse, testing::ValuesIn(accepted_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// --- parse_deflate_response -------------------------------------------------------

struct ResponseCase {
  const char* name;
  std::string_view response;
  bool ok;
  DeflateParams params = {};
};

const ResponseCase kResponseCases[] = {
    {"Plain", "permessage-deflate", true, kDefault},
    {"ServerBits8IsFineForAClient", "permessage-deflate; server_max_window_bits=8", true,
     P(false, false, 8, 15)},
    {"Quoted", "permessage-deflate; client_max_window_bits=\"9\"", true, P(false, false, 15, 9)},
    {"Empty", "", false},
    {"OtherExtension", "foo", false},
    {"TwoExtensions", "permessage-deflate, permessage-deflate", false},
    {"ClientBitsNeedsValue", "permessage-deflate; client_max_window_bits", false},
    {"Unknown", "permessage-deflate; x", false},
    {"Repeated", "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
     false},
    {"Malformed", "permessage-deflate;", false},
};

class ParseResponse : public testing::TestWithParam<ResponseCase> {};

TEST_P(ParseResponse, Decides) {
  const ResponseCase& c = GetParam();
  DeflateParams got;
  EXPECT_EQ(parse_deflate_response(c.response, got), c.ok);
  if (c.ok) {
    EXPECT_EQ(got, c.params);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ParseResponse, testing::ValuesIn(kResponseCases),
                         [](const auto& info) { return std::string(info.param.name); });

// --- helpers for the codec tests ------------------------------------------------

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s += static_cast<char>(b);
  return s;
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string repetitive(size_t n) {
  static constexpr std::string_view kText =
      "{\"event\":\"trade\",\"symbol\":\"BTCUSD\",\"price\":\"64123.5\",\"qty\":\"0.01\"}\n";
  std::string s;
  s.reserve(n);
  while (s.size() < n) s += kText;
  s.resize(n);
  return s;
}

std::string compress(Deflater& d, std::string_view message) {
  std::string out;
  EXPECT_TRUE(d.compress(message, out));
  return out;
}

// Inflates one whole message, fed in pieces of `piece` bytes (0: whole).
InflateStatus inflate(Inflater& in, std::string_view payload, std::string& out,
                      size_t max_size = SIZE_MAX, size_t piece = 0) {
  if (piece == 0) piece = payload.size() + 1;
  for (size_t i = 0; i < payload.size(); i += piece) {
    InflateStatus st = in.feed(payload.substr(i, piece), out, max_size);
    if (st != InflateStatus::kOk) return st;
  }
  return in.finish(out, max_size);
}

std::string inflate_ok(Inflater& in, std::string_view payload, size_t piece = 0) {
  std::string out;
  EXPECT_EQ(inflate(in, payload, out, SIZE_MAX, piece), InflateStatus::kOk);
  return out;
}

// Plain zlib, independent of Inflater: payload + 00 00 ff ff through a raw
// inflate with `window_bits`. False on any error.
bool zlib_inflate(std::string_view payload, int window_bits, std::string& out) {
  z_stream z{};
  if (inflateInit2(&z, -window_bits) != Z_OK) return false;
  std::string in = std::string(payload) + bytes({0x00, 0x00, 0xff, 0xff});
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  char buf[4096];
  int r = Z_OK;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    r = inflate(&z, Z_SYNC_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while ((r == Z_OK || r == Z_BUF_ERROR) && (z.avail_in > 0 || z.avail_out == 0) &&
           !(r == Z_BUF_ERROR && z.avail_out != 0));
  inflateEnd(&z);
  return (r == Z_OK || r == Z_BUF_ERROR || r == Z_STREAM_END) && z.avail_in == 0;
}

// Plain zlib deflate of one message the RFC 7692 way (sync flush, tail cut).
std::string zlib_deflate(std::string_view message, int level, int window_bits) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, level, Z_DEFLATED, -window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, message.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  z.avail_in = static_cast<uInt>(message.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_OK);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  EXPECT_EQ(out.substr(out.size() - 4), bytes({0x00, 0x00, 0xff, 0xff}));
  out.resize(out.size() - 4);
  return out;
}

DeflateParams no_context_takeover() { return P(true, true, 15, 15); }

// --- round trips ---------------------------------------------------------------

struct RoundTripCase {
  const char* name;
  size_t size;
  bool random;
};

class RoundTrip : public testing::TestWithParam<RoundTripCase> {};

TEST_P(RoundTrip, InflatesBackToTheMessage) {
  const RoundTripCase& c = GetParam();
  const std::string message = c.random ? random_bytes(c.size, 7) : repetitive(c.size);
  Deflater d({}, {});
  Inflater in({}, {});
  const std::string payload = compress(d, message);
  EXPECT_EQ(inflate_ok(in, payload), message);
}

TEST_P(RoundTrip, InflatesFedInSmallPieces) {
  const RoundTripCase& c = GetParam();
  const std::string message = c.random ? random_bytes(c.size, 8) : repetitive(c.size);
  Deflater d({}, {});
  Inflater in({}, {});
  const std::string payload = compress(d, message);
  EXPECT_EQ(inflate_ok(in, payload, c.size > 100000 ? 1009 : 7), message);
}

TEST_P(RoundTrip, PlainZlibInflatesOurOutput) {
  const RoundTripCase& c = GetParam();
  const std::string message = c.random ? random_bytes(c.size, 9) : repetitive(c.size);
  Deflater d({}, {});
  std::string out;
  ASSERT_TRUE(zlib_inflate(compress(d, message), 15, out));
  EXPECT_EQ(out, message);
}

TEST_P(RoundTrip, WeInflatePlainZlibOutput) {
  const RoundTripCase& c = GetParam();
  const std::string message = c.random ? random_bytes(c.size, 10) : repetitive(c.size);
  Inflater in({}, {});
  EXPECT_EQ(inflate_ok(in, zlib_deflate(message, 6, 15)), message);
}

const RoundTripCase kRoundTripCases[] = {
    {"Empty", 0, false},         {"OneByte", 1, false},
    {"Random100", 100, true},    {"Repetitive100", 100, false},
    {"Random64K", 65536, true},  {"Repetitive64K", 65536, false},
    {"Random1M", 1 << 20, true}, {"Repetitive1M", 1 << 20, false},
};

INSTANTIATE_TEST_SUITE_P(Sizes, RoundTrip, testing::ValuesIn(kRoundTripCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Deflater, RepetitiveDataShrinks) {
  Deflater d({}, {});
  EXPECT_LT(compress(d, repetitive(65536)).size(), 4096u);
}

TEST(Deflater, EmptyMessageIsOneZeroByte) {
  Deflater d({}, {});
  EXPECT_EQ(compress(d, ""), bytes({0x00}));
  EXPECT_EQ(d.memory(), 0u);  // nothing to compress, nothing allocated
}

TEST(Deflater, EmptyMessageAfterAnotherDecodes) {
  Deflater d({}, {});
  Inflater in({}, {});
  EXPECT_EQ(inflate_ok(in, compress(d, "Hello")), "Hello");
  EXPECT_EQ(inflate_ok(in, compress(d, "")), "");
  EXPECT_EQ(inflate_ok(in, compress(d, "Hello")), "Hello");
}

TEST(Deflater, AppendsToOut) {
  Deflater d({}, {});
  std::string out = "head";
  ASSERT_TRUE(d.compress("Hello", out));
  EXPECT_EQ(out, "head" + bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
}

TEST(Deflater, ParameterMatrixRoundTrips) {
  const std::string message = repetitive(20000) + random_bytes(3000, 3) + repetitive(5000);
  for (uint8_t bits = 9; bits <= 15; ++bits) {
    for (int level : {0, 1, 6, 9}) {
      for (int mem : {1, 8, 9}) {
        DeflateConfig config;
        config.level = level;
        config.mem_level = mem;
        Deflater d(P(false, false, bits, 15), config);
        std::string out;
        ASSERT_TRUE(zlib_inflate(compress(d, message), bits, out))
            << int(bits) << " " << level << " " << mem;
        EXPECT_EQ(out, message);
      }
    }
  }
}

// A period longer than the 512-byte window: a deflater that ignored its
// window would refer too far back, which a window-9 inflate rejects.
TEST(Deflater, Window9OutputDecodesWithWindow9) {
  const std::string block = random_bytes(2000, 4);
  const std::string message = block + block + block;
  Deflater d(P(false, false, 9, 15), {});
  std::string out;
  ASSERT_TRUE(zlib_inflate(compress(d, message), 9, out));
  EXPECT_EQ(out, message);
}

// --- context takeover ----------------------------------------------------------

TEST(ContextTakeover, RepeatedMessageCompressesSmaller) {
  const std::string message = random_bytes(2000, 5);
  Deflater d({}, {});
  Inflater in({}, {});
  const std::string first = compress(d, message);
  const std::string second = compress(d, message);
  EXPECT_LT(second.size(), first.size() / 10);
  EXPECT_EQ(inflate_ok(in, first), message);
  EXPECT_EQ(inflate_ok(in, second), message);
}

TEST(ContextTakeover, ManyMessagesOneStream) {
  Deflater d({}, {});
  Inflater in({}, {});
  for (int i = 0; i < 50; ++i) {
    const std::string message = repetitive(100 + i * 37) + std::to_string(i);
    EXPECT_EQ(inflate_ok(in, compress(d, message), 3), message);
  }
}

TEST(ContextTakeover, SecondMessageNeedsTheFirst) {
  const std::string message = random_bytes(2000, 6);
  Deflater d({}, {});
  compress(d, message);
  Inflater fresh({}, {});
  std::string out;
  EXPECT_EQ(inflate(fresh, compress(d, message), out), InflateStatus::kCorrupt);
}

TEST(NoContextTakeover, RepeatedMessageCompressesTheSame) {
  const std::string message = random_bytes(2000, 5);
  Deflater d(no_context_takeover(), {});
  const std::string first = compress(d, message);
  EXPECT_EQ(compress(d, message), first);
}

TEST(NoContextTakeover, EachMessageDecodesAlone) {
  Deflater d(no_context_takeover(), {});
  for (int i = 0; i < 5; ++i) {
    const std::string message = repetitive(3000) + std::to_string(i);
    std::string out;
    ASSERT_TRUE(zlib_inflate(compress(d, message), 15, out));
    EXPECT_EQ(out, message);
  }
}

TEST(NoContextTakeover, InflaterDecodesIndependentMessages) {
  Inflater in(no_context_takeover(), {});
  for (int i = 0; i < 5; ++i) {
    const std::string message = repetitive(3000) + std::to_string(i);
    EXPECT_EQ(inflate_ok(in, zlib_deflate(message, 1, 15)), message);
  }
}

// --- RFC 7692 section 7.2.3 examples -------------------------------------------

TEST(Rfc7692, HelloCompressesToTheExampleBytes) {  // 7.2.3.1
  Deflater d({}, {});
  EXPECT_EQ(compress(d, "Hello"), bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
}

TEST(Rfc7692, HelloInflates) {  // 7.2.3.1
  Inflater in({}, {});
  EXPECT_EQ(inflate_ok(in, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})), "Hello");
}

TEST(Rfc7692, FragmentedHelloInflates) {  // 7.2.3.1, two frames
  Inflater in({}, {});
  std::string out;
  ASSERT_EQ(in.feed(bytes({0xf2, 0x48}), out, 100), InflateStatus::kOk);
  ASSERT_EQ(in.feed(bytes({0xcd, 0xc9, 0xc9, 0x07, 0x00}), out, 100), InflateStatus::kOk);
  ASSERT_EQ(in.finish(out, 100), InflateStatus::kOk);
  EXPECT_EQ(out, "Hello");
}

TEST(Rfc7692, SharedWindowSecondHello) {  // 7.2.3.2
  Deflater d({}, {});
  Inflater in({}, {});
  EXPECT_EQ(inflate_ok(in, compress(d, "Hello")), "Hello");
  const std::string second = compress(d, "Hello");
  EXPECT_EQ(second, bytes({0xf2, 0x00, 0x11, 0x00, 0x00}));
  EXPECT_EQ(inflate_ok(in, second), "Hello");
}

TEST(Rfc7692, StoredBlockInflates) {  // 7.2.3.3
  Inflater in({}, {});
  EXPECT_EQ(inflate_ok(in, bytes({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f,
                                  0x00})),
            "Hello");
}

TEST(Rfc7692, FinalBlockInflates) {  // 7.2.3.4
  Inflater in({}, {});
  EXPECT_EQ(inflate_ok(in, bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00})), "Hello");
}

TEST(Rfc7692, MessageAfterFinalBlockStartsAFreshStream) {
  Inflater in({}, {});
  EXPECT_EQ(inflate_ok(in, bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00})), "Hello");
  EXPECT_EQ(inflate_ok(in, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})), "Hello");
  EXPECT_EQ(inflate_ok(in, bytes({0xf2, 0x00, 0x11, 0x00, 0x00})), "Hello");
}

TEST(Rfc7692, BytesAfterFinalBlockAreIgnored) {
  Inflater in({}, {});
  std::string out;
  ASSERT_EQ(in.feed(bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), out, 100),
            InflateStatus::kOk);
  ASSERT_EQ(in.feed("garbage that is not deflate", out, 100), InflateStatus::kOk);
  ASSERT_EQ(in.finish(out, 100), InflateStatus::kOk);
  EXPECT_EQ(out, "Hello");
}

TEST(Rfc7692, ZeroByteIsEmptyMessage) {  // 7.2.3.6's empty block
  Inflater in({}, {});
  EXPECT_EQ(inflate_ok(in, bytes({0x00})), "");
}

TEST(Inflater, EmptyPayloadIsEmptyMessage) {
  // 00 00 ff ff alone would be half a stored block header; an empty
  // payload is taken as an empty message and the stream stays usable.
  Inflater in({}, {});
  Deflater d({}, {});
  EXPECT_EQ(inflate_ok(in, ""), "");
  EXPECT_EQ(inflate_ok(in, compress(d, "Hello")), "Hello");
  EXPECT_EQ(inflate_ok(in, ""), "");
  EXPECT_EQ(inflate_ok(in, compress(d, "Hello")), "Hello");
}

TEST(Inflater, EmptyPiecesChangeNothing) {
  Inflater in({}, {});
  std::string out;
  ASSERT_EQ(in.feed("", out, 100), InflateStatus::kOk);
  ASSERT_EQ(in.feed(bytes({0xf2, 0x48, 0xcd}), out, 100), InflateStatus::kOk);
  ASSERT_EQ(in.feed("", out, 100), InflateStatus::kOk);
  ASSERT_EQ(in.feed(bytes({0xc9, 0xc9, 0x07, 0x00}), out, 100), InflateStatus::kOk);
  ASSERT_EQ(in.finish(out, 100), InflateStatus::kOk);
  EXPECT_EQ(out, "Hello");
}

// --- window 8 ------------------------------------------------------------------

// A client that agreed to client_max_window_bits=8 but whose zlib used 9
// (deflate.h, "Window bits 8"): our inflater still decodes it.
TEST(Window8, InflaterAcceptsAWindow9Stream) {
  const std::string block = random_bytes(400, 11);
  const std::string message = block + block + block;  // distances of 400 > 256
  Inflater in(P(false, false, 15, 8), {});
  EXPECT_EQ(inflate_ok(in, zlib_deflate(message, 6, 9)), message);
}

TEST(Window8, DeflaterRunsAConfigOf8As9) {
  Deflater d(P(false, false, 8, 15), {});
  const std::string message = repetitive(5000);
  std::string out;
  ASSERT_TRUE(zlib_inflate(compress(d, message), 9, out));
  EXPECT_EQ(out, message);
}

// --- the size cap ----------------------------------------------------------------

TEST(MaxSize, ZeroBombStopsEarly) {
  const std::string message(1 << 20, '\0');
  DeflateConfig best;
  best.level = 9;
  Deflater d({}, best);
  const std::string payload = compress(d, message);
  EXPECT_LT(payload.size(), 2048u);
  Inflater in({}, {});
  std::string out;
  EXPECT_EQ(inflate(in, payload, out, 64 * 1024), InflateStatus::kTooBig);
  EXPECT_LE(out.size(), 64u * 1024 + 1);
  EXPECT_LE(out.capacity(), 64u * 1024 + 1);
}

TEST(MaxSize, ExactlyMaxIsAllowed) {
  const std::string message = repetitive(10000);
  Deflater d({}, {});
  Inflater in({}, {});
  std::string out;
  EXPECT_EQ(inflate(in, compress(d, message), out, 10000), InflateStatus::kOk);
  EXPECT_EQ(out, message);
}

TEST(MaxSize, OneByteOverIsTooBig) {
  const std::string message = repetitive(10000);
  Deflater d({}, {});
  Inflater in({}, {});
  std::string out;
  EXPECT_EQ(inflate(in, compress(d, message), out, 9999), InflateStatus::kTooBig);
}

TEST(MaxSize, CountsWhatOutAlreadyHolds) {
  const std::string message = repetitive(1000);
  Deflater d({}, {});
  Inflater in({}, {});
  std::string out(500, 'x');
  EXPECT_EQ(inflate(in, compress(d, message), out, 1200), InflateStatus::kTooBig);
}

TEST(MaxSize, CheckedAcrossPieces) {
  const std::string message(100000, 'a');
  Deflater d({}, {});
  Inflater in({}, {});
  std::string out;
  EXPECT_EQ(inflate(in, compress(d, message), out, 50000, 10), InflateStatus::kTooBig);
  EXPECT_LE(out.size(), 50001u);
}

// --- corrupt input ----------------------------------------------------------------

TEST(Corrupt, ReservedBlockType) {
  Inflater in({}, {});
  std::string out;
  EXPECT_EQ(inflate(in, bytes({0x06}), out), InflateStatus::kCorrupt);  // BTYPE 11
}

TEST(Corrupt, StoredLengthMismatch) {
  Inflater in({}, {});
  std::string out;
  EXPECT_EQ(inflate(in, bytes({0x00, 0x05, 0x00, 0x00, 0x00, 'H'}), out),
            InflateStatus::kCorrupt);
}

TEST(Corrupt, AllOnes) {
  Inflater in({}, {});
  std::string out;
  EXPECT_EQ(inflate(in, std::string(64, '\xff'), out), InflateStatus::kCorrupt);
}

TEST(Corrupt, ReportedByFeedBeforeFinish) {
  Inflater in({}, {});
  std::string out;
  EXPECT_EQ(in.feed(bytes({0x06, 0x00, 0x00}), out, 100), InflateStatus::kCorrupt);
  EXPECT_EQ(in.memory(), 0u);
}

TEST(Corrupt, DistanceIntoAnEarlierMessageBeyondTheWindow) {
  // zlib checks a distance against the window only across inflate calls
  // (within one call the output buffer itself is history), so the test
  // refers back into the previous message.
  const std::string block = random_bytes(2000, 12);
  Deflater d({}, {});
  Inflater in(P(false, false, 15, 9), {});
  EXPECT_EQ(inflate_ok(in, compress(d, block)), block);
  std::string out;
  EXPECT_EQ(inflate(in, compress(d, block), out), InflateStatus::kCorrupt);
}

// --- memory ----------------------------------------------------------------------

TEST(Memory, DeflaterDefault) {
  Deflater d({}, {});
  EXPECT_EQ(d.memory(), 0u);
  compress(d, "Hello");
  std::printf("Deflater, default config, after a message: %zu bytes\n", d.memory());
  EXPECT_GT(d.memory(), 256u * 1024);
  EXPECT_LT(d.memory(), 280u * 1024);
}

TEST(Memory, DeflaterNoContextTakeoverKeepsStateUntilRelease) {
  Deflater d(no_context_takeover(), {});
  compress(d, "Hello");
  EXPECT_GT(d.memory(), 256u * 1024);
  d.release();
  EXPECT_EQ(d.memory(), 0u);
  EXPECT_EQ(compress(d, "Hello"), bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
}

TEST(Memory, DeflaterSmallWindowIsSmaller) {
  DeflateConfig config;
  config.mem_level = 1;
  Deflater d(P(false, false, 9, 15), config);
  compress(d, "Hello");
  std::printf("Deflater, window 9, mem_level 1: %zu bytes\n", d.memory());
  EXPECT_LT(d.memory(), 16u * 1024);
}

TEST(Memory, ReleaseWithContextTakeoverKeepsThePeerInSync) {
  Deflater d({}, {});
  Inflater in({}, {});
  const std::string message = repetitive(3000);
  EXPECT_EQ(inflate_ok(in, compress(d, message)), message);
  d.release();
  EXPECT_EQ(d.memory(), 0u);
  EXPECT_EQ(inflate_ok(in, compress(d, message)), message);
  EXPECT_EQ(inflate_ok(in, compress(d, message)), message);
}

TEST(Memory, InflaterContextTakeoverKeepsWindow) {
  Inflater in({}, {});
  EXPECT_EQ(in.memory(), 0u);
  Deflater d({}, {});
  inflate_ok(in, compress(d, repetitive(1000)));
  std::printf("Inflater, window 15, between messages: %zu bytes\n", in.memory());
  EXPECT_GT(in.memory(), 32u * 1024);
  EXPECT_LT(in.memory(), 48u * 1024);
}

TEST(Memory, InflaterNoContextTakeoverFreesAfterEachMessage) {
  Inflater in(no_context_takeover(), {});
  Deflater d(no_context_takeover(), {});
  std::string out;
  ASSERT_EQ(in.feed(compress(d, repetitive(1000)), out, SIZE_MAX), InflateStatus::kOk);
  std::printf("Inflater, window 15, inside a message: %zu bytes\n", in.memory());
  EXPECT_GT(in.memory(), 0u);
  ASSERT_EQ(in.finish(out, SIZE_MAX), InflateStatus::kOk);
  EXPECT_EQ(in.memory(), 0u);
}

TEST(Memory, InflaterErrorFreesState) {
  Deflater d({}, {});
  Inflater in({}, {});
  std::string out;
  EXPECT_EQ(inflate(in, compress(d, std::string(1 << 16, '\0')), out, 10),
            InflateStatus::kTooBig);
  EXPECT_EQ(in.memory(), 0u);
}

}  // namespace
}  // namespace ringshard::ws
