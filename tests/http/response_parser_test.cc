// Tests for http/response_parser.h: a table of raw response heads with the
// outcome each must have. Every case is parsed whole, split in two at every
// byte (first part, then the whole buffer again, the way a client re-presents
// bytes), grown one byte at a time, and grown in random-size steps (fixed
// seed); all must agree, error reasons included.
#include "http/response_parser.h"

#include <gtest/gtest.h>

#include "tests/http/wire_text.h"

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "http/chunked.h"

namespace ringshard::http {
namespace RS_UNITY_ID {

using namespace std::string_literals;

static_assert(static_cast<uint8_t>(ResponseBodyKind::kNone) ==
              static_cast<uint8_t>(BodyKind::kNone));
static_assert(static_cast<uint8_t>(ResponseBodyKind::kContentLength) ==
              static_cast<uint8_t>(BodyKind::kContentLength));
static_assert(static_cast<uint8_t>(ResponseBodyKind::kChunked) ==
              static_cast<uint8_t>(BodyKind::kChunked));

// "\n" -> "\r\n", for writing well-formed heads readably. Cases about bare
// LF or bare CR spell their bytes out instead.
using ringshard::http::test::H;

struct Want {
  ParseStatus status = ParseStatus::kComplete;
  std::optional<size_t> consumed;  // default: the whole input
  std::optional<int> minor, code;
  std::optional<std::string> reason;
  std::optional<bool> keep_alive, upgrade, coded;
  std::optional<ResponseBodyKind> body;
  std::optional<uint64_t> length;
  std::optional<size_t> headers;
  std::vector<std::pair<std::string, std::string>> fields;  // name -> value

