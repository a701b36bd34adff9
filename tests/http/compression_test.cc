// Tests for http/compression.h: the compress-or-not decision table, the
// media-type and Cache-Control checks, and the Compressor, whose output is
// decoded by zlib's inflate and libbrotlidec: whole bodies, streamed
// bodies in many small writes (each write decodable as soon as it is out),
// empty and large bodies, and reuse after reset().
#include "http/compression.h"

#include <brotli/decode.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>
#include <vector>

namespace ringshard::http {
namespace RS_UNITY_ID {

// --- decoders that are not ours ---------------------------------------

// Streaming decoders, so a test can check how much of the body the output
// so far gives back.
class GzipReader {
 public:
  GzipReader() { EXPECT_EQ(inflateInit2(&zs_, 15 + 16), Z_OK); }
  ~GzipReader() { inflateEnd(&zs_); }
  // Feeds `in`; false on a corrupt stream.
  bool feed(std::string_view in) {
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    char buf[16384];
    do {
      zs_.next_out = reinterpret_cast<Bytef*>(buf);
      zs_.avail_out = sizeof buf;
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      text_.append(buf, sizeof buf - zs_.avail_out);
      if (rc == Z_STREAM_END) {
        ended_ = true;
        return zs_.avail_in == 0;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
    } while (zs_.avail_out == 0 || zs_.avail_in > 0);
    return true;
  }
  const std::string& text() const { return text_; }
  bool ended() const { return ended_; }

 private:
  z_stream zs_{};
  std::string text_;
  bool ended_ = false;
};

class BrotliReader {
 public:
  BrotliReader() : st_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {}
  ~BrotliReader() { BrotliDecoderDestroyInstance(st_); }
  bool feed(std::string_view in) {
    size_t avail_in = in.size();
    const auto* next_in = reinterpret_cast<const uint8_t*>(in.data());
    for (;;) {
      uint8_t buf[16384];
      size_t avail_out = sizeof buf;
      uint8_t* next_out = buf;
      const BrotliDecoderResult r = BrotliDecoderDecompressStream(
          st_, &avail_in, &next_in, &avail_out, &next_out, nullptr);
      text_.append(reinterpret_cast<char*>(buf), sizeof buf - avail_out);
      if (r == BROTLI_DECODER_RESULT_ERROR) return false;
      if (r == BROTLI_DECODER_RESULT_SUCCESS) {
        ended_ = true;
        return avail_in == 0;
      }
      if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return true;
    }
  }
  const std::string& text() const { return text_; }
  bool ended() const { return ended_; }

