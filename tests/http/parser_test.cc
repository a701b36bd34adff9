// Tests for http/parser.h: a table of raw request heads with the outcome each
// must have. Every case is parsed whole, split in two at every byte (first
// part, then the whole buffer again, the way the driver re-presents bytes),
// grown one byte at a time, and grown in random-size steps; all must agree.
#include "http/parser.h"

#include <gtest/gtest.h>

#include "tests/http/wire_text.h"

#include <optional>
#include <random>
#include <string>
#include <vector>

namespace ringshard::http {
namespace RS_UNITY_ID {

using namespace std::string_literals;

// "\n" -> "\r\n", for writing well-formed heads readably. Cases about bare
// LF or bare CR spell their bytes out instead.
using ringshard::http::test::H;

struct Want {
  ParseStatus status = ParseStatus::kComplete;
  uint16_t code = 0;
  std::optional<size_t> consumed;  // default: the whole input
  std::optional<Method> method;
  std::optional<std::string> method_text, target, path, query, host;
  std::optional<int> minor;
  std::optional<bool> keep_alive, upgrade, expect_continue;
  std::optional<BodyKind> body;
  std::optional<uint64_t> length;
  std::optional<size_t> headers;
  std::vector<std::pair<std::string, std::string>> fields;  // name -> value