  Want& v(int minor_version) { minor = minor_version; return *this; }
  Want& st(int status_code) { code = status_code; return *this; }
  Want& r(std::string v) { reason = std::move(v); return *this; }
  Want& ka(bool b) { keep_alive = b; return *this; }
  Want& up(bool b) { upgrade = b; return *this; }
  Want& te_coded(bool b) { coded = b; return *this; }
  Want& cl(uint64_t n) { body = ResponseBodyKind::kContentLength; length = n; return *this; }
  Want& chunked() { body = ResponseBodyKind::kChunked; return *this; }
  Want& until_close() { body = ResponseBodyKind::kUntilClose; return *this; }
  Want& no_body() { body = ResponseBodyKind::kNone; return *this; }
  Want& len(uint64_t n) { length = n; return *this; }
  Want& count(size_t n) { headers = n; return *this; }
  Want& used(size_t n) { consumed = n; return *this; }
  Want& field(std::string n, std::string val) {
    fields.emplace_back(std::move(n), std::move(val));
    return *this;
  }
};

Want ok() { return {}; }
Want err() {
  Want w;
  w.status = ParseStatus::kError;
  return w;
}
Want partial() {
  Want w;
  w.status = ParseStatus::kPartial;
  return w;
}

struct Case {
  std::string name;
  std::string raw;
  Want want;
  ResponseParserLimits limits = {};
  bool head_request = false;
};

Case head(Case c) {
  c.head_request = true;
  return c;
}

// Everything a parse produced, as plain values, so feeds can be compared.
struct Outcome {
  ParseStatus status = ParseStatus::kPartial;
  size_t consumed = 0;
  std::string reason;
  std::string summary;
  bool operator==(const Outcome&) const = default;
  friend void PrintTo(const Outcome& o, std::ostream* os) {
    *os << "{status " << static_cast<int>(o.status) << ", consumed "
        << o.consumed << ", reason '" << o.reason << "', " << o.summary << "}";
  }
};

std::string summarize(const ParsedResponse& r) {
  std::string s;
  auto add = [&](std::string_view v) {
    s.append(v);
    s += '|';
  };
  add(std::to_string(r.version_minor));
  add(std::to_string(r.status));
  add(r.reason);
  add(r.keep_alive ? "ka" : "close");
  add(r.upgrade ? "up" : "-");
  add(r.transfer_coded ? "coded" : "-");
  add(std::to_string(static_cast<int>(r.body_kind)));
  add(std::to_string(r.content_length));
  for (size_t i = 0; i < r.header_count; ++i) {
    add(r.headers[i].name);
    add(r.headers[i].value);
  }
  return s;
}

Outcome outcome(const ParseResult& res, const ParsedResponse& r) {
  Outcome o;
  o.status = res.status;
  if (res.status == ParseStatus::kComplete) {
    o.consumed = res.consumed;
    o.summary = summarize(r);
  }
  if (res.status == ParseStatus::kError) {
    EXPECT_FALSE(res.reason.empty());
    EXPECT_EQ(res.error_status, 502);
    EXPECT_EQ(res.consumed, 0u);
    o.reason = std::string(res.reason);
  }
  return o;
}

// Feeds growing prefixes ending at each of `cuts` (then the whole input).
// Stops at the first result that is not kPartial.
Outcome parse_growing(const Case& c, const std::vector<size_t>& cuts) {
  ResponseParser parser(c.limits);
  ParsedResponse r;
  for (size_t cut : cuts) {
    ParseResult res = parser.parse(std::string_view(c.raw).substr(0, cut), r,
                                   c.head_request);
    if (res.status != ParseStatus::kPartial) return outcome(res, r);
  }
  return outcome(parser.parse(c.raw, r, c.head_request), r);
}

const char* status_name(ParseStatus s) {
  switch (s) {
    case ParseStatus::kComplete: return "complete";
    case ParseStatus::kPartial: return "partial";
    case ParseStatus::kError: return "error";
  }
  return "?";
}

void check_fields(const Want& w, const ParsedResponse& r) {
  if (w.minor) {
    EXPECT_EQ(r.version_minor, *w.minor);
  }
  if (w.code) {
    EXPECT_EQ(r.status, *w.code);
  }
  if (w.reason) {
    EXPECT_EQ(r.reason, *w.reason);
  }
  if (w.keep_alive) {
    EXPECT_EQ(r.keep_alive, *w.keep_alive);
  }
  if (w.upgrade) {
    EXPECT_EQ(r.upgrade, *w.upgrade);
  }
  if (w.coded) {
    EXPECT_EQ(r.transfer_coded, *w.coded);
  }
  if (w.body) {
    EXPECT_EQ(static_cast<int>(r.body_kind), static_cast<int>(*w.body));
  }
  if (w.length) {
    EXPECT_EQ(r.content_length, *w.length);
  }
  if (w.headers) {
    EXPECT_EQ(r.header_count, *w.headers);
  }
  for (const auto& [name, value] : w.fields) {
    std::string_view got = r.header(name);
    EXPECT_NE(got.data(), nullptr) << "header " << name;
    EXPECT_EQ(got, value) << "header " << name;
  }
}

void run_case(const Case& c) {
  SCOPED_TRACE("case: " + c.name);
  ParsedResponse r;
  ResponseParser parser(c.limits);
  const Outcome whole = outcome(parser.parse(c.raw, r, c.head_request), r);
  ASSERT_EQ(whole.status, c.want.status)
      << "got " << status_name(whole.status) << " (" << whole.reason << ")";
  if (c.want.status == ParseStatus::kComplete) {
    EXPECT_EQ(whole.consumed, c.want.consumed.value_or(c.raw.size()));
    check_fields(c.want, r);
    auto inside = [&](std::string_view v) {
      return v.data() == nullptr ||
             (v.data() >= c.raw.data() &&
              v.data() + v.size() <= c.raw.data() + c.raw.size());
    };
    EXPECT_TRUE(inside(r.reason));
    for (size_t i = 0; i < r.header_count; ++i) {
      EXPECT_TRUE(inside(r.headers[i].name));
      EXPECT_TRUE(inside(r.headers[i].value));
    }
  }

  // The same outcome, reason included, whatever way the bytes arrive.
  for (size_t k = 0; k <= c.raw.size(); ++k) {
    EXPECT_EQ(parse_growing(c, {k}), whole) << "split at " << k;
  }
  std::vector<size_t> bytewise;
  for (size_t k = 0; k <= c.raw.size(); ++k) bytewise.push_back(k);
  EXPECT_EQ(parse_growing(c, bytewise), whole) << "one byte at a time";
  std::mt19937 rng(12345);
  for (int round = 0; round < 8; ++round) {
    std::vector<size_t> cuts;
    size_t at = 0;
    while (at < c.raw.size()) {
      at += 1 + rng() % 24;
      cuts.push_back(std::min(at, c.raw.size()));
    }
    EXPECT_EQ(parse_growing(c, cuts), whole) << "random chunks round " << round;
  }
}

const std::string kNginx = H(
    "HTTP/1.1 200 OK\n"
    "Server: nginx/1.22.1\n"
    "Date: Sat, 21 Nov 2026 06:54:53 GMT\n"
    "Content-Type: text/html\n"
    "Content-Length: 615\n"
    "Last-Modified: Tue, 11 Apr 2023 01:45:34 GMT\n"
    "Connection: keep-alive\n"
    "ETag: \"6434bbbe-267\"\n"
    "Accept-Ranges: bytes\n"
    "\n");

std::vector<Case> status_line_cases() {
  return {
      // Accepted status lines.
      {"200 OK", H("HTTP/1.1 200 OK\nContent-Length: 5\n\n"),
       ok().v(1).st(200).r("OK").ka(true).up(false).te_coded(false).cl(5).count(1)},
      {"HTTP/1.0", H("HTTP/1.0 200 OK\nContent-Length: 5\n\n"), ok().v(0).ka(false).cl(5)},
      {"reason with spaces", H("HTTP/1.1 404 Not Found\nContent-Length: 0\n\n"),
       ok().st(404).r("Not Found")},
      {"reason kept as sent, HTAB and trailing SP", H("HTTP/1.1 500 Oops\tsorry \nContent-Length: 0\n\n"),
       ok().st(500).r("Oops\tsorry ")},
      {"obs-text in reason", H("HTTP/1.1 200 \xc3\x89t\xc3\xa9\nContent-Length: 0\n\n"),
       ok().r("\xc3\x89t\xc3\xa9")},
      {"empty reason after SP", H("HTTP/1.1 200 \nContent-Length: 0\n\n"), ok().st(200).r("")},
      {"no SP and no reason", H("HTTP/1.1 200\nContent-Length: 0\n\n"), ok().st(200).r("")},
      {"reason that looks like a header", H("HTTP/1.1 200 X: y\nContent-Length: 0\n\n"), ok().r("X: y")},
      {"long reason takes the vector path", H("HTTP/1.1 418 I'm a teapot, short and stout, here is my handle\nContent-Length: 0\n\n"),
       ok().st(418).r("I'm a teapot, short and stout, here is my handle")},
      {"status 999", H("HTTP/1.1 999 Custom\nContent-Length: 0\n\n"), ok().st(999)},
      {"unknown status 299 frames like 200", H("HTTP/1.1 299 X\n\n"), ok().st(299).until_close()},
      {"head followed by a body is not consumed", H("HTTP/1.1 200 OK\nContent-Length: 5\n\nhello"),
       ok().cl(5).used(H("HTTP/1.1 200 OK\nContent-Length: 5\n\n").size())},
      {"head followed by the next response", H("HTTP/1.1 204 No Content\n\nHTTP/1.1 200 OK\n\n"),
       ok().st(204).used(H("HTTP/1.1 204 No Content\n\n").size())},
      {"head followed by a partial response", H("HTTP/1.1 100 Continue\n\nHTTP/1.1 2"),
       ok().st(100).used(H("HTTP/1.1 100 Continue\n\n").size())},

      // Refused status lines.
      {"lowercase http", H("http/1.1 200 OK\n\n"), err()},
      {"other protocol", H("ICY 200 OK\n\n"), err()},
      {"a request line", H("GET / HTTP/1.1\nHost: a\n\n"), err()},
      {"leading empty line", H("\nHTTP/1.1 200 OK\n\n"), err()},
      {"leading space", H(" HTTP/1.1 200 OK\n\n"), err()},
      {"not HTTP seen from the first byte", "X", err()},
      {"not HTTP seen at the fifth byte", "HTTPS", err()},
      {"HTTP/2.0 is unsupported", H("HTTP/2.0 200 OK\n\n"), err()},
      {"HTTP/1.2 is unsupported", H("HTTP/1.2 200 OK\n\n"), err()},
      {"HTTP/0.9 is unsupported", H("HTTP/0.9 200 OK\n\n"), err()},
      {"HTTP/2 is malformed", H("HTTP/2 200 OK\n\n"), err()},
      {"HTTP/1.10 is malformed", H("HTTP/1.10 200 OK\n\n"), err()},
      {"HTTP/ alone", H("HTTP/\n\n"), err()},
      {"version without status", H("HTTP/1.1\n\n"), err()},
      {"tab after version", H("HTTP/1.1\t200 OK\n\n"), err()},
      {"two spaces after version", H("HTTP/1.1  200 OK\n\n"), err()},
      {"two-digit status", H("HTTP/1.1 20 OK\n\n"), err()},
      {"four-digit status", H("HTTP/1.1 2000 OK\n\n"), err()},
      {"status 099", H("HTTP/1.1 099 OK\n\n"), err()},
      {"status 000", H("HTTP/1.1 000\n\n"), err()},
      {"signed status", H("HTTP/1.1 +20 OK\n\n"), err()},
      {"letters in status", H("HTTP/1.1 2x0 OK\n\n"), err()},
      {"reason glued to status", H("HTTP/1.1 200OK\n\n"), err()},
      {"tab between status and reason", H("HTTP/1.1 200\tOK\n\n"), err()},
      {"NUL in reason", "HTTP/1.1 200 O\0K\r\n\r\n"s, err()},
      {"DEL in reason", H("HTTP/1.1 200 O\x7fK\n\n"), err()},
      {"control char in reason", H("HTTP/1.1 200 O\x01K\n\n"), err()},
      {"ESC in a long reason", H("HTTP/1.1 200 0123456789abcdef0123\x1b" "456789\n\n"), err()},
      {"bare CR in reason", "HTTP/1.1 200 O\rK\r\n\r\n", err()},
      {"bare CR after status", "HTTP/1.1 200\rX\r\n\r\n", err()},
      {"bare LF after status line", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", err()},
      {"only LFs", "HTTP/1.1 200 OK\n\n", err()},
  };
}

std::vector<Case> header_cases() {
  return {
      // Accepted fields.
      {"nginx response", kNginx,
       ok().st(200).ka(true).cl(615).count(8).field("etag", "\"6434bbbe-267\"")
           .field("CONTENT-TYPE", "text/html")},
      {"OWS around value is trimmed", H("HTTP/1.1 200 OK\nX-A:  \t v a l \t \nContent-Length: 0\n\n"),
       ok().field("x-a", "v a l")},
      {"no space after colon", H("HTTP/1.1 200 OK\nContent-Length:12\n\n"), ok().cl(12)},
      {"empty value", H("HTTP/1.1 200 OK\nX-Empty:\nContent-Length: 0\n\n"), ok().field("x-empty", "")},
      {"HTAB inside value", H("HTTP/1.1 200 OK\nX: a\tb\nContent-Length: 0\n\n"), ok().field("x", "a\tb")},
      {"obs-text in value", H("HTTP/1.1 200 OK\nX: D\xc3\xbcsseldorf\xff\nContent-Length: 0\n\n"),
       ok().field("x", "D\xc3\xbcsseldorf\xff")},
      {"every token symbol in a name", H("HTTP/1.1 200 OK\n!#$%&'*+-.^_`|~09azAZ: v\nContent-Length: 0\n\n"),
       ok().field("!#$%&'*+-.^_`|~09azAZ", "v")},
      {"repeated Set-Cookie kept in order", H("HTTP/1.1 200 OK\nSet-Cookie: a=1\nSet-Cookie: b=2\nContent-Length: 0\n\n"),
       ok().count(3).field("set-cookie", "a=1")},
      {"framing names are case-insensitive", H("HTTP/1.1 200 OK\ncOnTeNt-LeNgTh: 9\n\n"), ok().cl(9)},

      // Refused fields.
      {"bare LF after a field", "HTTP/1.1 200 OK\r\nX: y\nContent-Length: 0\r\n\r\n", err()},
      {"final empty line is a bare LF", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n", err()},
      {"fields separated by CR", "HTTP/1.1 200 OK\r\nFoo: 1\rBar: 2\r\n\r\n", err()},
      {"CR then garbage before the end", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\rZ\r\n\r\n", err()},
      {"obs-fold with space", H("HTTP/1.1 200 OK\nX: abc\n def\n\n"), err()},
      {"obs-fold with tab", H("HTTP/1.1 200 OK\nX: abc\n\tdef\n\n"), err()},
      {"space before first field", H("HTTP/1.1 200 OK\n Content-Length: 0\n\n"), err()},
      {"space before colon", H("HTTP/1.1 200 OK\nContent-Length : 0\n\n"), err()},
      {"tab before colon", H("HTTP/1.1 200 OK\nContent-Length\t: 0\n\n"), err()},
      {"line without colon", H("HTTP/1.1 200 OK\nNoColon\n\n"), err()},
      {"empty name", H("HTTP/1.1 200 OK\n: v\n\n"), err()},
      {"@ in name", H("HTTP/1.1 200 OK\nFo@: v\n\n"), err()},
      {"UTF-8 in name", H("HTTP/1.1 200 OK\nX\xc3\xa9: v\n\n"), err()},
      {"NUL in value", "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n"s, err()},
      {"DEL in value", H("HTTP/1.1 200 OK\nX: a\x7f\n\n"), err()},
      {"control char in value", H("HTTP/1.1 200 OK\nX: a\x01z\n\n"), err()},
      {"ESC in a long value", H("HTTP/1.1 200 OK\nX: 0123456789abcdef0123456789\x1b" "abcdef\n\n"), err()},
  };
}

std::vector<Case> framing_cases() {
  return {
      // Content-Length.
      {"Content-Length 0", H("HTTP/1.1 200 OK\nContent-Length: 0\n\n"), ok().cl(0)},
      {"Content-Length with leading zeros", H("HTTP/1.1 200 OK\nContent-Length: 007\n\n"), ok().cl(7)},
      {"largest Content-Length", H("HTTP/1.1 200 OK\nContent-Length: 18446744073709551615\n\n"),
       ok().cl(18446744073709551615u)},
      {"empty Content-Length", H("HTTP/1.1 200 OK\nContent-Length:\n\n"), err()},
      {"Content-Length with plus sign", H("HTTP/1.1 200 OK\nContent-Length: +5\n\n"), err()},
      {"negative Content-Length", H("HTTP/1.1 200 OK\nContent-Length: -5\n\n"), err()},
      {"Content-Length list", H("HTTP/1.1 200 OK\nContent-Length: 5, 5\n\n"), err()},
      {"Content-Length list without space", H("HTTP/1.1 200 OK\nContent-Length: 5,5\n\n"), err()},
      {"Content-Length with letters", H("HTTP/1.1 200 OK\nContent-Length: 5a\n\n"), err()},
      {"hex Content-Length", H("HTTP/1.1 200 OK\nContent-Length: 0x5\n\n"), err()},
      {"space inside Content-Length", H("HTTP/1.1 200 OK\nContent-Length: 1 2\n\n"), err()},
      {"Content-Length overflow", H("HTTP/1.1 200 OK\nContent-Length: 18446744073709551616\n\n"), err()},
      {"identical Content-Length twice", H("HTTP/1.1 200 OK\nContent-Length: 5\nContent-Length: 5\n\n"), err()},
      {"differing Content-Length", H("HTTP/1.1 200 OK\nContent-Length: 5\ncontent-length: 6\n\n"), err()},

      // Transfer-Encoding.
      {"chunked", H("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n"),
       ok().chunked().ka(true).te_coded(false).len(0)},
      {"chunked in mixed case", H("HTTP/1.1 200 OK\nTransfer-Encoding: ChUnKeD\n\n"), ok().chunked()},
      {"gzip, chunked", H("HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked\n\n"),
       ok().chunked().te_coded(true)},
      {"codings over two fields", H("HTTP/1.1 200 OK\nTransfer-Encoding: gzip\nTransfer-Encoding: chunked\n\n"),
       ok().chunked().te_coded(true)},
      {"coding with parameters before chunked", H("HTTP/1.1 200 OK\nTransfer-Encoding: x;a=b;c=\"d,e\", chunked\n\n"),
       ok().chunked().te_coded(true)},
      {"empty list elements", H("HTTP/1.1 200 OK\nTransfer-Encoding: , chunked ,\n\n"), ok().chunked()},
      {"gzip alone", H("HTTP/1.1 200 OK\nTransfer-Encoding: gzip\n\n"), err()},
      {"identity alone", H("HTTP/1.1 200 OK\nTransfer-Encoding: identity\n\n"), err()},
      {"chunked, gzip", H("HTTP/1.1 200 OK\nTransfer-Encoding: chunked, gzip\n\n"), err()},
      {"chunked then gzip in two fields", H("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nTransfer-Encoding: gzip\n\n"), err()},
      {"chunked twice", H("HTTP/1.1 200 OK\nTransfer-Encoding: chunked, chunked\n\n"), err()},
      {"chunked in two fields", H("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nTransfer-Encoding: chunked\n\n"), err()},
      {"empty Transfer-Encoding", H("HTTP/1.1 200 OK\nTransfer-Encoding:\n\n"), err()},
      {"Transfer-Encoding of only commas", H("HTTP/1.1 200 OK\nTransfer-Encoding: , ,\n\n"), err()},
      {"codings separated by space", H("HTTP/1.1 200 OK\nTransfer-Encoding: gzip chunked\n\n"), err()},
      {"chunked with a parameter", H("HTTP/1.1 200 OK\nTransfer-Encoding: chunked;q=1\n\n"), err()},
      {"unterminated quoted parameter", H("HTTP/1.1 200 OK\nTransfer-Encoding: x;a=\"b, chunked\n\n"), err()},
      {"non-token coding", H("HTTP/1.1 200 OK\nTransfer-Encoding: chu@nked\n\n"), err()},
      {"Transfer-Encoding in HTTP/1.0", H("HTTP/1.0 200 OK\nTransfer-Encoding: chunked\n\n"), err()},
      {"Content-Length then Transfer-Encoding", H("HTTP/1.1 200 OK\nContent-Length: 5\nTransfer-Encoding: chunked\n\n"), err()},
      {"Transfer-Encoding then Content-Length", H("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nContent-Length: 5\n\n"), err()},
      {"Transfer-Encoding folded", H("HTTP/1.1 200 OK\nTransfer-Encoding: gzip,\n chunked\n\n"), err()},

      // Close-delimited.
      {"neither header: until close", H("HTTP/1.1 200 OK\nServer: x\n\n"),
       ok().until_close().ka(false).len(0)},
      {"until close even with keep-alive", H("HTTP/1.0 200 OK\nConnection: keep-alive\n\n"),
       ok().until_close().ka(false)},
      {"404 without framing: until close", H("HTTP/1.1 404 Not Found\n\n"), ok().until_close()},

      // Responses without a body, whatever the headers say.
      {"204", H("HTTP/1.1 204 No Content\n\n"), ok().st(204).no_body().ka(true)},
      {"204 with Content-Length 0", H("HTTP/1.1 204 No Content\nContent-Length: 0\n\n"), ok().no_body()},
      {"304 with Content-Length", H("HTTP/1.1 304 Not Modified\nContent-Length: 1234\n\n"),
       ok().no_body().len(1234).ka(true)},
      {"304 with chunked", H("HTTP/1.1 304 Not Modified\nTransfer-Encoding: chunked\n\n"), ok().no_body()},
      {"100 Continue", H("HTTP/1.1 100 Continue\n\n"), ok().st(100).no_body()},
      {"103 Early Hints", H("HTTP/1.1 103 Early Hints\nLink: </s.css>; rel=preload\n\n"),
       ok().st(103).no_body().field("link", "</s.css>; rel=preload")},
      {"199", H("HTTP/1.1 199 X\nContent-Length: 10\n\n"), ok().no_body().len(10)},
      {"101 Switching Protocols", H("HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n\n"),
       ok().st(101).no_body().up(true)},
      {"205 frames like any other", H("HTTP/1.1 205 Reset Content\nContent-Length: 0\n\n"), ok().cl(0)},
      {"bad Content-Length in 304 still refused", H("HTTP/1.1 304 Not Modified\nContent-Length: -1\n\n"), err()},
      {"Content-Length with Transfer-Encoding in 204 still refused",
       H("HTTP/1.1 204 No Content\nContent-Length: 0\nTransfer-Encoding: chunked\n\n"), err()},
      {"Transfer-Encoding in HTTP/1.0 304 still refused", H("HTTP/1.0 304 Not Modified\nTransfer-Encoding: chunked\n\n"), err()},
      head({"HEAD with Content-Length", H("HTTP/1.1 200 OK\nContent-Length: 615\n\n"),
            ok().no_body().len(615).ka(true)}),
      head({"HEAD with chunked", H("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n"), ok().no_body()}),
      head({"HEAD without framing keeps alive", H("HTTP/1.1 200 OK\n\n"), ok().no_body().ka(true)}),
      head({"HEAD 404", H("HTTP/1.1 404 Not Found\nContent-Length: 9\n\n"), ok().no_body().len(9)}),
      head({"HEAD with malformed Transfer-Encoding still refused", H("HTTP/1.1 200 OK\nTransfer-Encoding: gzip\n\n"), err()}),

      // Connection.
      {"HTTP/1.1 keeps alive by default", H("HTTP/1.1 200 OK\nContent-Length: 0\n\n"), ok().ka(true)},
      {"HTTP/1.1 close", H("HTTP/1.1 200 OK\nConnection: close\nContent-Length: 0\n\n"), ok().ka(false)},
      {"HTTP/1.1 Close mixed case", H("HTTP/1.1 200 OK\nConnection: CLOSE\nContent-Length: 0\n\n"), ok().ka(false)},
      {"HTTP/1.0 closes by default", H("HTTP/1.0 200 OK\nContent-Length: 0\n\n"), ok().ka(false)},
      {"HTTP/1.0 keep-alive", H("HTTP/1.0 200 OK\nConnection: Keep-Alive\nContent-Length: 0\n\n"), ok().ka(true)},
      {"close wins over keep-alive", H("HTTP/1.0 200 OK\nConnection: keep-alive, close\nContent-Length: 0\n\n"), ok().ka(false)},
      {"Connection fields combine", H("HTTP/1.1 200 OK\nConnection: keep-alive\nConnection: close\nContent-Length: 0\n\n"), ok().ka(false)},
      {"close as a substring is not close", H("HTTP/1.1 200 OK\nConnection: closed\nContent-Length: 0\n\n"), ok().ka(true)},
      {"Connection token list with empty elements", H("HTTP/1.1 200 OK\nConnection: x, , Upgrade ,close\nContent-Length: 0\n\n"),
       ok().ka(false).up(true)},
  };
}

ResponseParserLimits small_limits() {
  ResponseParserLimits l;
  l.max_head_bytes = 64;
  l.max_headers = 3;
  return l;
}

std::vector<Case> limit_and_partial_cases() {
  const ResponseParserLimits small = small_limits();
  std::string head64 = H("HTTP/1.1 200 OK\nContent-Length: 0\nX: ");  // 39 bytes
  head64 += std::string(64 - head64.size() - 4, 'v') + "\r\n\r\n";
  return {
      {"head of exactly max_head_bytes", head64, ok(), small},
      {"head one byte over max_head_bytes", head64.substr(0, 40) + "v" + head64.substr(40), err(), small},
      {"never-ending head", H("HTTP/1.1 200 OK\nX: ") + std::string(80, 'v'), err(), small},
      {"bare LF wins over the size limit when it comes first", "HTTP/1.1 200 OK\nX: " + std::string(80, 'v'), err(), small},
      {"exactly max_headers fields", H("HTTP/1.1 200 OK\nA: a\nB: b\nC: c\n\n"), ok().count(3), small},
      {"one field over max_headers", H("HTTP/1.1 200 OK\nA: a\nB: b\nC: c\nD: d\n\n"), err(), small},

      {"empty input", "", partial()},
      {"H", "H", partial()},
      {"HTTP/", "HTTP/", partial()},
      {"status line without CRLF", "HTTP/1.1 200 OK", partial()},
      {"status line only", "HTTP/1.1 200 OK\r\n", partial()},
      {"one field, no blank line", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", partial()},
      {"blank line missing its LF", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r", partial()},
      {"half a field", "HTTP/1.1 200 OK\r\nContent-Len", partial()},
      {"garbage after the prefix waits for the head", "HTTP/garbage", partial()},
  };
}

TEST(ResponseParserTable, StatusLine) {
  for (const Case& c : status_line_cases()) run_case(c);
}

TEST(ResponseParserTable, HeaderFields) {
  for (const Case& c : header_cases()) run_case(c);
}

TEST(ResponseParserTable, FramingAndConnection) {
  for (const Case& c : framing_cases()) run_case(c);
}

TEST(ResponseParserTable, LimitsAndPartialInput) {
  for (const Case& c : limit_and_partial_cases()) run_case(c);
}

TEST(ResponseParserTable, HasEnoughCases) {
  size_t n = status_line_cases().size() + header_cases().size() +
             framing_cases().size() + limit_and_partial_cases().size();
  EXPECT_GE(n, 150u);
}

// Skips the body that `r` announces at the front of `rest`; returns false if
// it is not all there.
bool skip_body(const ParsedResponse& r, std::string_view& rest) {
  switch (r.body_kind) {
    case ResponseBodyKind::kNone:
      return true;
    case ResponseBodyKind::kContentLength:
      if (rest.size() < r.content_length) return false;
      rest.remove_prefix(r.content_length);
      return true;
    case ResponseBodyKind::kChunked: {
      ChunkedDecoder dec;
      ChunkedResult res = dec.feed(rest, [](std::string_view) {});
      if (res.status != ChunkedStatus::kDone) return false;
      rest.remove_prefix(res.consumed);
      return true;
    }
    case ResponseBodyKind::kUntilClose:
      rest = {};
      return true;
  }
  return false;
}

TEST(ResponseParser, PipelinedResponsesParseOneAfterAnother) {
  struct Step {
    std::string head;
    std::string body;
    bool head_request;
    int status;
  };
  const std::vector<Step> steps = {
      {H("HTTP/1.1 100 Continue\nX-Interim: 1\n\n"), "", false, 100},
      {H("HTTP/1.1 200 OK\nContent-Length: 5\n\n"), "hello", false, 200},
      {H("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n"), "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", false, 200},
      {H("HTTP/1.1 204 No Content\nContent-Length: 0\n\n"), "", false, 204},
      {H("HTTP/1.1 200 OK\nContent-Length: 99\n\n"), "", true, 200},
      {H("HTTP/1.1 304 Not Modified\nTransfer-Encoding: chunked\n\n"), "", false, 304},
      {H("HTTP/1.1 404 Not Found\nContent-Length: 0\n\n"), "", false, 404},
      {H("HTTP/1.1 200 OK\nConnection: close\n\n"), "until the end", false, 200},
  };
  std::string buf;
  for (const Step& s : steps) buf += s.head + s.body;

  ResponseParser parser;
  ParsedResponse res;
  std::string_view rest = buf;
  for (const Step& s : steps) {
    SCOPED_TRACE(s.head);
    ParseResult r = parser.parse(rest, res, s.head_request);
    ASSERT_EQ(r.status, ParseStatus::kComplete);
    EXPECT_EQ(r.consumed, s.head.size());
    EXPECT_EQ(res.status, s.status);
    // Views point into this head, not into an earlier one.
    EXPECT_EQ(res.reason.data(), rest.data() + 13);  // "HTTP/1.1 NNN "
    EXPECT_EQ(res.headers[0].name.data(), rest.data() + s.head.find('\n') + 1);
    rest.remove_prefix(r.consumed);
    ASSERT_TRUE(skip_body(res, rest));
  }
  EXPECT_TRUE(rest.empty());
}

TEST(ResponseParser, PipelinedResponsesArrivingInPieces) {
  const std::string buf =
      H("HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nContent-Length: 0\n\n"
        "HTTP/1.1 201 Created\nContent-Length: 0\n\n");
  ResponseParser parser;
  ParsedResponse res;
  std::vector<int> statuses;
  size_t begin = 0;
  for (size_t end = 1; end <= buf.size(); ++end) {
    ParseResult r = parser.parse(std::string_view(buf).substr(begin, end - begin), res);
    ASSERT_NE(r.status, ParseStatus::kError) << r.reason;
    if (r.status == ParseStatus::kComplete) {
      statuses.push_back(res.status);
      begin += r.consumed;
    }
  }
  EXPECT_EQ(statuses, (std::vector<int>{100, 200, 201}));
  EXPECT_EQ(begin, buf.size());
}

TEST(ResponseParser, ParsingAgainAfterCompleteGivesTheSameResult) {
  ResponseParser parser;
  ParsedResponse a;
  ParsedResponse b;
  ParseResult r1 = parser.parse(kNginx, a);
  ParseResult r2 = parser.parse(kNginx, b);  // no reset(): state is already clean
  ASSERT_EQ(r1.status, ParseStatus::kComplete);
  ASSERT_EQ(r2.status, ParseStatus::kComplete);
  EXPECT_EQ(r1.consumed, r2.consumed);
  EXPECT_EQ(summarize(a), summarize(b));
}

TEST(ResponseParser, PresentingFewerBytesThanBeforeStartsOver) {
  // A contract breach by the caller, but it must not read outside `data`.
  const std::string buf = H("HTTP/1.1 200 OK\nContent-Length: 3\n\n");
  ResponseParser parser;
  ParsedResponse res;
  EXPECT_EQ(parser.parse(std::string_view(buf).substr(0, 20), res).status,
            ParseStatus::kPartial);
  EXPECT_EQ(parser.parse(std::string_view(buf).substr(0, 3), res).status,
            ParseStatus::kPartial);
  ParseResult r = parser.parse(buf, res);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(res.content_length, 3u);
}

TEST(ResponseParser, ResetStartsANewHead) {
  ResponseParser parser;
  ParsedResponse res;
  EXPECT_EQ(parser.parse("HTTP/1.1 200 OK\r\nX: 1", res).status, ParseStatus::kPartial);
  parser.reset();
  ParseResult r = parser.parse(H("HTTP/1.1 204 No Content\n\n"), res);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(res.status, 204);
}

TEST(ResponseParser, HeadRequestFlagCountsOnlyWhenTheHeadCompletes) {
  const std::string buf = H("HTTP/1.1 200 OK\nContent-Length: 10\n\n");
  ResponseParser parser;
  ParsedResponse res;
  EXPECT_EQ(parser.parse(std::string_view(buf).substr(0, 20), res, false).status,
            ParseStatus::kPartial);
  ASSERT_EQ(parser.parse(buf, res, true).status, ParseStatus::kComplete);
  EXPECT_EQ(res.body_kind, ResponseBodyKind::kNone);
  ASSERT_EQ(parser.parse(buf, res, false).status, ParseStatus::kComplete);
  EXPECT_EQ(res.body_kind, ResponseBodyKind::kContentLength);
}

TEST(ResponseParser, HeaderLookupIsCaseInsensitive) {
  const std::string buf = H("HTTP/1.1 200 OK\nX-Thing: one\nx-thing: two\nEmpty:\nContent-Length: 0\n\n");
  ResponseParser parser;
  ParsedResponse res;
  ASSERT_EQ(parser.parse(buf, res).status, ParseStatus::kComplete);
  EXPECT_EQ(res.header("X-THING"), "one");  // the first of repeated fields
  EXPECT_NE(res.header("empty").data(), nullptr);
  EXPECT_EQ(res.header("empty"), "");
  EXPECT_EQ(res.header("missing").data(), nullptr);
  EXPECT_EQ(res.header("X-Thin").data(), nullptr);
  EXPECT_EQ(res.headers[0].name, "X-Thing");  // case preserved
}

TEST(ResponseParser, WhichResponsesHaveNoBody) {
  EXPECT_TRUE(response_has_no_body(100, false));
  EXPECT_TRUE(response_has_no_body(101, false));
  EXPECT_TRUE(response_has_no_body(199, false));
  EXPECT_FALSE(response_has_no_body(200, false));
  EXPECT_TRUE(response_has_no_body(200, true));
  EXPECT_TRUE(response_has_no_body(204, false));
  EXPECT_FALSE(response_has_no_body(205, false));
  EXPECT_TRUE(response_has_no_body(304, false));
  EXPECT_FALSE(response_has_no_body(404, false));
  EXPECT_TRUE(response_has_no_body(500, true));
}

std::string head_of_size(size_t size, size_t value_len = 1000) {
  return ringshard::http::test::head_of_size(H("HTTP/1.1 200 OK\nContent-Length: 0\n"), size, value_len);
}

TEST(ResponseParser, HeadOfExactly64KiBCompletesFedByteByByte) {
  const std::string head = head_of_size(64 * 1024);
  ASSERT_EQ(head.size(), 64u * 1024);
  ResponseParser parser;
  ParsedResponse res;
  size_t calls = 0;
  ParseResult r;
  for (size_t n = 1; n <= head.size(); ++n) {
    r = parser.parse(std::string_view(head).substr(0, n), res);
    ++calls;
    if (r.status != ParseStatus::kPartial) break;
  }
  EXPECT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, head.size());
  EXPECT_EQ(calls, head.size());
}

TEST(ResponseParser, HeadOf64KiBPlusOneIsRefusedAsSoonAsItIsBuffered) {
  const std::string head = head_of_size(64 * 1024 + 1);
  ASSERT_EQ(head.size(), 64u * 1024 + 1);
  {
    ResponseParser parser;
    ParsedResponse res;
    ParseResult r = parser.parse(head, res);
    EXPECT_EQ(r.status, ParseStatus::kError);
    EXPECT_EQ(r.reason, "response head too large");
  }
  ResponseParser parser;
  ParsedResponse res;
  ParseResult r;
  size_t n = 1;
  for (; n <= head.size(); ++n) {
    r = parser.parse(std::string_view(head).substr(0, n), res);
    if (r.status != ParseStatus::kPartial) break;
  }
  EXPECT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(n, 64u * 1024 + 1);
}

// With a quadratic rescan this would take minutes: 2^20 calls, each
// re-reading up to 2^20 bytes. Linear scanning takes well under a second.
TEST(ResponseParser, MegabyteHeadFedByteByByteScansLinearly) {
  ResponseParserLimits limits;
  limits.max_head_bytes = 1 << 20;
  limits.max_headers = kMaxHeadersCeiling;
  const std::string head = head_of_size(1 << 20, 8000);
  ResponseParser parser(limits);
  ParsedResponse res;
  ParseResult r;
  size_t calls = 0;
  for (size_t n = 1; n <= head.size(); ++n) {
    r = parser.parse(std::string_view(head).substr(0, n), res);
    ++calls;
    if (r.status != ParseStatus::kPartial) break;
  }
  EXPECT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(calls, head.size());
}

TEST(ResponseParser, HeaderCountIsClampedToTheCeiling) {
  ResponseParserLimits limits;
  limits.max_headers = 100000;
  limits.max_head_bytes = 1 << 20;
  std::string head = H("HTTP/1.1 200 OK\n");
  for (size_t i = 0; i < kMaxHeadersCeiling; ++i) head += "X: y\r\n";
  ResponseParser parser(limits);
  ParsedResponse res;
  ParseResult r = parser.parse(head + "\r\n", res);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(res.header_count, kMaxHeadersCeiling);
  r = parser.parse(head + "X: y\r\n\r\n", res);
  EXPECT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.reason, "too many header fields");
}

TEST(ResponseParser, DefaultLimitIs100Headers) {
  std::string head = H("HTTP/1.1 200 OK\n");
  for (size_t i = 0; i < 100; ++i) head += "X: y\r\n";
  ResponseParser parser;
  ParsedResponse res;
  ASSERT_EQ(parser.parse(head + "\r\n", res).status, ParseStatus::kComplete);
  EXPECT_EQ(res.header_count, 100u);
  EXPECT_EQ(parser.parse(head + "X: y\r\n\r\n", res).status, ParseStatus::kError);
}

TEST(ResponseParser, ErrorsCarryAReasonAndA502) {
  ResponseParser parser;
  ParsedResponse res;
  ParseResult r = parser.parse(
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", res);
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.reason, "Content-Length with Transfer-Encoding");
  EXPECT_EQ(r.error_status, 502);
  EXPECT_EQ(r.consumed, 0u);
  r = parser.parse("SSH-2.0-OpenSSH_9.2\r\n", res);
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.reason, "not an HTTP/1.x response");
}

}  // namespace
}  // namespace ringshard::http
