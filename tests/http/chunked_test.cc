// Tests for http/chunked.h: a table of chunked bodies with the outcome each
// must have. Every case is decoded whole, split in two at every byte (the
// caller keeps the unconsumed bytes and presents them again with the rest),
// one byte at a time, and in random-size steps; all must agree, and the data
// runs must reassemble to the expected body.
#include "http/chunked.h"

#include <gtest/gtest.h>

#include "tests/http/wire_text.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace ringshard::http {
namespace RS_UNITY_ID {

using namespace std::string_literals;

// "\n" -> "\r\n"; cases about bare LF or CR spell their bytes out.
using ringshard::http::test::H;

struct Want {
  ChunkedStatus status = ChunkedStatus::kDone;
  uint16_t code = 0;
  std::string body;
  std::optional<size_t> consumed;  // kDone; default: the whole input
};

Want done(std::string body) { return {ChunkedStatus::kDone, 0, std::move(body), {}}; }
Want done_at(std::string body, size_t consumed) {
  return {ChunkedStatus::kDone, 0, std::move(body), consumed};
}
Want need_more(std::string body_so_far) {
  return {ChunkedStatus::kNeedMore, 0, std::move(body_so_far), {}};
}
Want err(uint16_t code) { return {ChunkedStatus::kError, code, {}, {}}; }

struct Case {
  std::string name;
  std::string raw;
  Want want;
  ChunkedLimits limits = {};
};

struct Outcome {
  ChunkedStatus status = ChunkedStatus::kNeedMore;
  uint16_t code = 0;
  size_t consumed = 0;  // total over all calls
  std::string body;
  bool operator==(const Outcome&) const = default;
  friend void PrintTo(const Outcome& o, std::ostream* os) {
    *os << "{status " << static_cast<int>(o.status) << ", code " << o.code
        << ", consumed " << o.consumed << ", body \"" << o.body << "\"}";
  }
};

// Presents raw[begin..cut) for each cut in turn, keeping what the decoder
// left unconsumed, then the whole rest. Views handed to the sink must lie
// inside the bytes presented.
Outcome decode(const Case& c, const std::vector<size_t>& cuts) {
  ChunkedDecoder dec(c.limits);
  Outcome o;
  size_t begin = 0;
  auto present = [&](size_t end) {
    std::string_view in = std::string_view(c.raw).substr(begin, end - begin);
    ChunkedResult r = dec.feed(in, [&](std::string_view data) {
      EXPECT_GE(data.data(), in.data());
      EXPECT_LE(data.data() + data.size(), in.data() + in.size());
      EXPECT_FALSE(data.empty());
      o.body.append(data);
    });
    EXPECT_LE(r.consumed, in.size());
    begin += r.consumed;
    o.status = r.status;
    o.code = r.status == ChunkedStatus::kError ? r.error_status : 0;
    if (r.status == ChunkedStatus::kError) {
      EXPECT_FALSE(r.reason.empty());
    }
    return r.status;
  };
  for (size_t cut : cuts) {
    if (cut < begin) continue;
    if (present(cut) != ChunkedStatus::kNeedMore) break;
  }
  if (o.status == ChunkedStatus::kNeedMore) present(c.raw.size());
  o.consumed = begin;
  EXPECT_EQ(dec.body_bytes(), o.body.size());
  return o;
}

void run_case(const Case& c) {
  SCOPED_TRACE("case: " + c.name);
  const Outcome whole = decode(c, {});
  ASSERT_EQ(whole.status, c.want.status) << "code " << whole.code;
  if (c.want.status == ChunkedStatus::kError) {
    EXPECT_EQ(whole.code, c.want.code);
  } else {
    EXPECT_EQ(whole.body, c.want.body);
  }
  if (c.want.status == ChunkedStatus::kDone) {
    EXPECT_EQ(whole.consumed, c.want.consumed.value_or(c.raw.size()));
  }

  auto same = [&](const Outcome& got, const std::string& how) {
    if (c.want.status == ChunkedStatus::kError) {
      EXPECT_EQ(got.status, ChunkedStatus::kError) << how;
      EXPECT_EQ(got.code, whole.code) << how;
    } else {
      EXPECT_EQ(got, whole) << how;
    }
  };
  for (size_t k = 0; k <= c.raw.size(); ++k) {
    same(decode(c, {k}), "split at " + std::to_string(k));
  }
  std::vector<size_t> bytewise;
  for (size_t k = 0; k <= c.raw.size(); ++k) bytewise.push_back(k);
  same(decode(c, bytewise), "one byte at a time");
  std::mt19937 rng(4242);
  for (int round = 0; round < 8; ++round) {
    std::vector<size_t> cuts;
    size_t at = 0;
    while (at < c.raw.size()) {
      at += 1 + rng() % 9;
      cuts.push_back(std::min(at, c.raw.size()));
    }
    same(decode(c, cuts), "random chunks round " + std::to_string(round));
  }
}

ChunkedLimits small_limits() {
  ChunkedLimits l;
  l.max_body = 10;
  l.max_trailer_bytes = 16;
  l.max_chunk_line = 8;
  return l;
}

std::vector<Case> cases() {
  const ChunkedLimits small = small_limits();
  return {
      // Accepted bodies.
      {"one chunk", H("5\nhello\n0\n\n"), done("hello")},
      {"two chunks", H("5\nhello\n6\n world\n0\n\n"), done("hello world")},
      {"empty body", H("0\n\n"), done("")},
      {"lowercase hex size", H("a\n0123456789\n0\n\n"), done("0123456789")},
      {"uppercase hex size", H("A\n0123456789\n0\n\n"), done("0123456789")},
      {"two-digit size", H("1e\nall your base are belong to us\n0\n\n"),
       done("all your base are belong to us")},
      {"leading zeros in size", H("0005\nhello\n0\n\n"), done("hello")},
      {"last chunk of zeros", H("5\nhello\n6\n world\n000\n\n"), done("hello world")},
      {"data containing CRLF", H("4\na\nb\n0\n\n"), done("a\r\nb")},
      {"binary data", "3\r\n\0\xff\n\r\n0\r\n\r\n"s, done("\0\xff\n"s)},
      {"extension name", H("5;ilovew3\nhello\n0\n\n"), done("hello")},
      {"extension with value", H("5;a=b\nhello\n0\n\n"), done("hello")},
      {"several extensions",
       H("5;ilovew3;somuchlove=aretheseparametersfor;another=withvalue\nhello\n6;blahblah;blah\n world\n0\n\n"),
       done("hello world")},
      {"quoted extension value with escapes",
       H("5;ilovew3=\"I \\\"love\\\"; \\\\extensions\\\\\";somuchlove=\"x\";blah;foo=bar\nhello\n0\n\n"),
       done("hello")},
      // Whitespace in the size line is refused as strict llhttp does (see
      // chunked.cc: no room for a smuggling disagreement with a proxy).
      {"BWS around ; and = refused", H("5 ; a = b ;c\nhello\n0\n\n"), err(400)},
      {"tab BWS refused", H("5\t;a\nhello\n0\n\n"), err(400)},
      {"BWS after ; refused", H("5; a\nhello\n0\n\n"), err(400)},
      {"BWS before = refused", H("5;a =b\nhello\n0\n\n"), err(400)},
      {"obs-text in quoted extension", H("5;a=\"\xe9t\xe9\"\nhello\n0\n\n"), done("hello")},
      {"extension on the last chunk", H("5\nhello\n0;final=yes\n\n"), done("hello")},
      {"trailer fields", H("5\nhello\n6\n world\n0\nVary: *\nContent-Type: text/plain\n\n"),
       done("hello world")},
      {"trailer with empty value", H("0\nX-Empty:\n\n"), done("")},
      {"trailer with obs-text and tab", H("0\nX: a\tb \xff\n\n"), done("")},
      {"next request after the body is not consumed",
       H("5\nhello\n0\n\nGET / HTTP/1.1\n\n"), done_at("hello", H("5\nhello\n0\n\n").size())},
      {"body of exactly max_body", H("4\nabcd\n6\nefghij\n0\n\n"), done("abcdefghij"), small},
      {"size line of exactly max_chunk_line", H("5;abcd\nhello\n0\n\n"), done("hello"), small},
      {"trailers of exactly max_trailer_bytes", H("0\nAbcdefg: hij\n\n"), done(""), small},

      // Incomplete bodies.
      {"nothing yet", "", need_more("")},
      {"partial size line", "5", need_more("")},
      {"size line without LF", "5\r", need_more("")},
      {"partial data", H("5\nhel"), need_more("hel")},
      {"data without CRLF yet", H("5\nhello"), need_more("hello")},
      {"data and CR", H("5\nhello\r"), need_more("hello")},
      {"before last chunk", H("5\nhello\n"), need_more("hello")},
      {"last chunk without final CRLF", H("5\nhello\n0\n"), need_more("hello")},
      {"partial trailer", H("0\nX-T: y"), need_more("")},
      {"trailer without final CRLF", H("0\nX-T: y\n"), need_more("")},

      // Refused chunk sizes.
      {"empty size line", H("\nhello\n0\n\n"), err(400)},
      {"non-hex size", H("g\nhello\n0\n\n"), err(400)},
      {"negative size", H("-5\nhello\n0\n\n"), err(400)},
      {"plus sign", H("+5\nhello\n0\n\n"), err(400)},
      {"0x prefix", H("0x5\nhello\n0\n\n"), err(400)},
      {"size overflows 64 bits", H("10000000000000000\nx\n0\n\n"), err(400)},
      {"largest size is over max_body", H("ffffffffffffffff\nx\n0\n\n"), err(413)},
      {"leading space", H(" 5\nhello\n0\n\n"), err(400)},
      {"text after size without ;", H("2 erfrferferf\naa\n0 rrrr\n\n"), err(400)},
      {"space after size", H("a \n0123456789\n0\n\n"), err(400)},
      {"space and LF after size", "3 \n  \r\nfoo\r\n0\r\n\r\n", err(400)},
      {"bare LF after size", "5\nhello\r\n0\r\n\r\n", err(400)},
      {"CR CR after size", "5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\n", err(400)},
      {"missing last chunk", H("3\nfoo\n\n"), err(400)},

      // Refused extensions.
      {"; without extension", H("2;\naa\n0\n\n"), err(400)},
      {"empty extension name", H("5;=b\nhello\n0\n\n"), err(400)},
      {"= without value", H("5;a=\nhello\n0\n\n"), err(400)},
      {"space inside extension value", H("5;a=b c\nhello\n0\n\n"), err(400)},
      {"space after extension", H("5;a \nhello\n0\n\n"), err(400)},
      {"space after extension value", H("5;a=b \nhello\n0\n\n"), err(400)},
      {"unterminated quoted value", H("5;ilovew3=\"abc\";somuchlove=\"def; ghi\nhello\n0\n\n"), err(400)},
      {"control char in extension", H("5;a\x01\nhello\n0\n\n"), err(400)},
      {"NUL in quoted extension", "5;a=\"\0\"\r\nhello\r\n0\r\n\r\n"s, err(400)},
      {"DEL in extension", H("5;a=\x7f\nhello\n0\n\n"), err(400)},
      {"non-token extension name", H("5;a@b\nhello\n0\n\n"), err(400)},

      // Refused data framing.
      {"data not followed by CRLF", H("5\nABCDE0\n\n"), err(400)},
      {"data followed by LF only", "5\r\nhello\n0\r\n\r\n", err(400)},
      {"data followed by CR and garbage", "5\r\nhelloXY0\r\n\r\n", err(400)},
      {"data followed by CR CR", "5\r\nhello\r\r\n0\r\n\r\n", err(400)},
      {"chunk longer than its size", H("3\nhello\n0\n\n"), err(400)},

      // Refused trailers.
      {"bare LF ending the body", "0\r\n\n", err(400)},
      {"bare LF after trailer", "0\r\nX: y\n\r\n", err(400)},
      {"obs-fold in trailer", H("0\nA: b\n c\n\n"), err(400)},
      {"whitespace before colon in trailer", H("0\nA : b\n\n"), err(400)},
      {"trailer without colon", H("0\nNoColon\n\n"), err(400)},
      {"empty trailer name", H("0\n: b\n\n"), err(400)},
      {"invalid trailer name", H("0\nA@B: c\n\n"), err(400)},
      {"control char in trailer value", H("0\nA: b\x01\n\n"), err(400)},
      {"bare CR in trailer", "0\r\nA: b\rc\r\n\r\n", err(400)},

      // Limits.
      {"body one byte over max_body", H("b\nabcdefghijk\n0\n\n"), err(413), small},
      {"second chunk passes max_body", H("6\nabcdef\n5\nghijk\n0\n\n"), err(413), small},
      {"size line over max_chunk_line", H("5;abcde\nhello\n0\n\n"), err(400), small},
      {"unfinished size line over max_chunk_line", "5;abcdefgh", err(400), small},
      {"trailers over max_trailer_bytes", H("0\nAbcdefg: hijk\n\n"), err(400), small},
      {"unfinished trailers over max_trailer_bytes", "0\r\nAbcdefg: hijklmn", err(400), small},
  };
}

TEST(ChunkedDecoderTable, AllCases) {
  const std::vector<Case> all = cases();
  EXPECT_GE(all.size(), 80u);
  for (const Case& c : all) run_case(c);
}

TEST(ChunkedDecoder, ResultRepeatsAfterDoneAndError) {
  ChunkedDecoder dec;
  std::string body;
  auto sink = [&](std::string_view d) { body.append(d); };
  ChunkedResult r = dec.feed(H("3\nabc\n0\n\n"), sink);
  ASSERT_EQ(r.status, ChunkedStatus::kDone);
  r = dec.feed("3\r\nxyz\r\n", sink);
  EXPECT_EQ(r.status, ChunkedStatus::kDone);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_EQ(body, "abc");

  dec.reset();
  EXPECT_EQ(dec.body_bytes(), 0u);
  r = dec.feed("zz\r\n", sink);
  ASSERT_EQ(r.status, ChunkedStatus::kError);
  EXPECT_EQ(r.error_status, 400);
  ChunkedResult again = dec.feed(H("3\nabc\n0\n\n"), sink);
  EXPECT_EQ(again.status, ChunkedStatus::kError);
  EXPECT_EQ(again.error_status, 400);
  EXPECT_EQ(again.reason, r.reason);
  EXPECT_EQ(again.consumed, 0u);
}

TEST(ChunkedDecoder, LargeBodyInManyChunksReassembles) {
  std::string raw;
  std::string expect;
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    size_t len = 1 + rng() % 700;
    std::string data(len, static_cast<char>('a' + i % 26));
    char size[32];
    std::snprintf(size, sizeof size, "%zx", len);
    raw += std::string(size) + (i % 3 == 0 ? ";ext=\"v\"" : "") + "\r\n" + data + "\r\n";
    expect += data;
  }
  raw += "0\r\nTrailer: x\r\n\r\n";
  ChunkedDecoder dec;
  std::string body;
  size_t begin = 0;
  ChunkedResult r;
  for (size_t end = 0; end <= raw.size(); end += 1 + rng() % 300) {
    r = dec.feed(std::string_view(raw).substr(begin, end - begin),
                 [&](std::string_view d) { body.append(d); });
    begin += r.consumed;
    if (r.status != ChunkedStatus::kNeedMore) break;
  }
  if (r.status == ChunkedStatus::kNeedMore) {
    r = dec.feed(std::string_view(raw).substr(begin),
                 [&](std::string_view d) { body.append(d); });
    begin += r.consumed;
  }
  EXPECT_EQ(r.status, ChunkedStatus::kDone);
  EXPECT_EQ(begin, raw.size());
  EXPECT_EQ(body, expect);
  EXPECT_EQ(dec.body_bytes(), expect.size());
}

