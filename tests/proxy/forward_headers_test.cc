// Tests for proxy/forward_headers.h: one behaviour per test for each rule
// of the upstream request head (hop-by-hop removal, X-Forwarded-*,
// Forwarded, Via, Host, request id, path rewrite, framing, malformed
// fields) and of the response filter.
#include "proxy/forward_headers.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace ringshard::proxy {
namespace RS_UNITY_ID {

struct Fixture {
  std::vector<http::Header> headers;
  ForwardRequest request;
  ProxyRoute route;

  Fixture() {
    route.prefix = "/api/";
    route.upstream = "api";
    request.method = "GET";
    request.path = "/api/users";
    request.host = "www.example.com";
    request.client_address = "192.0.2.7";
    request.backend_host = "10.0.0.1:8080";
  }
  std::string build() {
    request.headers = headers;
    std::string out;
    ForwardResult r = build_upstream_request(request, route, out);
    EXPECT_TRUE(r.ok);
    return out;
  }
};

bool has_line(const std::string& head, const std::string& line) {
  return head.find("\r\n" + line + "\r\n") != std::string::npos;
}

bool has_field(const std::string& head, const std::string& name) {
  std::string lower_head;
  for (char c : head) lower_head += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string lower_name;
  for (char c : name) lower_name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower_head.find("\r\n" + lower_name + ":") != std::string::npos;
}

TEST(ForwardRequest, WholeHeadForASimpleGet) {
  Fixture f;
  f.headers = {{"Accept", "*/*"}, {"User-Agent", "t"}};
  EXPECT_EQ(f.build(),
            "GET /api/users HTTP/1.1\r\n"
            "Host: 10.0.0.1:8080\r\n"
            "Accept: */*\r\n"
            "User-Agent: t\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: www.example.com\r\n"
            "Forwarded: for=192.0.2.7;proto=http;host=www.example.com\r\n"
            "Via: 1.1 ringshard\r\n"
            "\r\n");
}

TEST(ForwardRequest, DropsHopByHopFields) {
  Fixture f;
  f.headers = {{"Connection", "keep-alive, X-Secret"}, {"Keep-Alive", "timeout=5"},
               {"TE", "trailers"},  {"Transfer-Encoding", "chunked"},
               {"Upgrade", "h2c"},  {"Proxy-Authorization", "Basic x"},
               {"Proxy-Connection", "keep-alive"}, {"x-secret", "1"},
               {"X-Kept", "yes"}};
  std::string head = f.build();
  for (const char* name : {"Connection", "Keep-Alive", "TE", "Transfer-Encoding", "Upgrade",
                           "Proxy-Authorization", "Proxy-Connection", "X-Secret"}) {
    EXPECT_FALSE(has_field(head, name)) << name << "\n" << head;
  }
  EXPECT_TRUE(has_line(head, "X-Kept: yes"));
}

TEST(ForwardRequest, FieldsNamedByAnyConnectionFieldGo) {
  Fixture f;
  f.headers = {{"Connection", "close"}, {"connection", " foo ,\tBar"}, {"Foo", "1"},
               {"bar", "2"}, {"Baz", "3"}};
  std::string head = f.build();
  EXPECT_FALSE(has_field(head, "Foo"));
  EXPECT_FALSE(has_field(head, "Bar"));
  EXPECT_TRUE(has_line(head, "Baz: 3"));
}

// The names a Connection field lists are gathered once per head, eight at
// most; past that every lookup walks the fields again. Both ways, each
// named field goes, whichever side of the eighth name it is on.
TEST(ForwardRequest, AConnectionFieldNamingManyFieldsDropsEachOfThem) {
  Fixture f;
  f.headers = {{"Connection", "n1, n2, n3, n4, n5, n6, n7"}, {"Connection", "n8, n9, N10"}};
  std::vector<std::string> names;  // the fields' views point here
  names.reserve(10);
  for (int i = 1; i <= 10; ++i) {
    names.push_back("n" + std::to_string(i));
    f.headers.push_back({names.back(), "v"});
  }
  f.headers.push_back({"Kept", "yes"});
  std::string head = f.build();
  for (int i = 1; i <= 10; ++i) EXPECT_FALSE(has_field(head, "n" + std::to_string(i))) << i;
  EXPECT_TRUE(has_line(head, "Kept: yes"));

  std::vector<http::Header> in = {{"Connection", "a, b, c, d, e, f, g, h, i"},
                                  {"a", "1"}, {"i", "9"}, {"Content-Type", "text/plain"}};
  std::array<http::HeaderField, 16> out;
  std::string via;
  ResponseFilter r = filter_response_headers(in, false, 1, "ringshard", via, out);
  ASSERT_EQ(r.count, 2u);
  EXPECT_EQ(out[0].name, "Content-Type");
  EXPECT_EQ(out[1].name, "Via");
}

TEST(ForwardRequest, XForwardedForReplacedWhenNotTrusted) {
  Fixture f;
  f.headers = {{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-Proto", "https"},
               {"X-Forwarded-Host", "evil"}, {"Forwarded", "for=6.6.6.6"}};
  std::string head = f.build();
  EXPECT_TRUE(has_line(head, "X-Forwarded-For: 192.0.2.7"));
  EXPECT_TRUE(has_line(head, "X-Forwarded-Proto: http"));
  EXPECT_TRUE(has_line(head, "X-Forwarded-Host: www.example.com"));
  EXPECT_TRUE(has_line(head, "Forwarded: for=192.0.2.7;proto=http;host=www.example.com"));
  EXPECT_EQ(head.find("6.6.6.6"), std::string::npos);
}

TEST(ForwardRequest, XForwardedForAppendedWhenTrusted) {
  Fixture f;
  f.route.trust_forwarded = true;
  f.headers = {{"X-Forwarded-For", "203.0.113.1"}, {"x-forwarded-for", "198.51.100.2"},
               {"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "shop.example"},
               {"Forwarded", "for=203.0.113.1;proto=https"}};
  std::string head = f.build();
  EXPECT_TRUE(has_line(head, "X-Forwarded-For: 203.0.113.1, 198.51.100.2, 192.0.2.7"));
  EXPECT_TRUE(has_line(head, "X-Forwarded-Proto: https"));
  EXPECT_TRUE(has_line(head, "X-Forwarded-Host: shop.example"));
  EXPECT_TRUE(has_line(
      head, "Forwarded: for=203.0.113.1;proto=https, for=192.0.2.7;proto=http;host=www.example.com"));
}

TEST(ForwardRequest, ForwardedQuotesIpv6AndHostWithPort) {
  Fixture f;
  f.request.client_address = "2001:db8::1";
  f.request.host = "www.example.com:8443";
  f.request.tls = true;
  std::string head = f.build();
  EXPECT_TRUE(has_line(head, "X-Forwarded-For: 2001:db8::1"));
  EXPECT_TRUE(has_line(head, "X-Forwarded-Proto: https"));
  EXPECT_TRUE(has_line(
      head, "Forwarded: for=\"[2001:db8::1]\";proto=https;host=\"www.example.com:8443\""));
}

TEST(ForwardRequest, ForwardedObfuscatedAndUnknown) {
  Fixture f;
  f.request.client_address = "_hidden42";
  EXPECT_TRUE(has_line(f.build(), "Forwarded: for=_hidden42;proto=http;host=www.example.com"));
  f.request.client_address = "";
  std::string head = f.build();
  EXPECT_TRUE(has_line(head, "Forwarded: for=unknown;proto=http;host=www.example.com"));
  EXPECT_TRUE(has_line(head, "X-Forwarded-For: unknown"));
  f.request.client_address = "not an address";
  EXPECT_TRUE(has_line(f.build(), "X-Forwarded-For: unknown"));
}

TEST(ForwardRequest, ViaAppendedWithTheClientsVersion) {
  Fixture f;
  f.headers = {{"Via", "1.1 edge"}};
  f.request.version_minor = 0;
  f.request.via_name = "gw";
  EXPECT_TRUE(has_line(f.build(), "Via: 1.1 edge, 1.0 gw"));
}

TEST(ForwardRequest, HostIsTheBackendsUnlessPreserved) {
  Fixture f;
  f.headers = {{"Host", "www.example.com"}};
  std::string head = f.build();
  EXPECT_TRUE(has_line(head, "Host: 10.0.0.1:8080"));
  EXPECT_FALSE(has_line(head, "Host: www.example.com"));
  f.route.preserve_host = true;
  head = f.build();
  EXPECT_TRUE(has_line(head, "Host: www.example.com"));
  EXPECT_EQ(head.find("10.0.0.1"), std::string::npos);
}

TEST(ForwardRequest, RequestIdAndTraceContextPassThrough) {
  Fixture f;
  f.headers = {{"X-Request-ID", "abc"},
               {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
               {"tracestate", "a=1"}};
  f.request.request_id = "generated";
  std::string head = f.build();
  EXPECT_TRUE(has_line(head, "X-Request-ID: abc"));
  EXPECT_EQ(head.find("generated"), std::string::npos);
  EXPECT_TRUE(has_line(head, "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_TRUE(has_line(head, "tracestate: a=1"));
}

TEST(ForwardRequest, GeneratedRequestIdAddedWhenAbsent) {
  Fixture f;
  f.request.request_id = "req-1";
  EXPECT_TRUE(has_line(f.build(), "X-Request-ID: req-1"));
}

TEST(ForwardRequest, WebSocketUpgradeForwarded) {
  Fixture f;
  f.headers = {{"Connection", "Upgrade"}, {"Upgrade", "websocket"},
               {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
               {"Sec-WebSocket-Version", "13"}};
  f.request.websocket = true;
  std::string head = f.build();
  EXPECT_TRUE(has_line(head, "Connection: Upgrade"));
  EXPECT_TRUE(has_line(head, "Upgrade: websocket"));
  EXPECT_TRUE(has_line(head, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(has_line(head, "Sec-WebSocket-Version: 13"));
}

TEST(ForwardRequest, FramingIsOurs) {
  Fixture f;
  f.headers = {{"Content-Length", "999"}, {"Expect", "100-continue"}};
  f.request.method = "POST";
  f.request.body = ForwardRequest::Body::kLength;
  f.request.content_length = 12;
  std::string head = f.build();
  EXPECT_TRUE(has_line(head, "Content-Length: 12"));
  EXPECT_EQ(head.find("999"), std::string::npos);
  EXPECT_FALSE(has_field(head, "Expect"));
  f.request.body = ForwardRequest::Body::kChunked;
  head = f.build();
  EXPECT_TRUE(has_line(head, "Transfer-Encoding: chunked"));
  EXPECT_FALSE(has_field(head, "Content-Length"));
}

TEST(ForwardRequest, MalformedFieldsAreDroppedAndCounted) {
  Fixture f;
  f.headers = {{"Bad Name", "x"}, {"X-Inject", "a\r\nEvil: 1"}, {"X-Nul", std::string_view("a\0b", 3)},
               {"X-Tab", "a\tb"}};
  f.request.headers = f.headers;
  std::string out;
  ForwardResult r = build_upstream_request(f.request, f.route, out);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.dropped, 3u);
  EXPECT_EQ(out.find("Evil"), std::string::npos);
  EXPECT_TRUE(has_line(out, "X-Tab: a\tb"));
}

TEST(ForwardRequest, UnsendableTargetIsRefused) {
  Fixture f;
  std::string out = "stale";
  f.request.path = "/api/a b";
  EXPECT_FALSE(build_upstream_request(f.request, f.route, out).ok);
  EXPECT_TRUE(out.empty());
  f.request.path = "/api/x";
  f.request.method = "G ET";
  EXPECT_FALSE(build_upstream_request(f.request, f.route, out).ok);
  f.request.method = "GET";
  f.request.query = "a=\r\n";
  EXPECT_FALSE(build_upstream_request(f.request, f.route, out).ok);
}

TEST(ForwardRequest, QueryIsKept) {
  Fixture f;
  f.request.query = "page=2&q=x";
  EXPECT_EQ(f.build().rfind("GET /api/users?page=2&q=x HTTP/1.1\r\n", 0), 0u);
}

TEST(ForwardRequest, AReusedBufferIsNotReallocated) {
  Fixture f;
  f.headers = {{"Accept", "*/*"}, {"X-Forwarded-For", "203.0.113.1"}, {"Via", "1.1 a"}};
  f.request.headers = f.headers;
  f.route.trust_forwarded = true;
  std::string out;
  ASSERT_TRUE(build_upstream_request(f.request, f.route, out).ok);
  const char* data = out.data();
  const size_t capacity = out.capacity();
  for (int k = 0; k < 100; ++k) {
    ASSERT_TRUE(build_upstream_request(f.request, f.route, out).ok);
    EXPECT_EQ(out.data(), data);
    EXPECT_EQ(out.capacity(), capacity);
  }
}

std::string rewritten(const ProxyRoute& r, std::string_view path) {
  std::string out;
  rewrite_path(r, path, out);
  return out;
}

TEST(RewritePath, StripAndReplaceKeepOneSlash) {
  ProxyRoute r;
  r.prefix = "/api/";
  EXPECT_EQ(rewritten(r, "/api/users"), "/api/users");
  r.strip_prefix = true;
  EXPECT_EQ(rewritten(r, "/api/users"), "/users");
  EXPECT_EQ(rewritten(r, "/api/"), "/");
  r.prefix = "/api";
  EXPECT_EQ(rewritten(r, "/api/users"), "/users");
  EXPECT_EQ(rewritten(r, "/api"), "/");
  r.strip_prefix = false;
  r.replace_prefix = "/v2/";
  EXPECT_EQ(rewritten(r, "/api/users"), "/v2/users");
  r.prefix = "/api/";
  r.replace_prefix = "/v2";
  EXPECT_EQ(rewritten(r, "/api/users"), "/v2/users");
  EXPECT_EQ(rewritten(r, "/api/"), "/v2");
}

TEST(ForwardRequest, RewrittenPathInTheRequestLine) {
  Fixture f;
  f.route.strip_prefix = true;
  f.request.query = "x=1";
  EXPECT_EQ(f.build().rfind("GET /users?x=1 HTTP/1.1\r\n", 0), 0u);
}

TEST(FilterResponse, DropsHopByHopAndFramingAddsVia) {
  std::vector<http::Header> in = {{"Content-Type", "text/plain"}, {"Connection", "close, X-Hop"},
                                  {"Keep-Alive", "timeout=5"}, {"X-Hop", "1"},
                                  {"Transfer-Encoding", "chunked"}, {"Content-Length", "5"},
                                  {"Proxy-Authenticate", "Basic"}, {"Via", "1.1 backend"},
                                  {"Set-Cookie", "a=1"}};
  std::array<http::HeaderField, 16> out;
  std::string via;
  ResponseFilter f = filter_response_headers(in, false, 1, "ringshard", via, out);
  ASSERT_EQ(f.count, 3u);
  EXPECT_EQ(out[0].name, "Content-Type");
  EXPECT_EQ(out[1].name, "Set-Cookie");
  EXPECT_EQ(out[2].name, "Via");
  EXPECT_EQ(out[2].value, "1.1 backend, 1.1 ringshard");
  EXPECT_FALSE(f.truncated);
}

TEST(FilterResponse, KeepsUpgradeForA101) {
  std::vector<http::Header> in = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"},
                                  {"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}};
  std::array<http::HeaderField, 8> out;
  std::string via;
  ResponseFilter f = filter_response_headers(in, true, 1, "ringshard", via, out);
  ASSERT_EQ(f.count, 4u);
  EXPECT_EQ(out[0].name, "Upgrade");
  EXPECT_EQ(out[1].name, "Sec-WebSocket-Accept");
  EXPECT_EQ(out[2].name, "Connection");
  EXPECT_EQ(out[2].value, "Upgrade");
  EXPECT_EQ(out[3].name, "Via");
}

TEST(FilterResponse, MalformedDroppedAndSmallOutputTruncates) {
  std::vector<http::Header> in = {{"X-A", "1"}, {"X-Bad", "x\ny"}, {"X-B", "2"}};
  std::array<http::HeaderField, 1> out;
  std::string via;
  ResponseFilter f = filter_response_headers(in, false, 1, "ringshard", via, out);
  EXPECT_EQ(f.dropped, 1u);
  EXPECT_EQ(f.count, 1u);
  EXPECT_TRUE(f.truncated);
}

TEST(HopByHop, Names) {
  for (const char* n : {"Connection", "keep-alive", "TE", "transfer-encoding", "UPGRADE",
                        "Proxy-Authorization", "proxy-connection"}) {
    EXPECT_TRUE(is_hop_by_hop(n)) << n;
  }
  for (const char* n : {"Host", "Trailer", "X-Proxy", "Proxy", "Content-Length"}) {
    EXPECT_FALSE(is_hop_by_hop(n)) << n;
  }
}

}  // namespace
}  // namespace ringshard::proxy