  Want& m(Method v) { method = v; return *this; }
  Want& mt(std::string v) { method_text = std::move(v); return *this; }
  Want& t(std::string v) { target = std::move(v); return *this; }
  Want& p(std::string v) { path = std::move(v); return *this; }
  Want& q(std::string v) { query = std::move(v); return *this; }
  Want& h(std::string v) { host = std::move(v); return *this; }
  Want& v(int minor_version) { minor = minor_version; return *this; }
  Want& ka(bool b) { keep_alive = b; return *this; }
  Want& up(bool b) { upgrade = b; return *this; }
  Want& ex(bool b) { expect_continue = b; return *this; }
  Want& cl(uint64_t n) { body = BodyKind::kContentLength; length = n; return *this; }
  Want& chunked() { body = BodyKind::kChunked; return *this; }
  Want& no_body() { body = BodyKind::kNone; return *this; }
  Want& count(size_t n) { headers = n; return *this; }
  Want& used(size_t n) { consumed = n; return *this; }
  Want& field(std::string n, std::string val) {
    fields.emplace_back(std::move(n), std::move(val));
    return *this;
  }
};

Want ok() { return {}; }
Want err(uint16_t code) {
  Want w;
  w.status = ParseStatus::kError;
  w.code = code;
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
  ParserLimits limits = {};
};

// Everything a parse produced, as plain values, so feeds can be compared.
struct Outcome {
  ParseStatus status = ParseStatus::kPartial;
  uint16_t code = 0;
  size_t consumed = 0;
  std::string summary;
  bool operator==(const Outcome&) const = default;
  friend void PrintTo(const Outcome& o, std::ostream* os) {
    *os << "{status " << static_cast<int>(o.status) << ", code " << o.code
        << ", consumed " << o.consumed << ", " << o.summary << "}";
  }
};

std::string summarize(const Request& r) {
  std::string s;
  auto add = [&](std::string_view v) {
    s.append(v);
    s += '|';
  };
  add(r.method_text);
  add(std::to_string(static_cast<int>(r.method)));
  add(r.target);
  add(r.path);
  add(r.query);
  add(r.host);
  add(std::to_string(r.version_minor));
  add(r.keep_alive ? "ka" : "close");
  add(r.upgrade ? "up" : "-");
  add(r.expect_continue ? "100" : "-");
  add(std::to_string(static_cast<int>(r.body_kind)));
  add(std::to_string(r.content_length));
  for (size_t i = 0; i < r.header_count; ++i) {
    add(r.headers[i].name);
    add(r.headers[i].value);
  }
  return s;
}

Outcome outcome(const ParseResult& res, const Request& r) {
  Outcome o;
  o.status = res.status;
  if (res.status == ParseStatus::kError) o.code = res.error_status;
  if (res.status == ParseStatus::kComplete) {
    o.consumed = res.consumed;
    o.summary = summarize(r);
  }
  if (res.status == ParseStatus::kError) {
    EXPECT_FALSE(res.reason.empty());
  }
  return o;
}

Outcome parse_whole(const Case& c, Request& r) {
  RequestParser parser(c.limits);
  return outcome(parser.parse(c.raw, r), r);
}

// Feeds growing prefixes ending at each of `cuts` (then the whole input).
// Stops at the first result that is not kPartial.
Outcome parse_growing(const Case& c, const std::vector<size_t>& cuts) {
  RequestParser parser(c.limits);
  Request r;
  for (size_t cut : cuts) {
    ParseResult res = parser.parse(std::string_view(c.raw).substr(0, cut), r);
    if (res.status != ParseStatus::kPartial) return outcome(res, r);
  }
  return outcome(parser.parse(c.raw, r), r);
}

const char* status_name(ParseStatus s) {
  switch (s) {
    case ParseStatus::kComplete: return "complete";
    case ParseStatus::kPartial: return "partial";
    case ParseStatus::kError: return "error";
  }
  return "?";
}

void check_fields(const Want& w, const Request& r) {
  if (w.method) {
    EXPECT_EQ(r.method, *w.method);
  }
  if (w.method_text) {
    EXPECT_EQ(r.method_text, *w.method_text);
  }
  if (w.target) {
    EXPECT_EQ(r.target, *w.target);
  }
  if (w.path) {
    EXPECT_EQ(r.path, *w.path);
  }
  if (w.query) {
    EXPECT_EQ(r.query, *w.query);
  }
  if (w.host) {
    EXPECT_EQ(r.host, *w.host);
  }
  if (w.minor) {
    EXPECT_EQ(r.version_minor, *w.minor);
  }
  if (w.keep_alive) {
    EXPECT_EQ(r.keep_alive, *w.keep_alive);
  }
  if (w.upgrade) {
    EXPECT_EQ(r.upgrade, *w.upgrade);
  }
  if (w.expect_continue) {
    EXPECT_EQ(r.expect_continue, *w.expect_continue);
  }
  if (w.body) {
    EXPECT_EQ(r.body_kind, *w.body);
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
  Request r;
  const Outcome whole = parse_whole(c, r);
  ASSERT_EQ(whole.status, c.want.status)
      << "got " << status_name(whole.status) << " code " << whole.code;
  if (c.want.status == ParseStatus::kError) {
    EXPECT_EQ(whole.code, c.want.code);
  }
  if (c.want.status == ParseStatus::kComplete) {
    EXPECT_EQ(whole.consumed, c.want.consumed.value_or(c.raw.size()));
    check_fields(c.want, r);
    // Every view points into the input.
    auto inside = [&](std::string_view v) {
      return v.data() == nullptr ||
             (v.data() >= c.raw.data() &&
              v.data() + v.size() <= c.raw.data() + c.raw.size());
    };
    EXPECT_TRUE(inside(r.method_text));
    EXPECT_TRUE(inside(r.target));
    EXPECT_TRUE(inside(r.query));
    EXPECT_TRUE(inside(r.host));
    EXPECT_TRUE(inside(r.path) || r.path == "/");
    for (size_t i = 0; i < r.header_count; ++i) {
      EXPECT_TRUE(inside(r.headers[i].name));
      EXPECT_TRUE(inside(r.headers[i].value));
    }
  }

  // The same outcome whatever way the bytes arrive. An error may show up
  // before the whole input is there, but always with the same status.
  auto same = [&](const Outcome& got, const std::string& how) {
    if (c.want.status == ParseStatus::kError) {
      EXPECT_EQ(got.status, ParseStatus::kError) << how;
      EXPECT_EQ(got.code, whole.code) << how;
    } else {
      EXPECT_EQ(got, whole) << how;
    }
  };
  for (size_t k = 0; k <= c.raw.size(); ++k) {
    same(parse_growing(c, {k}), "split at " + std::to_string(k));
  }
  std::vector<size_t> bytewise;
  for (size_t k = 0; k <= c.raw.size(); ++k) bytewise.push_back(k);
  same(parse_growing(c, bytewise), "one byte at a time");
  std::mt19937 rng(12345);
  for (int round = 0; round < 8; ++round) {
    std::vector<size_t> cuts;
    size_t at = 0;
    while (at < c.raw.size()) {
      at += 1 + rng() % 24;
      cuts.push_back(std::min(at, c.raw.size()));
    }
    same(parse_growing(c, cuts), "random chunks round " + std::to_string(round));
  }
}

const std::string kFirefox = H(
    "GET /favicon.ico HTTP/1.1\n"
    "Host: 0.0.0.0=5000\n"
    "User-Agent: Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.9) Gecko/2008061015 Firefox/3.0\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\n"
    "Accept-Language: en-us,en;q=0.5\n"
    "Accept-Encoding: gzip,deflate\n"
    "Accept-Charset: ISO-8859-1,utf-8;q=0.7,*;q=0.7\n"
    "Keep-Alive: 300\n"
    "Connection: keep-alive\n"
    "\n");

std::vector<Case> request_line_cases() {
  return {
      // Accepted request lines.
      {"simple GET", H("GET / HTTP/1.1\nHost: a\n\n"),
       ok().m(Method::kGet).mt("GET").t("/").p("/").q("").h("a").v(1).ka(true)
           .no_body().count(1)},
      {"HEAD", H("HEAD /url HTTP/1.1\nHost: a\n\n"), ok().m(Method::kHead).p("/url")},
      {"POST", H("POST /p HTTP/1.1\nHost: a\n\n"), ok().m(Method::kPost)},
      {"PUT", H("PUT /p HTTP/1.1\nHost: a\n\n"), ok().m(Method::kPut)},
      {"DELETE", H("DELETE /p HTTP/1.1\nHost: a\n\n"), ok().m(Method::kDelete)},
      {"PATCH", H("PATCH /p HTTP/1.1\nHost: a\n\n"), ok().m(Method::kPatch)},
      {"OPTIONS", H("OPTIONS /url HTTP/1.1\nHost: a\n\n"), ok().m(Method::kOptions)},
      {"TRACE", H("TRACE /p HTTP/1.1\nHost: a\n\n"), ok().m(Method::kTrace)},
      {"unknown method is a token, not an error",
       H("PROPFIND /dav HTTP/1.1\nHost: a\n\n"),
       ok().m(Method::kUnknown).mt("PROPFIND")},
      {"methods are case-sensitive", H("get / HTTP/1.1\nHost: a\n\n"),
       ok().m(Method::kUnknown).mt("get")},
      {"method with token symbols", H("M-SEARCH* / HTTP/1.1\nHost: a\n\n"),
       ok().m(Method::kUnknown).mt("M-SEARCH*")},
      {"path and query", H("GET /a/b?x=1&y=2 HTTP/1.1\nHost: a\n\n"),
       ok().p("/a/b").q("x=1&y=2")},
      {"question mark inside query", H("GET /test.cgi?foo=bar?baz HTTP/1.1\nHost: a\n\n"),
       ok().p("/test.cgi").q("foo=bar?baz")},
      {"empty query", H("GET /p? HTTP/1.1\nHost: a\n\n"), ok().p("/p").q("")},
      {"fragment is cut from path and query",
       H("GET /forums/1?page=1#posts-17408 HTTP/1.1\nHost: a\n\n"),
       ok().t("/forums/1?page=1#posts-17408").p("/forums/1").q("page=1")},
      {"fragment without query", H("GET /p#f HTTP/1.1\nHost: a\n\n"), ok().p("/p").q("")},
      {"quotes and bar in target",
       H("GET /with_\"lovely\"_quotes?foo=\\\"bar\\\"&q=| HTTP/1.1\nHost: a\n\n"),
       ok().p("/with_\"lovely\"_quotes")},
      {"percent-encoded target", H("GET /a%20b?c=%41 HTTP/1.1\nHost: a\n\n"),
       ok().p("/a%20b").q("c=%41")},
      {"asterisk-form with OPTIONS", H("OPTIONS * HTTP/1.1\nHost: a\n\n"),
       ok().m(Method::kOptions).t("*").p("*")},
      {"absolute-form", H("GET http://example.com/a/b?c=d HTTP/1.1\nHost: example.com\n\n"),
       ok().t("http://example.com/a/b?c=d").p("/a/b").q("c=d").h("example.com")},
      {"absolute-form without path", H("GET http://hypnotoad.org?hail=all HTTP/1.1\nHost: h\n\n"),
       ok().p("/").q("hail=all").h("hypnotoad.org")},
      {"absolute-form with port and no path", H("GET http://hypnotoad.org:1234 HTTP/1.1\nHost: h\n\n"),
       ok().p("/").q("").h("hypnotoad.org:1234")},
      {"absolute-form with userinfo",
       H("GET http://a%12:b!&*$@hypnotoad.org:1234/toto HTTP/1.1\nHost: h\n\n"),
       ok().p("/toto").h("hypnotoad.org:1234")},
      {"absolute-form https", H("GET HTTPS://x.y/ HTTP/1.1\nHost: x.y\n\n"), ok().p("/").h("x.y")},
      // RFC 9112 3.2.2: the target's authority wins over the Host header.
      {"absolute-form authority wins over Host",
       H("GET http://a.example/x HTTP/1.1\nHost: b.example\n\n"),
       ok().p("/x").h("a.example").field("host", "b.example")},
      {"absolute-form with empty Host", H("GET http://a.example/x HTTP/1.1\nHost:\n\n"),
       ok().h("a.example")},
      {"absolute-form IPv6 authority", H("GET http://[2001:db8::1]:8080/x HTTP/1.1\nHost: h\n\n"),
       ok().p("/x").h("[2001:db8::1]:8080")},
      {"absolute-form with empty port", H("GET http://a.example:/x HTTP/1.1\nHost: h\n\n"),
       ok().h("a.example:")},
      {"absolute-form in HTTP/1.0 without Host", H("GET http://a.example/x HTTP/1.0\n\n"),
       ok().v(0).h("a.example")},
      {"absolute-form with fragment after authority", H("GET http://a.example#f HTTP/1.1\nHost: h\n\n"),
       ok().p("/").h("a.example")},
      {"CONNECT authority-form", H("CONNECT example.com:443 HTTP/1.1\nHost: example.com:443\n\n"),
       ok().m(Method::kConnect).t("example.com:443").p("example.com:443")},
      {"CONNECT underscore host, HTTP/1.0",
       H("CONNECT home_0.netscape.com:443 HTTP/1.0\nUser-agent: Mozilla/1.1N\n\n"),
       ok().m(Method::kConnect).v(0)},
      {"CONNECT IPv6", H("CONNECT [::1]:8443 HTTP/1.1\nHost: [::1]:8443\n\n"),
       ok().p("[::1]:8443")},
      {"HTTP/1.0 without Host", H("GET /test HTTP/1.0\nUser-Agent: ab\n\n"),
       ok().v(0).ka(false).count(1)},
      {"one leading empty line", H("\nGET /test HTTP/1.1\nHost: a\n\n"),
       ok().p("/test")},
      {"several leading empty lines", H("\n\n\nGET / HTTP/1.1\nHost: a\n\n"), ok().p("/")},
      {"head followed by the next request is not consumed",
       H("GET /1 HTTP/1.1\nHost: a\n\nGET /2 HTTP/1.1\nHost: a\n\n"),
       ok().p("/1").used(H("GET /1 HTTP/1.1\nHost: a\n\n").size())},
      {"head followed by a body", H("POST /p HTTP/1.1\nHost: a\nContent-Length: 5\n\nhello"),
       ok().cl(5).used(H("POST /p HTTP/1.1\nHost: a\nContent-Length: 5\n\n").size())},
      {"head followed by a partial request", H("GET / HTTP/1.1\nHost: a\n\nGET"),
       ok().used(H("GET / HTTP/1.1\nHost: a\n\n").size())},

      // Refused request lines.
      {"bare LF after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", err(400)},
      {"only LFs", "GET / HTTP/1.1\nHost: a\n\n", err(400)},
      {"leading bare LF", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", err(400)},
      {"leading bare CR", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", err(400)},
      {"bare CR in request line", "GET / HTTP/1.1\rX\r\nHost: a\r\n\r\n", err(400)},
      {"space before method", H(" GET / HTTP/1.1\nHost: a\n\n"), err(400)},
      {"tab as separator", H("GET\t/ HTTP/1.1\nHost: a\n\n"), err(400)},
      {"two spaces before target", H("GET  / HTTP/1.1\nHost: a\n\n"), err(400)},
      {"two spaces before version", H("GET /  HTTP/1.1\nHost: a\n\n"), err(400)},
      {"space after version", H("GET / HTTP/1.1 \nHost: a\n\n"), err(400)},
      {"invalid character in method", H("G@T / HTTP/1.1\nHost: a\n\n"), err(400)},
      {"method with parenthesis", H("MKCOL( / HTTP/1.1\nHost: a\n\n"), err(400)},
      {"NUL in method", "GE\0T / HTTP/1.1\r\nHost: a\r\n\r\n"s, err(400)},
      {"only a method", H("GET\n\n"), err(400)},
      {"missing target and version", H("GET \n\n"), err(400)},
      {"HTTP/0.9 style line", H("GET /\n\n"), err(400)},
      {"space inside target", H("GET /foo bar/ HTTP/1.1\nHost: a\n\n"), err(400)},
      {"control char in target", H("GET /a\x01z HTTP/1.1\nHost: a\n\n"), err(400)},
      {"DEL in target", H("GET /a\x7fz HTTP/1.1\nHost: a\n\n"), err(400)},
      {"UTF-8 in target", H("GET /\xce\xb4\xc2\xb6/t HTTP/1.1\nHost: a\n\n"), err(400)},
      {"NUL in target", "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"s, err(400)},
      {"asterisk-form with GET", H("GET * HTTP/1.1\nHost: a\n\n"), err(400)},
      {"double asterisk", H("OPTIONS ** HTTP/1.1\nHost: a\n\n"), err(400)},
      {"CONNECT with origin-form", H("CONNECT / HTTP/1.1\nHost: a\n\n"), err(400)},
      {"CONNECT without port", H("CONNECT example.com HTTP/1.1\nHost: a\n\n"), err(400)},
      {"CONNECT with empty port", H("CONNECT example.com: HTTP/1.1\nHost: a\n\n"), err(400)},
      {"CONNECT with letters in port", H("CONNECT example.com:https HTTP/1.1\nHost: a\n\n"), err(400)},
      {"CONNECT with absolute-form", H("CONNECT http://x/ HTTP/1.1\nHost: a\n\n"), err(400)},
      {"authority-form with GET", H("GET example.com:80 HTTP/1.1\nHost: a\n\n"), err(400)},
      {"scheme without //", H("GET http:/x HTTP/1.1\nHost: a\n\n"), err(400)},
      {"absolute-form with empty host", H("GET http:///x HTTP/1.1\nHost: a\n\n"), err(400)},
      {"scheme starting with a digit", H("GET 1http://x/ HTTP/1.1\nHost: a\n\n"), err(400)},
      {"relative path", H("GET index.html HTTP/1.1\nHost: a\n\n"), err(400)},
      {"absolute-form still needs Host in HTTP/1.1", H("GET http://a.example/ HTTP/1.1\n\n"), err(400)},
      {"absolute-form with repeated Host", H("GET http://a.example/ HTTP/1.1\nHost: a\nHost: a\n\n"), err(400)},
      {"absolute-form with quote in host", H("GET http://a\"b/ HTTP/1.1\nHost: h\n\n"), err(400)},
      {"absolute-form with angle bracket in host", H("GET http://a<b/ HTTP/1.1\nHost: h\n\n"), err(400)},
      {"absolute-form with two @", H("GET http://u@v@h/ HTTP/1.1\nHost: h\n\n"), err(400)},
      {"absolute-form with only userinfo", H("GET http://u@/x HTTP/1.1\nHost: h\n\n"), err(400)},
      {"absolute-form with only a port", H("GET http://:80/x HTTP/1.1\nHost: h\n\n"), err(400)},
      {"absolute-form with letters in port", H("GET http://a:b/ HTTP/1.1\nHost: h\n\n"), err(400)},
      {"absolute-form with bad percent-encoding", H("GET http://a%zz/ HTTP/1.1\nHost: h\n\n"), err(400)},
      {"absolute-form with bad userinfo", H("GET http://u\"@h/ HTTP/1.1\nHost: h\n\n"), err(400)},
      {"absolute-form with unclosed IPv6", H("GET http://[::1/x HTTP/1.1\nHost: h\n\n"), err(400)},
      {"absolute-form with text after IPv6", H("GET http://[::1]x/ HTTP/1.1\nHost: h\n\n"), err(400)},

      // Versions.
      {"HTTP/1.0", H("GET / HTTP/1.0\n\n"), ok().v(0).ka(false).h("")},
      {"HTTP/2.0 is 505", H("GET / HTTP/2.0\nHost: a\n\n"), err(505)},
      {"HTTP/0.9 is 505", H("GET / HTTP/0.9\nHost: a\n\n"), err(505)},
      {"HTTP/1.2 is 505", H("GET / HTTP/1.2\nHost: a\n\n"), err(505)},
      {"HTTP/5.6 is 505", H("GET / HTTP/5.6\nHost: a\n\n"), err(505)},
      {"HTTP/1.10 is malformed", H("GET / HTTP/1.10\nHost: a\n\n"), err(400)},
      {"HTTP/11.1 is malformed", H("GET / HTTP/11.1\nHost: a\n\n"), err(400)},
      {"HTTP/1 is malformed", H("GET / HTTP/1\nHost: a\n\n"), err(400)},
      {"lowercase http", H("GET / http/1.1\nHost: a\n\n"), err(400)},
      {"ICE protocol", H("GET /music/sweet/music ICE/1.0\nHost: a\n\n"), err(400)},
      {"IHTTP protocol", H("GET /music/sweet/music IHTTP/1.0\nHost: a\n\n"), err(400)},
      {"RTSP protocol", H("PUT /music/sweet/music RTSP/1.0\nHost: a\n\n"), err(400)},
      {"HTTP/1.1 followed by a letter", H("GET / HTTP/1.1x\nHost: a\n\n"), err(400)},
  };
}

std::vector<Case> header_cases() {
  return {
      // Accepted fields.
      {"Firefox GET", kFirefox,
       ok().p("/favicon.ico").h("0.0.0.0=5000").count(8).ka(true)
           .field("accept-encoding", "gzip,deflate").field("KEEP-ALIVE", "300")},
      {"OWS around value is trimmed", H("GET / HTTP/1.1\nHost: a\nX-A:  \t v a l \t \n\n"),
       ok().field("x-a", "v a l")},
      {"tab after colon", H("OPTIONS /url HTTP/1.1\nHost: a\nHeader2:\t Value2\n\n"),
       ok().field("Header2", "Value2")},
      {"no space after colon", H("GET /dumbpack HTTP/1.1\nHost: a\naaaaaaaaaaaaa:++++++++++\n\n"),
       ok().field("aaaaaaaaaaaaa", "++++++++++")},
      {"empty value", H("GET / HTTP/1.1\nHost: a\nX-Empty:\n\n"), ok().field("x-empty", "")},
      {"value of only spaces", H("GET / HTTP/1.1\nHost: a\nX-Empty:   \n\n"),
       ok().field("x-empty", "")},
      {"HTAB inside value", H("GET / HTTP/1.1\nHost: a\nX: a\tb\n\n"), ok().field("x", "a\tb")},
      {"obs-text in value", H("GET / HTTP/1.1\nHost: a\nTest: D\xc3\xbcsseldorf\n\n"),
       ok().field("test", "D\xc3\xbcsseldorf")},
      {"0xff in value", H("OPTIONS /url HTTP/1.1\nHost: a\nHeader2: \xffValue2\n\n"),
       ok().field("header2", "\xffValue2")},
      {"every token symbol in a name", H("GET / HTTP/1.1\nHost: a\n!#$%&'*+-.^_`|~09azAZ: v\n\n"),
       ok().field("!#$%&'*+-.^_`|~09azAZ", "v")},
      {"Host name is case-insensitive", H("GET / HTTP/1.1\nhOsT: example.com:8080\n\n"),
       ok().h("example.com:8080")},
      {"empty Host is allowed", H("GET / HTTP/1.1\nHost:\n\n"), ok().h("")},
      {"Host in HTTP/1.0", H("GET / HTTP/1.0\nHost: a\n\n"), ok().h("a").v(0)},
      {"Host with port", H("GET / HTTP/1.1\nHost: example.com:8080\n\n"), ok().h("example.com:8080")},
      {"Host with empty port", H("GET / HTTP/1.1\nHost: example.com:\n\n"), ok().h("example.com:")},
      {"Host IPv4 with port", H("GET / HTTP/1.1\nHost: 192.0.2.1:80\n\n"), ok().h("192.0.2.1:80")},
      {"Host reg-name with every allowed symbol",
       H("GET / HTTP/1.1\nHost: a-b.c_d~e!$&'()*+,;=f\n\n"), ok().h("a-b.c_d~e!$&'()*+,;=f")},
      {"Host with percent-encoding", H("GET / HTTP/1.1\nHost: a%2Db%e9\n\n"), ok().h("a%2Db%e9")},
      {"Host IPv6 loopback", H("GET / HTTP/1.1\nHost: [::1]\n\n"), ok().h("[::1]")},
      {"Host IPv6 with port", H("GET / HTTP/1.1\nHost: [2001:db8::7]:443\n\n"), ok().h("[2001:db8::7]:443")},
      {"Host IPv6 of eight groups", H("GET / HTTP/1.1\nHost: [1:2:3:4:5:6:7:aBcD]\n\n"), ok()},
      {"Host IPv6 unspecified", H("GET / HTTP/1.1\nHost: [::]\n\n"), ok()},
      {"Host IPv6 compressed at the end", H("GET / HTTP/1.1\nHost: [fe80::]\n\n"), ok()},
      {"Host IPv6 with IPv4 tail", H("GET / HTTP/1.1\nHost: [::ffff:192.0.2.128]:8080\n\n"), ok()},
      {"Host IPv6 of six groups and IPv4", H("GET / HTTP/1.1\nHost: [1:2:3:4:5:6:1.2.3.4]\n\n"), ok()},
      {"Host IPvFuture", H("GET / HTTP/1.1\nHost: [v1f.a:b!]\n\n"), ok()},

      // Invalid Host values (RFC 9110 7.2, RFC 3986 3.2.2): 400.
      {"space in Host", H("GET / HTTP/1.1\nHost: a b\n\n"), err(400)},
      {"tab in Host", H("GET / HTTP/1.1\nHost: a\tb\n\n"), err(400)},
      {"slash in Host", H("GET / HTTP/1.1\nHost: a/b\n\n"), err(400)},
      {"userinfo in Host", H("GET / HTTP/1.1\nHost: user@a\n\n"), err(400)},
      {"question mark in Host", H("GET / HTTP/1.1\nHost: a?b\n\n"), err(400)},
      {"hash in Host", H("GET / HTTP/1.1\nHost: a#b\n\n"), err(400)},
      {"backslash in Host", H("GET / HTTP/1.1\nHost: a\\b\n\n"), err(400)},
      {"quote in Host", H("GET / HTTP/1.1\nHost: \"a\"\n\n"), err(400)},
      {"angle brackets in Host", H("GET / HTTP/1.1\nHost: <a>\n\n"), err(400)},
      {"obs-text in Host", H("GET / HTTP/1.1\nHost: \xc3\xa9.example\n\n"), err(400)},
      {"bad percent-encoding in Host", H("GET / HTTP/1.1\nHost: a%zzb\n\n"), err(400)},
      {"cut percent-encoding in Host", H("GET / HTTP/1.1\nHost: a%2\n\n"), err(400)},
      {"letters in Host port", H("GET / HTTP/1.1\nHost: a:http\n\n"), err(400)},
      {"two ports in Host", H("GET / HTTP/1.1\nHost: a:1:2\n\n"), err(400)},
      {"port without host", H("GET / HTTP/1.1\nHost: :80\n\n"), err(400)},
      {"Host is a URL", H("GET / HTTP/1.1\nHost: http://a/\n\n"), err(400)},
      {"Host is a list", H("GET / HTTP/1.1\nHost: a, b\n\n"), err(400)},
      {"bare IPv6 in Host", H("GET / HTTP/1.1\nHost: ::1:8080\n\n"), err(400)},
      {"unclosed IPv6 in Host", H("GET / HTTP/1.1\nHost: [::1\n\n"), err(400)},
      {"empty brackets in Host", H("GET / HTTP/1.1\nHost: []\n\n"), err(400)},
      {"reg-name in brackets", H("GET / HTTP/1.1\nHost: [example.com]\n\n"), err(400)},
      {"text after IPv6 in Host", H("GET / HTTP/1.1\nHost: [::1]x\n\n"), err(400)},
      {"IPv6 of nine groups", H("GET / HTTP/1.1\nHost: [1:2:3:4:5:6:7:8:9]\n\n"), err(400)},
      {"IPv6 of seven groups", H("GET / HTTP/1.1\nHost: [1:2:3:4:5:6:7]\n\n"), err(400)},
      {"IPv6 of eight groups and ::", H("GET / HTTP/1.1\nHost: [1:2:3:4::5:6:7:8]\n\n"), err(400)},
      {"IPv6 with two ::", H("GET / HTTP/1.1\nHost: [1::2::3]\n\n"), err(400)},
      {"IPv6 group of five digits", H("GET / HTTP/1.1\nHost: [12345::1]\n\n"), err(400)},
      {"IPv6 with a single leading colon", H("GET / HTTP/1.1\nHost: [:1::2]\n\n"), err(400)},
      {"IPv6 with a single trailing colon", H("GET / HTTP/1.1\nHost: [1::2:]\n\n"), err(400)},
      {"IPv6 with ::: ", H("GET / HTTP/1.1\nHost: [1:::2]\n\n"), err(400)},
      {"IPv6 with non-hex group", H("GET / HTTP/1.1\nHost: [::g]\n\n"), err(400)},
      {"IPv6 zone id", H("GET / HTTP/1.1\nHost: [fe80::1%25eth0]\n\n"), err(400)},
      {"IPv6 with a short IPv4 tail", H("GET / HTTP/1.1\nHost: [::1.2.3]\n\n"), err(400)},
      {"IPv6 with an IPv4 octet over 255", H("GET / HTTP/1.1\nHost: [::1.2.3.256]\n\n"), err(400)},
      {"IPv6 with a zero-padded IPv4 octet", H("GET / HTTP/1.1\nHost: [::1.2.3.04]\n\n"), err(400)},
      {"IPv6 with IPv4 not at the end", H("GET / HTTP/1.1\nHost: [::1.2.3.4:5]\n\n"), err(400)},
      {"IPv6 with IPv4 in the ninth group", H("GET / HTTP/1.1\nHost: [1:2:3:4:5:6:7:1.2.3.4]\n\n"), err(400)},
      {"IPvFuture without version", H("GET / HTTP/1.1\nHost: [v.a]\n\n"), err(400)},
      {"IPvFuture without address", H("GET / HTTP/1.1\nHost: [v1.]\n\n"), err(400)},
      {"invalid Host in HTTP/1.0", H("GET / HTTP/1.0\nHost: a b\n\n"), err(400)},
      {"invalid Host with absolute-form", H("GET http://a/ HTTP/1.1\nHost: a/b\n\n"), err(400)},

      // Refused fields.
      {"bare LF after a field", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", err(400)},
      {"head ending in bare LFs", "GET / HTTP/1.1\r\nHost: a\n\n", err(400)},
      {"final empty line is a bare LF", "GET / HTTP/1.1\r\nHost: a\r\n\n", err(400)},
      {"empty header with bare LF", "POST / HTTP/1.1\r\nHost: a\r\nx:\nTransfer-Encoding: chunked\r\n\r\n", err(400)},
      {"fields separated by CR", "GET / HTTP/1.1\r\nHost: a\r\nFoo: 1\rBar: 2\r\n\r\n", err(400)},
      {"empty field separated by CR", "POST / HTTP/1.1\r\nHost: a\r\nx:\rTransfer-Encoding: chunked\r\n\r\n", err(400)},
      {"CR then garbage before next line", "GET / HTTP/1.1\r\nConnection: close\r\nHost: a\r\n\rZGET /evil: HTTP/1.1\r\nHost: a\r\n\r\n", err(400)},
      {"obs-fold with space", H("GET / HTTP/1.1\nHost: a\nX: abc\n def\n\n"), err(400)},
      {"obs-fold with tab", H("GET / HTTP/1.1\nHost: a\nX: abc\n\tdef\n\n"), err(400)},
      {"space before first field", H("GET / HTTP/1.1\n Host: foo\n\n"), err(400)},
      {"folded name", H("GET / HTTP/1.1\nHost: a\nname\n : value\n\n"), err(400)},
      {"space before colon", H("GET / HTTP/1.1\nHost : a\n\n"), err(400)},
      {"tab before colon", H("GET / HTTP/1.1\nHost\t: a\n\n"), err(400)},
      {"line without colon", H("GET / HTTP/1.1\nHost: a\nNoColon\n\n"), err(400)},
      {"empty name", H("GET / HTTP/1.1\nHost: a\n: Bar\n\n"), err(400)},
      {"@ in name", H("GET / HTTP/1.1\nHost: a\nFo@: Failure\n\n"), err(400)},
      {"control char in name", H("GET / HTTP/1.1\nHost: a\nFoo\x01test: Bar\n\n"), err(400)},
      {"slash in name", H("GET / HTTP/1.1\nHost: a\nA/B: c\n\n"), err(400)},
      {"UTF-8 in name", H("GET / HTTP/1.1\nHost: a\nX\xc3\xa9: c\n\n"), err(400)},
      {"NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"s, err(400)},
      {"DEL in value", H("GET / HTTP/1.1\nHost: a\nX: a\x7f\n\n"), err(400)},
      {"control char in value", H("GET / HTTP/1.1\nHost: a\nX: a\x01z\n\n"), err(400)},
      {"ESC in a long value", H("GET / HTTP/1.1\nHost: a\nX: 0123456789abcdef0123456789\x1b" "abcdef\n\n"), err(400)},
      {"corrupted Connection header", H("GET / HTTP/1.1\nHost: www.example.com\nConnection\r\033\065\325eep-Alive\nAccept-Encoding: gzip\n\n"), err(400)},
      {"missing Host in HTTP/1.1", H("GET / HTTP/1.1\nAccept: */*\n\n"), err(400)},
      {"repeated Host", H("GET / HTTP/1.1\nHost: a\nHost: a\n\n"), err(400)},
      {"repeated Host in HTTP/1.0", H("GET / HTTP/1.0\nHost: a\nhost: b\n\n"), err(400)},
  };
}

std::vector<Case> framing_cases() {
  return {
      {"Content-Length", H("PUT /url HTTP/1.1\nHost: a\nContent-Length: 3\n\n"), ok().cl(3)},
      {"Content-Length with leading zeros", H("PUT /url HTTP/1.1\nHost: a\nContent-Length: 003\nOhai: world\n\n"), ok().cl(3)},
      {"Content-Length zero", H("POST / HTTP/1.1\nHost: a\nContent-Length: 0\n\n"), ok().cl(0)},
      {"Content-Length name is case-insensitive", H("GET /funky HTTP/1.0\nconTENT-Length: 5\n\n"), ok().cl(5).v(0)},
      {"Content-Length with OWS around", H("POST / HTTP/1.1\nHost: a\nContent-Length:  42 \n\n"), ok().cl(42)},
      {"Content-Length of 2^64-1", H("POST / HTTP/1.1\nHost: a\nContent-Length: 18446744073709551615\n\n"),
       ok().cl(18446744073709551615ull)},
      {"Content-Length of 2^64", H("POST / HTTP/1.1\nHost: a\nContent-Length: 18446744073709551616\n\n"), err(400)},
      {"Content-Length far too large", H("PUT /url HTTP/1.1\nHost: a\nContent-Length: 1000000000000000000000\n\n"), err(400)},
      {"empty Content-Length", H("POST / HTTP/1.1\nHost: a\nContent-Length:\n\n"), err(400)},
      {"negative Content-Length", H("POST / HTTP/1.1\nHost: a\nContent-Length: -1\n\n"), err(400)},
      {"signed Content-Length", H("POST / HTTP/1.1\nHost: a\nContent-Length: +1\n\n"), err(400)},
      {"space inside Content-Length", H("POST / HTTP/1.1\nHost: a\nContent-Length: 4 2\n\n"), err(400)},
      {"list Content-Length", H("POST / HTTP/1.1\nHost: a\nContent-Length: 5, 5\n\n"), err(400)},
      {"hex Content-Length", H("POST / HTTP/1.1\nHost: a\nContent-Length: 0x10\n\n"), err(400)},
      {"fractional Content-Length", H("POST / HTTP/1.1\nHost: a\nContent-Length: 1.5\n\n"), err(400)},
      {"repeated identical Content-Length", H("POST / HTTP/1.1\nHost: a\nContent-Length: 5\nContent-Length: 5\n\n"), err(400)},
      {"repeated differing Content-Length", H("PUT /url HTTP/1.1\nHost: a\nContent-Length: 1\nContent-Length: 2\n\n"), err(400)},
      {"Content-Length with CR inside name", "PUT /url HTTP/1.1\r\nHost: a\r\nContent\rLength: 003\r\n\r\nabc", err(400)},

      {"chunked", H("PUT /url HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n"), ok().chunked()},
      {"chunked is case-insensitive", H("PUT /url HTTP/1.1\nHost: a\nTransfer-encoding: ChUnKeD\n\n"), ok().chunked()},
      {"chunked with OWS", H("GET / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked \n\n"), ok().chunked()},
      {"chunked after empty list elements", H("PUT / HTTP/1.1\nHost: a\nTransfer-Encoding: , chunked\n\n"), ok().chunked()},
      {"chunked with body following", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n"),
       ok().chunked().used(H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n").size())},
      {"gzip then chunked is 501", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: gzip, chunked\n\n"), err(501)},
      {"deflate then chunked over two fields is 501", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: deflate\nTransfer-Encoding: chunked\n\n"), err(501)},
      {"coding with parameters then chunked is 501", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: foo;level=\"1, 2\" , chunked\n\n"), err(501)},
      {"final coding not chunked", H("PUT /url HTTP/1.1\nHost: a\nTransfer-Encoding: pigeons\n\n"), err(400)},
      {"identity", H("PUT /url HTTP/1.1\nHost: a\nTransfer-Encoding: identity\n\n"), err(400)},
      {"chunkedchunked", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunkedchunked\n\n"), err(400)},
      {"chunked before gzip", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked, deflate\n\n"), err(400)},
      {"chunked then another field with deflate", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\nTransfer-Encoding: deflate\n\n"), err(400)},
      {"chunked twice in a list", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked, chunked\n\n"), err(400)},
      {"chunked twice over two fields", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\nTransfer-Encoding: chunked\n\n"), err(400)},
      {"empty Transfer-Encoding", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding:\n\n"), err(400)},
      {"Transfer-Encoding of only commas", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: , ,\n\n"), err(400)},
      {"codings separated by space", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: gzip chunked\n\n"), err(400)},
      {"chunked with a parameter", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked;q=1\n\n"), err(400)},
      {"malformed coding parameter", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: gzip;, chunked\n\n"), err(400)},
      {"non-token coding", H("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chu@nked\n\n"), err(400)},
      {"Transfer-Encoding in HTTP/1.0", H("POST / HTTP/1.0\nTransfer-Encoding: chunked\n\n"), err(400)},
      {"Content-Length then Transfer-Encoding", H("PUT /url HTTP/1.1\nHost: a\nContent-Length: 1\nTransfer-Encoding: chunked\n\n"), err(400)},
      {"Transfer-Encoding then Content-Length", H("POST /p HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\nContent-Length: 5\n\n"), err(400)},
      {"identity with Content-Length", H("PUT /url HTTP/1.1\nHost: a\nContent-Length: 1\nTransfer-Encoding: identity\n\n"), err(400)},
      {"empty Transfer-Encoding with Content-Length", H("POST /first HTTP/1.1\nHost: a\nTransfer-Encoding:\nContent-Length: 5\n\n"), err(400)},
      {"Transfer-Encoding folded", H("PUT /url HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n  abc\n\n"), err(400)},

      {"HTTP/1.1 keeps alive by default", H("GET / HTTP/1.1\nHost: a\n\n"), ok().ka(true).up(false)},
      {"HTTP/1.0 closes by default", H("GET / HTTP/1.0\n\n"), ok().ka(false)},
      {"HTTP/1.0 keep-alive", H("GET / HTTP/1.0\nConnection: keep-alive\n\n"), ok().ka(true)},
      {"HTTP/1.0 Keep-Alive mixed case", H("GET / HTTP/1.0\nConnection: Keep-Alive\n\n"), ok().ka(true)},
      {"HTTP/1.1 close", H("PUT /url HTTP/1.1\nHost: a\nConnection: close\n\n"), ok().ka(false)},
      {"HTTP/1.1 Close mixed case", H("PUT /url HTTP/1.1\nHost: a\nConnection: CLOSE\n\n"), ok().ka(false)},
      {"close wins over keep-alive", H("GET / HTTP/1.0\nConnection: keep-alive, close\n\n"), ok().ka(false)},
      {"Connection fields combine", H("GET / HTTP/1.1\nHost: a\nConnection: keep-alive\nConnection: close\n\n"), ok().ka(false)},
      {"Connection token list", H("PUT /url HTTP/1.1\nHost: a\nConnection: close, token, upgrade, token, keep-alive\n\n"),
       ok().ka(false).up(true)},
      {"Connection with empty elements", H("GET /demo HTTP/1.1\nHost: a\nConnection: Something, Upgrade, ,Keep-Alive\n\n"),
       ok().ka(true).up(true)},
      {"unknown Connection token is ignored", H("GET / HTTP/1.1\nHost: a\nConnection: x-foo\n\n"), ok().ka(true).up(false)},
      {"close as a substring is not close", H("GET / HTTP/1.1\nHost: a\nConnection: closed\n\n"), ok().ka(true)},
      {"websocket upgrade", H("GET /chat HTTP/1.1\nHost: a\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n"),
       ok().up(true).field("upgrade", "websocket")},

      {"Expect 100-continue", H("POST / HTTP/1.1\nHost: a\nExpect: 100-continue\nContent-Length: 5\n\n"), ok().ex(true).cl(5)},
      {"Expect is case-insensitive", H("POST / HTTP/1.1\nHost: a\nexpect: 100-Continue\n\n"), ok().ex(true)},
      {"Expect 100-continue ignored in HTTP/1.0", H("POST / HTTP/1.0\nExpect: 100-continue\n\n"), ok().ex(false)},
      {"no Expect", H("POST / HTTP/1.1\nHost: a\n\n"), ok().ex(false)},
      {"other Expect is 417", H("POST / HTTP/1.1\nHost: a\nExpect: 200-ok\n\n"), err(417)},
      {"Expect list is 417", H("POST / HTTP/1.1\nHost: a\nExpect: 100-continue, foo\n\n"), err(417)},
      {"empty Expect is 417", H("POST / HTTP/1.1\nHost: a\nExpect:\n\n"), err(417)},
  };
}

ParserLimits small_limits() {
  ParserLimits l;
  l.max_head_bytes = 64;
  l.max_target_bytes = 16;
  l.max_headers = 3;
  return l;
}

std::vector<Case> limit_and_partial_cases() {
  const ParserLimits small = small_limits();
  std::string head64 = H("GET / HTTP/1.1\nHost: a\nX: ");  // 29 bytes
  head64 += std::string(64 - head64.size() - 4, 'v') + "\r\n\r\n";
  std::string target16 = H("GET /" + std::string(15, 't') + " HTTP/1.1\nHost: a\n\n");
  std::string target17 = H("GET /" + std::string(16, 't') + " HTTP/1.1\nHost: a\n\n");
  return {
      {"head of exactly max_head_bytes", head64, ok(), small},
      {"head one byte over max_head_bytes", head64.substr(0, 30) + "v" + head64.substr(30), err(431), small},
      {"never-ending head is 431", H("GET / HTTP/1.1\nHost: a\nX: ") + std::string(80, 'v'), err(431), small},
      {"never-ending leading empty lines are 431", H(std::string(35, '\n')), err(431), small},
      {"target of exactly max_target_bytes", target16, ok(), small},
      {"target one byte over max_target_bytes", target17, err(414), small},
      {"target too long before the head completes", "GET /" + std::string(20, 't'), err(414), small},
      {"target too long wins over a bad method", H("G@T /" + std::string(20, 't') + " HTTP/1.1\nHost: a\n\n"), err(414), small},
      {"target too long wins over a bare LF after it", "GET /" + std::string(20, 't') + " HTTP/1.1\n\n", err(414), small},
      {"target too long wins over a control char in it", "GET /" + std::string(5, 't') + "\x01" + std::string(14, 't') + " HTTP/1.1\r\n\r\n", err(414), small},
      {"exactly max_headers fields", H("GET / HTTP/1.1\nHost: a\nB: b\nC: c\n\n"), ok().count(3), small},
      {"one field over max_headers", H("GET / HTTP/1.1\nHost: a\nB: b\nC: c\nD: d\n\n"), err(431), small},

      {"empty input", "", partial()},
      {"lone CR", "\r", partial()},
      {"leading empty line only", "\r\n", partial()},
      {"method only", "GET", partial()},
      {"request line only", "GET / HTTP/1.1\r\n", partial()},
      {"one field, no blank line", "GET / HTTP/1.1\r\nHost: a\r\n", partial()},
      {"blank line missing its LF", "GET / HTTP/1.1\r\nHost: a\r\n\r", partial()},
      {"half a field", "GET / HTTP/1.1\r\nHost: a\r\nUser-Ag", partial()},
  };
}

TEST(RequestParserTable, RequestLine) {
  for (const Case& c : request_line_cases()) run_case(c);
}

TEST(RequestParserTable, HeaderFields) {
  for (const Case& c : header_cases()) run_case(c);
}

TEST(RequestParserTable, FramingConnectionExpect) {
  for (const Case& c : framing_cases()) run_case(c);
}

TEST(RequestParserTable, LimitsAndPartialInput) {
  for (const Case& c : limit_and_partial_cases()) run_case(c);
}

TEST(RequestParserTable, HasEnoughCases) {
  size_t n = request_line_cases().size() + header_cases().size() +
             framing_cases().size() + limit_and_partial_cases().size();
  EXPECT_GE(n, 200u);
}

TEST(RequestParser, PipelinedRequestsParseOneAfterAnother) {
  const std::string r1 = H("GET /one HTTP/1.1\nHost: a\n\n");
  const std::string r2 = H("POST /two?x=1 HTTP/1.1\nHost: a\nContent-Length: 0\n\n");
  const std::string r3 = H("\nDELETE /three HTTP/1.1\nHost: b\nConnection: close\n\n");
  const std::string buf = r1 + r2 + r3;
  RequestParser parser;
  Request req;
  std::string_view rest = buf;

  ParseResult res = parser.parse(rest, req);
  ASSERT_EQ(res.status, ParseStatus::kComplete);
  EXPECT_EQ(res.consumed, r1.size());
  EXPECT_EQ(req.path, "/one");
  rest.remove_prefix(res.consumed);
  parser.reset();

  res = parser.parse(rest, req);
  ASSERT_EQ(res.status, ParseStatus::kComplete);
  EXPECT_EQ(res.consumed, r2.size());
  EXPECT_EQ(req.method, Method::kPost);
  EXPECT_EQ(req.query, "x=1");
  EXPECT_EQ(req.body_kind, BodyKind::kContentLength);
  EXPECT_EQ(req.path.data(), buf.data() + r1.size() + 5);
  rest.remove_prefix(res.consumed);
  parser.reset();

  res = parser.parse(rest, req);
  ASSERT_EQ(res.status, ParseStatus::kComplete);
  EXPECT_EQ(res.consumed, r3.size());  // the leading empty line counts
  EXPECT_EQ(req.method, Method::kDelete);
  EXPECT_EQ(req.host, "b");
  EXPECT_FALSE(req.keep_alive);
  rest.remove_prefix(res.consumed);
  EXPECT_TRUE(rest.empty());
}

TEST(RequestParser, PipelinedRequestsArrivingInPieces) {
  const std::string buf = H("GET /a HTTP/1.1\nHost: a\n\nGET /b HTTP/1.1\nHost: a\n\n");
  RequestParser parser;
  Request req;
  std::vector<std::string> paths;
  size_t begin = 0;
  for (size_t end = 1; end <= buf.size(); ++end) {
    ParseResult res = parser.parse(std::string_view(buf).substr(begin, end - begin), req);
    ASSERT_NE(res.status, ParseStatus::kError);
    if (res.status == ParseStatus::kComplete) {
      paths.emplace_back(req.path);
      begin += res.consumed;
      parser.reset();
    }
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(begin, buf.size());
}

TEST(RequestParser, ParsingAgainAfterCompleteGivesTheSameResult) {
  const std::string buf = kFirefox;
  RequestParser parser;
  Request a;
  Request b;
  ParseResult r1 = parser.parse(buf, a);
  ParseResult r2 = parser.parse(buf, b);  // no reset(): state is already clean
  ASSERT_EQ(r1.status, ParseStatus::kComplete);
  ASSERT_EQ(r2.status, ParseStatus::kComplete);
  EXPECT_EQ(r1.consumed, r2.consumed);
  EXPECT_EQ(summarize(a), summarize(b));
}

TEST(RequestParser, PresentingFewerBytesThanBeforeStartsOver) {
  // A contract breach by the caller, but it must not read outside `data`.
  const std::string buf = H("GET /abc HTTP/1.1\nHost: a\n\n");
  RequestParser parser;
  Request req;
  EXPECT_EQ(parser.parse(std::string_view(buf).substr(0, 20), req).status,
            ParseStatus::kPartial);
  EXPECT_EQ(parser.parse(std::string_view(buf).substr(0, 3), req).status,
            ParseStatus::kPartial);
  ParseResult res = parser.parse(buf, req);
  ASSERT_EQ(res.status, ParseStatus::kComplete);
  EXPECT_EQ(req.path, "/abc");
}

TEST(RequestParser, HeaderLookupIsCaseInsensitive) {
  const std::string buf = H("GET / HTTP/1.1\nHost: a\nX-Thing: one\nx-thing: two\nEmpty:\n\n");
  RequestParser parser;
  Request req;
  ASSERT_EQ(parser.parse(buf, req).status, ParseStatus::kComplete);
  EXPECT_EQ(req.header("X-THING"), "one");  // the first of repeated fields
  EXPECT_EQ(req.header("host"), "a");
  EXPECT_NE(req.header("empty").data(), nullptr);
  EXPECT_EQ(req.header("empty"), "");
  EXPECT_EQ(req.header("missing").data(), nullptr);
  EXPECT_EQ(req.header("X-Thin").data(), nullptr);
  EXPECT_EQ(req.headers[0].name, "Host");  // case preserved
}

TEST(RequestParser, MethodNamesAndIequals) {
  EXPECT_EQ(method_name(Method::kGet), "GET");
  EXPECT_EQ(method_name(Method::kOptions), "OPTIONS");
  EXPECT_EQ(method_name(Method::kConnect), "CONNECT");
  EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(iequals("Content-Length", "Content-Lengt"));
  EXPECT_FALSE(iequals("[", "{"));  // only letters fold
  EXPECT_FALSE(iequals("@", "`"));
}

std::string head_of_size(size_t size, size_t value_len = 1000) {
  return ringshard::http::test::head_of_size(H("GET / HTTP/1.1\nHost: a\n"), size, value_len);
}

TEST(RequestParser, HeadOfExactly16KiBCompletesFedByteByByte) {
  const std::string head = head_of_size(16 * 1024);
  ASSERT_EQ(head.size(), 16u * 1024);
  RequestParser parser;
  Request req;
  size_t calls = 0;
  ParseResult res;
  for (size_t n = 1; n <= head.size(); ++n) {
    res = parser.parse(std::string_view(head).substr(0, n), req);
    ++calls;
    if (res.status != ParseStatus::kPartial) break;
  }
  EXPECT_EQ(res.status, ParseStatus::kComplete);
  EXPECT_EQ(res.consumed, head.size());
  EXPECT_EQ(calls, head.size());
}

TEST(RequestParser, HeadOf16KiBPlusOneIs431EvenByteByByte) {
  std::string head = head_of_size(16 * 1024 + 1);
  ASSERT_EQ(head.size(), 16u * 1024 + 1);
  {
    RequestParser parser;
    Request req;
    ParseResult res = parser.parse(head, req);
    EXPECT_EQ(res.status, ParseStatus::kError);
    EXPECT_EQ(res.error_status, 431);
  }
  RequestParser parser;
  Request req;
  ParseResult res;
  size_t n = 1;
  for (; n <= head.size(); ++n) {
    res = parser.parse(std::string_view(head).substr(0, n), req);
    if (res.status != ParseStatus::kPartial) break;
  }
  EXPECT_EQ(res.status, ParseStatus::kError);
  EXPECT_EQ(res.error_status, 431);
  EXPECT_EQ(n, 16u * 1024 + 1);  // as soon as the limit is passed
}

// With a quadratic rescan this would take minutes: 2^20 calls, each
// re-reading up to 2^20 bytes. Linear scanning takes well under a second.
TEST(RequestParser, MegabyteHeadFedByteByByteScansLinearly) {
  ParserLimits limits;
  limits.max_head_bytes = 1 << 20;
  limits.max_headers = kMaxHeadersCeiling;
  const std::string head = head_of_size(1 << 20, 8000);
  RequestParser parser(limits);
  Request req;
  ParseResult res;
  size_t calls = 0;
  for (size_t n = 1; n <= head.size(); ++n) {
    res = parser.parse(std::string_view(head).substr(0, n), req);
    ++calls;
    if (res.status != ParseStatus::kPartial) break;
  }
  EXPECT_EQ(res.status, ParseStatus::kComplete);
  EXPECT_EQ(calls, head.size());
}

TEST(RequestParser, LongTargetIs414BeforeTheLineEnds) {
  RequestParser parser;  // max_target_bytes = 8 KiB
  Request req;
  std::string line = "GET /" + std::string(8 * 1024, 'a');
  ParseResult res = parser.parse(line.substr(0, line.size() - 1), req);
  EXPECT_EQ(res.status, ParseStatus::kPartial);  // exactly 8 KiB so far
  res = parser.parse(line, req);
  EXPECT_EQ(res.status, ParseStatus::kError);
  EXPECT_EQ(res.error_status, 414);
}

TEST(RequestParser, HeaderCountIsClampedToTheCeiling) {
  ParserLimits limits;
  limits.max_headers = 100000;
  limits.max_head_bytes = 1 << 20;
  std::string head = H("GET / HTTP/1.1\nHost: a\n");
  for (size_t i = 1; i < kMaxHeadersCeiling; ++i) head += "X: y\r\n";
  RequestParser parser(limits);
  Request req;
  ParseResult res = parser.parse(head + "\r\n", req);
  ASSERT_EQ(res.status, ParseStatus::kComplete);
  EXPECT_EQ(req.header_count, kMaxHeadersCeiling);
  parser.reset();
  res = parser.parse(head + "X: y\r\n\r\n", req);
  EXPECT_EQ(res.status, ParseStatus::kError);
  EXPECT_EQ(res.error_status, 431);
}

TEST(RequestParser, ErrorsCarryAReason) {
  RequestParser parser;
  Request req;
  ParseResult res = parser.parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n", req);
  ASSERT_EQ(res.status, ParseStatus::kError);
  EXPECT_EQ(res.reason, "Content-Length with Transfer-Encoding");
  EXPECT_EQ(res.consumed, 0u);
}

}  // namespace
}  // namespace ringshard::http