TEST(ChunkedDecoder, AcceptsAConstSink) {
  ChunkedDecoder dec;
  size_t total = 0;
  const auto sink = [&total](std::string_view d) { total += d.size(); };
  ChunkedResult r = dec.feed(H("3\nabc\n0\n\n"), sink);
  EXPECT_EQ(r.status, ChunkedStatus::kDone);
  EXPECT_EQ(total, 3u);
}

// `size` bytes of address space of which only the first `readable` (whole
// pages) can be read: the rest is mapped with no access, so reading a
// single byte past `readable` kills the process. This counts the bytes a
// decoder looks at without timing anything.
class GuardedBytes {
 public:
  GuardedBytes(size_t readable, size_t size) : size_(size) {
    void* p = mmap(nullptr, size, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return;
    if (mprotect(p, readable, PROT_READ | PROT_WRITE) != 0) {
      munmap(p, size);
      return;
    }
    data_ = static_cast<char*>(p);
  }
  ~GuardedBytes() {
    if (data_ != nullptr) munmap(data_, size_);
  }
  GuardedBytes(const GuardedBytes&) = delete;
  GuardedBytes& operator=(const GuardedBytes&) = delete;

  char* data() { return data_; }
  std::string_view view() const { return {data_, size_}; }

 private:
  char* data_ = nullptr;
  size_t size_;
};

size_t page_size() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

// Feeds 64 MiB of which only the first `readable` bytes may be read (the
// rest would be scanned for an LF by a decoder that did not stop at its
// limit) and exits 0 if the result is a 400 at `want_consumed`. Run inside
// EXPECT_EXIT so that a read past the limit fails the test, not the binary.
void feed_guarded(GuardedBytes& buf, const ChunkedLimits& limits,
                  size_t want_consumed) {
  ChunkedDecoder dec(limits);
  ChunkedResult r = dec.feed(buf.view(), [](std::string_view) {});
  const bool ok = r.status == ChunkedStatus::kError && r.error_status == 400 &&
                  r.consumed == want_consumed;
  std::exit(ok ? 0 : 1);
}

constexpr size_t kHuge = 64u << 20;

// The test suite name ends in DeathTest so that gtest runs it first, while
// the process has one thread (EXPECT_EXIT forks).
TEST(ChunkedDecoderDeathTest, SizeLineWithoutLfReadsAtMostMaxChunkLine) {
  const size_t page = page_size();
  GuardedBytes buf(page, kHuge);
  ASSERT_NE(buf.data(), nullptr);
  std::memset(buf.data(), 'a', page);  // hex digits, and no LF
  ChunkedLimits limits;
  limits.max_chunk_line = page;
  EXPECT_EXIT(feed_guarded(buf, limits, 0), ::testing::ExitedWithCode(0), "");
}

TEST(ChunkedDecoderDeathTest, TrailerWithoutLfReadsAtMostMaxTrailerBytes) {
  const size_t page = page_size();
  GuardedBytes buf(2 * page, kHuge);
  ASSERT_NE(buf.data(), nullptr);
  const std::string head = H("5\nhello\n0\nA: b\n");
  const size_t after_last_chunk = H("5\nhello\n0\n").size();
  std::memcpy(buf.data(), head.data(), head.size());
  std::memset(buf.data() + head.size(), 'X', 2 * page - head.size());
  ChunkedLimits limits;
  // Trailer bytes are counted from the end of the last-chunk line, so the
  // second trailer line may run exactly to the end of the readable pages.
  limits.max_trailer_bytes = 2 * page - after_last_chunk;
  EXPECT_EXIT(feed_guarded(buf, limits, head.size()),
              ::testing::ExitedWithCode(0), "");
}

// The same inputs in ordinary memory: the results the guarded runs check.
TEST(ChunkedDecoder, HugeInputWithoutLfIsTheLimitError) {
  std::string raw(kHuge, 'a');
  ChunkedDecoder dec;
  ChunkedResult r = dec.feed(raw, [](std::string_view) {});
  EXPECT_EQ(r.status, ChunkedStatus::kError);
  EXPECT_EQ(r.error_status, 400);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_EQ(r.reason, "chunk size line too long");

  const std::string head = H("0\nA: b\n");
  std::memcpy(raw.data(), head.data(), head.size());
  std::memset(raw.data() + head.size(), 'X', raw.size() - head.size());
  dec.reset();
  r = dec.feed(raw, [](std::string_view) {});
  EXPECT_EQ(r.status, ChunkedStatus::kError);
  EXPECT_EQ(r.error_status, 400);
  EXPECT_EQ(r.consumed, head.size());
  EXPECT_EQ(r.reason, "trailer section too large");
}

}  // namespace
}  // namespace ringshard::http