 private:
  BrotliDecoderState* st_;
  std::string text_;
  bool ended_ = false;
};

// Decodes a whole stream; nullopt-like failure reported through `ok`.
std::string decode(Coding c, std::string_view in, bool& ok) {
  if (c == Coding::kGzip) {
    GzipReader r;
    ok = r.feed(in) && r.ended();
    return r.text();
  }
  BrotliReader r;
  ok = r.feed(in) && r.ended();
  return r.text();
}

// Text that compresses like real responses: repeated words with variety.
std::string sample_text(size_t n, uint32_t seed = 1) {
  static const char* words[] = {"ringshard ", "io_uring ", "shard ", "request ",
                                "{\"id\":",   "\"name\":", "</div>",  "<p>",
                                "0123 ",      "response ", "\n"};
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) s += words[rng() % std::size(words)];
  s.resize(n);
  return s;
}

std::string random_bytes(size_t n, uint32_t seed = 2) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class CompressorTest : public ::testing::TestWithParam<Coding> {
 protected:
  Coding coding() const { return GetParam(); }
  int level() const { return coding() == Coding::kGzip ? kDefaultGzipLevel : kDefaultBrotliLevel; }
};

INSTANTIATE_TEST_SUITE_P(Codings, CompressorTest,
                         ::testing::Values(Coding::kGzip, Coding::kBrotli),
                         [](const auto& info) { return std::string(coding_name(info.param)); });

TEST_P(CompressorTest, OneShotRoundTrip) {
  const std::string body = sample_text(50000);
  std::string out;
  ASSERT_TRUE(compress(coding(), level(), body, out));
  EXPECT_LT(out.size(), body.size() / 3);
  bool ok = false;
  EXPECT_EQ(decode(coding(), out, ok), body);
  EXPECT_TRUE(ok);
}

TEST_P(CompressorTest, OneShotAppendsToOut) {
  std::string out = "prefix";
  ASSERT_TRUE(compress(coding(), level(), "hello", out));
  ASSERT_EQ(out.substr(0, 6), "prefix");
  bool ok = false;
  EXPECT_EQ(decode(coding(), std::string_view(out).substr(6), ok), "hello");
  EXPECT_TRUE(ok);
}

TEST_P(CompressorTest, EmptyBody) {
  std::string out;
  ASSERT_TRUE(compress(coding(), level(), "", out));
  EXPECT_FALSE(out.empty());
  bool ok = false;
  EXPECT_EQ(decode(coding(), out, ok), "");
  EXPECT_TRUE(ok);

  Compressor c(coding(), level());
  std::string streamed;
  ASSERT_TRUE(c.write("", streamed));
  ASSERT_TRUE(c.finish(streamed));
  EXPECT_EQ(decode(coding(), streamed, ok), "");
  EXPECT_TRUE(ok);
}

TEST_P(CompressorTest, LargeBody) {
  const std::string body = sample_text(8 << 20, 3) + random_bytes(1 << 20);
  std::string out;
  ASSERT_TRUE(compress(coding(), level(), body, out));
  bool ok = false;
  EXPECT_TRUE(decode(coding(), out, ok) == body);
  EXPECT_TRUE(ok);
}

TEST_P(CompressorTest, IncompressibleBodyStaysCloseToItsSize) {
  const std::string body = random_bytes(100000);
  std::string out;
  ASSERT_TRUE(compress(coding(), level(), body, out));
  EXPECT_LT(out.size(), body.size() + body.size() / 100 + 64);
  bool ok = false;
  EXPECT_TRUE(decode(coding(), out, ok) == body);
  EXPECT_TRUE(ok);
}

// Each flushed write must be decodable at once: a client of a streamed
// response (server-sent events, a long report) sees every piece as it
// arrives, not when the encoder's buffer happens to fill.
TEST_P(CompressorTest, StreamedWritesDecodeProgressively) {
  Compressor c(coding(), level());
  const std::string body = sample_text(20000, 4);
  std::string out;
  size_t sent = 0;
  size_t pos = 0;
  std::mt19937 rng(5);
  GzipReader gz;
  BrotliReader br;
  while (pos < body.size()) {
    const size_t n = std::min<size_t>(1 + rng() % 300, body.size() - pos);
    ASSERT_TRUE(c.write(std::string_view(body).substr(pos, n), out));
    pos += n;
    const std::string_view fresh = std::string_view(out).substr(sent);
    sent = out.size();
    ASSERT_FALSE(fresh.empty());
    if (coding() == Coding::kGzip) {
      ASSERT_TRUE(gz.feed(fresh));
      ASSERT_EQ(gz.text(), body.substr(0, pos));
    } else {
      ASSERT_TRUE(br.feed(fresh));
      ASSERT_EQ(br.text(), body.substr(0, pos));
    }
  }
  ASSERT_TRUE(c.finish(out));
  const std::string_view tail = std::string_view(out).substr(sent);
  if (coding() == Coding::kGzip) {
    ASSERT_TRUE(gz.feed(tail));
    EXPECT_TRUE(gz.ended());
    EXPECT_EQ(gz.text(), body);
  } else {
    ASSERT_TRUE(br.feed(tail));
    EXPECT_TRUE(br.ended());
    EXPECT_EQ(br.text(), body);
  }
}

TEST_P(CompressorTest, ManyTinyWritesWithoutFlush) {
  Compressor c(coding(), level());
  const std::string body = sample_text(30000, 6);
  std::string out;
  for (size_t i = 0; i < body.size(); i += 7) {
    ASSERT_TRUE(c.write(std::string_view(body).substr(i, 7), out, false));
  }
  ASSERT_TRUE(c.finish(out));
  std::string whole;
  ASSERT_TRUE(compress(coding(), level(), body, whole));
  // Unflushed writes compress about as well as one shot.
  EXPECT_LT(out.size(), whole.size() + whole.size() / 10 + 64);
  bool ok = false;
  EXPECT_EQ(decode(coding(), out, ok), body);
  EXPECT_TRUE(ok);
}

TEST_P(CompressorTest, EmptyFlushingWriteFlushesEarlierUnflushedWrites) {
  Compressor c(coding(), level());
  std::string out;
  ASSERT_TRUE(c.write("data: first event\n\n", out, false));
  ASSERT_TRUE(c.write("", out, true));
  if (coding() == Coding::kGzip) {
    GzipReader r;
    ASSERT_TRUE(r.feed(out));
    EXPECT_EQ(r.text(), "data: first event\n\n");
  } else {
    BrotliReader r;
    ASSERT_TRUE(r.feed(out));
    EXPECT_EQ(r.text(), "data: first event\n\n");
  }
  // A second empty flush adds nothing a decoder would mind.
  ASSERT_TRUE(c.write("", out, true));
  ASSERT_TRUE(c.finish(out));
  bool ok = false;
  EXPECT_EQ(decode(coding(), out, ok), "data: first event\n\n");
  EXPECT_TRUE(ok);
}

TEST_P(CompressorTest, ReusableAfterReset) {
  Compressor c(coding(), level());
  for (int round = 0; round < 5; ++round) {
    c.reset();
    const std::string body = sample_text(5000 + round * 777, 10 + round);
    std::string out;
    ASSERT_TRUE(c.write(std::string_view(body).substr(0, 1000), out));
    ASSERT_TRUE(c.write(std::string_view(body).substr(1000), out));
    ASSERT_TRUE(c.finish(out));
    bool ok = false;
    EXPECT_EQ(decode(coding(), out, ok), body) << "round " << round;
    EXPECT_TRUE(ok);
  }
  // compress() resets by itself, even after a finished stream.
  std::string out;
  ASSERT_TRUE(c.compress("again", out));
  bool ok = false;
  EXPECT_EQ(decode(coding(), out, ok), "again");
  EXPECT_TRUE(ok);
}

TEST_P(CompressorTest, ResetMidStreamStartsAFreshStream) {
  Compressor c(coding(), level());
  std::string junk;
  ASSERT_TRUE(c.write(sample_text(3000), junk, false));
  c.reset();
  std::string out;
  ASSERT_TRUE(c.write("fresh", out));
  ASSERT_TRUE(c.finish(out));
  bool ok = false;
  EXPECT_EQ(decode(coding(), out, ok), "fresh");
  EXPECT_TRUE(ok);
}

TEST_P(CompressorTest, WriteAfterFinishFailsUntilReset) {
  Compressor c(coding(), level());
  std::string out;
  ASSERT_TRUE(c.write("x", out));
  ASSERT_TRUE(c.finish(out));
  const size_t size = out.size();
  EXPECT_FALSE(c.write("y", out));
  EXPECT_FALSE(c.finish(out));
  EXPECT_EQ(out.size(), size);
  c.reset();
  EXPECT_TRUE(c.write("y", out));
}

TEST_P(CompressorTest, MovedCompressorKeepsItsStream) {
  Compressor a(coding(), level());
  std::string out;
  ASSERT_TRUE(a.write("first ", out));
  Compressor b(std::move(a));
  ASSERT_TRUE(b.write("second", out));
  Compressor c(Coding::kGzip, 1);
  c = std::move(b);
  EXPECT_EQ(c.coding(), coding());
  ASSERT_TRUE(c.finish(out));
  bool ok = false;
  EXPECT_EQ(decode(coding(), out, ok), "first second");
  EXPECT_TRUE(ok);
}

TEST_P(CompressorTest, EveryLevelRoundTrips) {
  const std::string body = sample_text(4000, 8);
  const int lo = coding() == Coding::kGzip ? 1 : 0;
  const int hi = coding() == Coding::kGzip ? 9 : 11;
  for (int level = lo - 1; level <= hi + 1; ++level) {  // out of range clamps
    std::string out;
    ASSERT_TRUE(compress(coding(), level, body, out)) << level;
    bool ok = false;
    EXPECT_EQ(decode(coding(), out, ok), body) << level;
    EXPECT_TRUE(ok) << level;
  }
}

TEST(Compressor, IdentityCodingProducesNothing) {
  Compressor c(Coding::kIdentity, 0);
  std::string out;
  EXPECT_FALSE(c.write("x", out));
  EXPECT_FALSE(compress(Coding::kIdentity, 0, "x", out));
  EXPECT_TRUE(out.empty());
}

// --- media types, Cache-Control -----------------------------------------

TEST(CompressibleType, PrefixMatchIgnoringCaseAndParameters) {
  const std::vector<std::string> types = default_compressible_types();
  EXPECT_TRUE(compressible_type("text/html", types));
  EXPECT_TRUE(compressible_type("text/html; charset=utf-8", types));
  EXPECT_TRUE(compressible_type("TEXT/Plain;charset=utf-8", types));
  EXPECT_TRUE(compressible_type("  application/json  ; charset=utf-8", types));
  EXPECT_TRUE(compressible_type("application/javascript", types));
  EXPECT_TRUE(compressible_type("image/svg+xml", types));
  EXPECT_FALSE(compressible_type("image/png", types));
  EXPECT_FALSE(compressible_type("application/octet-stream", types));
  EXPECT_FALSE(compressible_type("font/woff2", types));
  EXPECT_FALSE(compressible_type("", types));
  EXPECT_FALSE(compressible_type(";charset=utf-8", types));
  EXPECT_FALSE(compressible_type("text", types));
  EXPECT_FALSE(compressible_type("application/x-json; text/html", types));
  const std::vector<std::string> custom = {"application/vnd.ringshard", ""};
  EXPECT_TRUE(compressible_type("application/vnd.ringshard.v2+json", custom));
  EXPECT_FALSE(compressible_type("text/html", custom));  // "" matches nothing
  EXPECT_FALSE(compressible_type("text/html", std::span<const std::string>{}));
}

TEST(HasNoTransform, TokenMatch) {
  EXPECT_TRUE(has_no_transform("no-transform"));
  EXPECT_TRUE(has_no_transform("No-Transform"));
  EXPECT_TRUE(has_no_transform("public, max-age=60, no-transform"));
  EXPECT_TRUE(has_no_transform("max-age=60,no-transform,private"));
  EXPECT_TRUE(has_no_transform("  no-transform  "));
  EXPECT_TRUE(has_no_transform("private=\"x, y\", no-transform"));
  EXPECT_TRUE(has_no_transform("no-transform=1"));
  EXPECT_FALSE(has_no_transform(""));
  EXPECT_FALSE(has_no_transform("public, max-age=60"));
  EXPECT_FALSE(has_no_transform("no-transformer"));
  EXPECT_FALSE(has_no_transform("x-no-transform"));
  EXPECT_FALSE(has_no_transform("no-cache=\"no-transform\""));
  EXPECT_FALSE(has_no_transform("private=\"a, no-transform, b\""));
  EXPECT_FALSE(has_no_transform("x=\"a\\\", no-transform\""));
  EXPECT_FALSE(has_no_transform("x=\"unterminated, no-transform"));
  EXPECT_FALSE(has_no_transform("max-age=no-transform"));
}

// --- the decision table ---------------------------------------------------

class DecisionTest : public ::testing::Test {
 protected:
  DecisionTest() { policy_.types = types_; }
  ResponseFacts facts() const {
    ResponseFacts f;
    f.status = 200;
    f.content_type = "text/html; charset=utf-8";
    f.body_size = 4096;
    return f;
  }
  CompressionDecision decide(const ResponseFacts& f, Coding accepted = Coding::kGzip) const {
    return decide_compression(f, accepted, policy_);
  }

  std::vector<std::string> types_ = default_compressible_types();
  CompressionPolicy policy_;
};

TEST_F(DecisionTest, CompressesAnEligibleResponse) {
  const CompressionDecision d = decide(facts());
  EXPECT_EQ(d.coding, Coding::kGzip);
  EXPECT_TRUE(d.vary);
  EXPECT_EQ(decide(facts(), Coding::kBrotli).coding, Coding::kBrotli);
  EXPECT_TRUE(should_compress(facts(), Coding::kGzip, policy_));
}

TEST_F(DecisionTest, ClientWithoutACodingGetsIdentityButVary) {
  const CompressionDecision d = decide(facts(), Coding::kIdentity);
  EXPECT_EQ(d.coding, Coding::kIdentity);
  EXPECT_TRUE(d.vary);
  EXPECT_FALSE(should_compress(facts(), Coding::kIdentity, policy_));
}

TEST_F(DecisionTest, BrotliOffInPolicy) {
  policy_.brotli = false;
  const CompressionDecision d = decide(facts(), Coding::kBrotli);
  EXPECT_EQ(d.coding, Coding::kIdentity);
  EXPECT_TRUE(d.vary);
  EXPECT_EQ(decide(facts(), Coding::kGzip).coding, Coding::kGzip);
}

TEST_F(DecisionTest, SizeThreshold) {
  ResponseFacts f = facts();
  f.body_size = kDefaultCompressMinSize;
  EXPECT_EQ(decide(f).coding, Coding::kGzip);
  f.body_size = kDefaultCompressMinSize - 1;
  EXPECT_EQ(decide(f).coding, Coding::kIdentity);
  EXPECT_FALSE(decide(f).vary);
  f.body_size = 0;
  EXPECT_EQ(decide(f).coding, Coding::kIdentity);
  f.body_size = std::nullopt;  // streamed
  EXPECT_EQ(decide(f).coding, Coding::kGzip);
  policy_.min_size = 10;
  f.body_size = 10;
  EXPECT_EQ(decide(f).coding, Coding::kGzip);
}

TEST_F(DecisionTest, Statuses) {
  struct Row {
    uint16_t status;
    bool compress;
  };
  const Row rows[] = {{100, false}, {101, false}, {103, false}, {200, true},  {201, true},
                      {204, false}, {206, false}, {301, true},  {304, false}, {404, true},
                      {500, true},  {503, true}};
  for (const Row& r : rows) {
    ResponseFacts f = facts();
    f.status = r.status;
    const CompressionDecision d = decide(f);
    EXPECT_EQ(d.coding != Coding::kIdentity, r.compress) << r.status;
    EXPECT_EQ(d.vary, r.compress) << r.status;
  }
}

TEST_F(DecisionTest, HeadVariesButIsNeverCompressed) {
  ResponseFacts f = facts();
  f.head_request = true;
  const CompressionDecision d = decide(f);
  EXPECT_EQ(d.coding, Coding::kIdentity);
  EXPECT_TRUE(d.vary);
}

TEST_F(DecisionTest, NeverOverAnExistingContentEncoding) {
  ResponseFacts f = facts();
  f.has_content_encoding = true;
  EXPECT_EQ(decide(f), CompressionDecision{});
}

TEST_F(DecisionTest, NoTransformForbids) {
  ResponseFacts f = facts();
  f.cache_control = "public, No-Transform";
  EXPECT_EQ(decide(f), CompressionDecision{});
  f.cache_control = "public, max-age=600";
  EXPECT_EQ(decide(f).coding, Coding::kGzip);
}

TEST_F(DecisionTest, TypeMustBeCompressible) {
  ResponseFacts f = facts();
  f.content_type = "image/jpeg";
  EXPECT_EQ(decide(f), CompressionDecision{});
  f.content_type = "";
  EXPECT_EQ(decide(f), CompressionDecision{});
  f.content_type = "Application/JSON";
  EXPECT_EQ(decide(f).coding, Coding::kGzip);
}

TEST_F(DecisionTest, DisabledPolicyDoesNothing) {
  policy_.enabled = false;
  EXPECT_EQ(decide(facts()), CompressionDecision{});
}

}  // namespace
}  // namespace ringshard::http
