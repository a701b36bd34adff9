// Tests for ws/handshake.h: upgrade requests are real heads run through
// http::RequestParser, so the checks see what the server would see.
#include "ws/handshake.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/parser.h"

namespace ringshard::ws {
namespace RS_UNITY_ID {

constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";

// A parsed request that owns its bytes: the Request's views point into raw.
struct Parsed {
  std::string raw;
  http::Request req;
};

// Builds a head from a request line and header lines ("\n"-separated,
// CRLF added), parses it, and fails the test unless it is complete.
std::unique_ptr<Parsed> parse(std::string_view request_line, std::string_view headers) {
  auto p = std::make_unique<Parsed>();
  std::string text = std::string(request_line) + "\nHost: example.com\n" + std::string(headers);
  if (!text.empty() && text.back() != '\n') text += '\n';
  text += '\n';
  for (char c : text) {
    if (c == '\n') p->raw += '\r';
    p->raw += c;
  }
  http::RequestParser parser;
  http::ParseResult r = parser.parse(p->raw, p->req);
  EXPECT_EQ(r.status, http::ParseStatus::kComplete) << p->raw;
  return p;
}

constexpr std::string_view kGood =
    "Upgrade: websocket\n"
    "Connection: Upgrade\n"
    "Sec-WebSocket-Version: 13\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n";

// --- check_upgrade ---------------------------------------------------------

struct UpgradeCase {
  const char* name;
  const char* request_line;
  const char* headers;
  uint16_t status;
  const char* reason;  // "" when status is 0
};

class CheckUpgrade : public testing::TestWithParam<UpgradeCase> {};

TEST_P(CheckUpgrade, AnswersStatusAndReason) {
  const UpgradeCase& c = GetParam();
  auto p = parse(c.request_line, c.headers);
  HandshakeCheck check = check_upgrade(p->req);
  EXPECT_EQ(check.status, c.status);
  EXPECT_EQ(check.reason, c.reason);
  if (c.status == 0) {
    EXPECT_EQ(check.key, kKey);
  } else {
    EXPECT_TRUE(check.key.empty());
  }
}

#define KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
#define VER "Sec-WebSocket-Version: 13\n"
#define UPG "Upgrade: websocket\n"
#define CON "Connection: Upgrade\n"

const UpgradeCase kUpgradeCases[] = {
    {"Valid", "GET /chat HTTP/1.1", UPG CON VER KEY, 0, ""},
    {"TokensAnyCase", "GET /chat HTTP/1.1",
     "upgrade: WebSocket\nconnection: keep-alive, UPGRADE\n" VER KEY, 0, ""},
    {"UpgradeInList", "GET / HTTP/1.1", "Upgrade: h2c, websocket\n" CON VER KEY, 0, ""},
    {"UpgradeSecondInstance", "GET / HTTP/1.1",
     "Upgrade: h2c\nUpgrade: websocket\n" CON VER KEY, 0, ""},
    {"ConnectionSecondInstance", "GET / HTTP/1.1",
     UPG "Connection: keep-alive\nConnection: upgrade\n" VER KEY, 0, ""},
    {"Post", "POST / HTTP/1.1", UPG CON VER KEY, 400, "WebSocket upgrade needs GET"},
    {"Head", "HEAD / HTTP/1.1", UPG CON VER KEY, 400, "WebSocket upgrade needs GET"},
    {"Http10", "GET / HTTP/1.0", UPG CON VER KEY, 400, "WebSocket upgrade needs HTTP/1.1"},
    {"NoUpgrade", "GET / HTTP/1.1", CON VER KEY, 400, "Upgrade header missing"},
    {"UpgradeOther", "GET / HTTP/1.1", "Upgrade: h2c\n" CON VER KEY, 400,
     "Upgrade header must include websocket"},
    {"UpgradeEmpty", "GET / HTTP/1.1", "Upgrade:\n" CON VER KEY, 400,
     "Upgrade header must include websocket"},
    {"UpgradeVersioned", "GET / HTTP/1.1", "Upgrade: websocket/13\n" CON VER KEY, 400,
     "Upgrade header must include websocket"},
    {"NoConnection", "GET / HTTP/1.1", UPG VER KEY, 400, "Connection header missing"},
    {"ConnectionKeepAlive", "GET / HTTP/1.1", UPG "Connection: keep-alive\n" VER KEY, 400,
     "Connection header must include upgrade"},
    {"ConnectionUpgradeSubstring", "GET / HTTP/1.1", UPG "Connection: upgrades\n" VER KEY, 400,
     "Connection header must include upgrade"},
    {"NoVersion", "GET / HTTP/1.1", UPG CON KEY, 426, "Sec-WebSocket-Version must be 13"},
    {"Version8", "GET / HTTP/1.1", UPG CON "Sec-WebSocket-Version: 8\n" KEY, 426,
     "Sec-WebSocket-Version must be 13"},
    {"VersionList", "GET / HTTP/1.1", UPG CON "Sec-WebSocket-Version: 13, 8\n" KEY, 426,
     "Sec-WebSocket-Version must be 13"},
    {"VersionRepeated", "GET / HTTP/1.1", UPG CON VER VER KEY, 426,
     "Sec-WebSocket-Version must be 13"},
    {"VersionBeforeKey", "GET / HTTP/1.1", UPG CON "Sec-WebSocket-Version: 0\n", 426,
     "Sec-WebSocket-Version must be 13"},
    {"NoKey", "GET / HTTP/1.1", UPG CON VER, 400, "Sec-WebSocket-Key header missing"},
    {"KeyRepeated", "GET / HTTP/1.1", UPG CON VER KEY KEY, 400,
     "Sec-WebSocket-Key header repeated"},
    {"KeyTooShort", "GET / HTTP/1.1", UPG CON VER "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\n", 400,
     "Sec-WebSocket-Key must be base64 of 16 bytes"},
    {"KeyEmpty", "GET / HTTP/1.1", UPG CON VER "Sec-WebSocket-Key:\n", 400,
     "Sec-WebSocket-Key must be base64 of 16 bytes"},
};

INSTANTIATE_TEST_SUITE_P(Table, CheckUpgrade, testing::ValuesIn(kUpgradeCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(CheckUpgradeKey, ViewPointsIntoTheRequest) {
  auto p = parse("GET / HTTP/1.1", kGood);
  HandshakeCheck check = check_upgrade(p->req);
  ASSERT_EQ(check.status, 0);
  EXPECT_GE(check.key.data(), p->raw.data());
  EXPECT_LE(check.key.data() + check.key.size(), p->raw.data() + p->raw.size());
}

TEST(CheckUpgradeHandBuilt, JudgesHeadersNotTheUpgradeFlag) {
  // A Request filled by hand with Request::upgrade set but no Connection
  // header: the headers decide.
  auto p = parse("GET / HTTP/1.1", UPG VER KEY);
  p->req.upgrade = true;
  EXPECT_EQ(check_upgrade(p->req).reason, "Connection header missing");
}

// --- valid_key ---------------------------------------------------------------

struct KeyCase {
  const char* name;
  std::string_view key;
  bool valid;
};

class ValidKey : public testing::TestWithParam<KeyCase> {};

TEST_P(ValidKey, Decides) {
  EXPECT_EQ(valid_key(GetParam().key), GetParam().valid) << GetParam().key;
}

const KeyCase kKeyCases[] = {
    {"RfcExample", "dGhlIHNhbXBsZSBub25jZQ==", true},
    {"AllZero", "AAAAAAAAAAAAAAAAAAAAAA==", true},
    {"PlusSlash", "+/+/+/+/+/+/+/+/+/+/+w==", true},
    {"LastCharQ", "AAAAAAAAAAAAAAAAAAAAAQ==", true},    // Q = 16: low bits 0
    {"LastCharG", "AAAAAAAAAAAAAAAAAAAAAg==", true},    // g = 32
    {"NonCanonicalB", "AAAAAAAAAAAAAAAAAAAAAB==", false},  // B = 1
    {"NonCanonicalR", "dGhlIHNhbXBsZSBub25jZR==", false},  // R = 17
    {"NonCanonicalSlash", "AAAAAAAAAAAAAAAAAAAAA/==", false},
    {"Empty", "", false},
    {"TwentyThree", "dGhlIHNhbXBsZSBub25jZQ=", false},
    {"TwentyFive", "dGhlIHNhbXBsZSBub25jZQ===", false},
    {"SeventeenBytes", "dGhlIHNhbXBsZSBub25jZQ0=", false},
    {"FifteenBytes", "dGhlIHNhbXBsZSBub25j", false},
    {"NoPadding", "dGhlIHNhbXBsZSBub25jZQAA", false},
    {"OnePadAtEnd", "dGhlIHNhbXBsZSBub25jZQA=", false},
    {"PadInMiddle", "dGhlIHNhbXBs=SBub25jZQ==", false},
    {"UrlSafeDash", "dGhlIHNhbXBsZSBub25-ZQ==", false},
    {"UrlSafeUnderscore", "dGhlIHNhbXBsZSBub25_ZQ==", false},
    {"Space", "dGhlIHNhbXBsZSBub25 ZQ==", false},
    {"Dot", "dGhlIHNhbXBsZSBub25.ZQ==", false},
    {"HighByte", "dGhlIHNhbXBsZSBub25\xc3ZQ==", false},
    {"Nul", std::string_view("dGhlIHNhbXBsZSBub25\0ZQ==", 24), false},
};

INSTANTIATE_TEST_SUITE_P(Table, ValidKey, testing::ValuesIn(kKeyCases),
                         [](const auto& info) { return std::string(info.param.name); });

// --- accept_value / write_101 ------------------------------------------------

TEST(AcceptValue, Rfc6455Example) {
  char out[kAcceptSize];
  accept_value(kKey, out);
  EXPECT_EQ(std::string_view(out, kAcceptSize), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(AcceptValue, AnotherKnownPair) {
  // From the Autobahn / MDN examples.
  char out[kAcceptSize];
  accept_value("x3JJHMbDL1EzLkh9GBhXDw==", out);
  EXPECT_EQ(std::string_view(out, kAcceptSize), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

TEST(Write101, ExactHead) {
  std::string out;
  write_101(out, kKey, "", "");
  EXPECT_EQ(out,
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
}

TEST(Write101, ProtocolAndExtensions) {
  std::string out;
  write_101(out, kKey, "chat", "permessage-deflate; server_no_context_takeover");
  EXPECT_EQ(out,
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Sec-WebSocket-Protocol: chat\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"
            "\r\n");
}

TEST(Write101, ExtensionsWithoutProtocol) {
  std::string out;
  write_101(out, kKey, "", "permessage-deflate");
  EXPECT_NE(out.find("Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"),
            std::string::npos);
  EXPECT_EQ(out.find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(Write101, Appends) {
  std::string out = "prefix";
  write_101(out, kKey, "", "");
  EXPECT_EQ(out.rfind("prefixHTTP/1.1 101", 0), 0u);
}

// --- select_subprotocol --------------------------------------------------------

struct ProtocolCase {
  const char* name;
  const char* headers;
  std::vector<std::string> supported;
  const char* want;
};

class SelectSubprotocol : public testing::TestWithParam<ProtocolCase> {};

TEST_P(SelectSubprotocol, Picks) {
  const ProtocolCase& c = GetParam();
  auto p = parse("GET / HTTP/1.1", c.headers);
  std::string_view got = select_subprotocol(p->req, c.supported);
  EXPECT_EQ(got, c.want);
  if (!got.empty()) {
    bool into_supported = false;
    for (const std::string& s : c.supported) into_supported |= got.data() == s.data();
    EXPECT_TRUE(into_supported);
  }
}

const ProtocolCase kProtocolCases[] = {
    {"NoneOffered", "", {"chat"}, ""},
    {"NoneSupported", "Sec-WebSocket-Protocol: chat\n", {}, ""},
    {"Single", "Sec-WebSocket-Protocol: chat\n", {"chat"}, "chat"},
    {"ServerOrderWins", "Sec-WebSocket-Protocol: v1, v2\n", {"v2", "v1"}, "v2"},
    {"SkipsUnsupported", "Sec-WebSocket-Protocol: a, b, v1\n", {"v1"}, "v1"},
    {"NoMatch", "Sec-WebSocket-Protocol: a, b\n", {"c", "d"}, ""},
    {"CaseSensitive", "Sec-WebSocket-Protocol: Chat\n", {"chat"}, ""},
    {"MultipleHeaders", "Sec-WebSocket-Protocol: a\nSec-WebSocket-Protocol: b\n", {"b"}, "b"},
    {"HeaderNameAnyCase", "sec-websocket-protocol: chat\n", {"chat"}, "chat"},
    {"Whitespace", "Sec-WebSocket-Protocol:  a ,\tchat\t, b\n", {"chat"}, "chat"},
    {"EmptyElements", "Sec-WebSocket-Protocol: ,, chat,\n", {"chat"}, "chat"},
    {"NoPrefixMatch", "Sec-WebSocket-Protocol: chatty\n", {"chat"}, ""},
    {"EmptySupportedNeverMatches", "Sec-WebSocket-Protocol: ,\n", {""}, ""},
};

INSTANTIATE_TEST_SUITE_P(Table, SelectSubprotocol, testing::ValuesIn(kProtocolCases),
                         [](const auto& info) { return std::string(info.param.name); });

// --- extension_offers ----------------------------------------------------------

TEST(ExtensionOffers, AbsentIsEmpty) {
  auto p = parse("GET / HTTP/1.1", kGood);
  EXPECT_EQ(extension_offers(p->req), "");
}

TEST(ExtensionOffers, SingleHeaderAsSent) {
  auto p = parse("GET / HTTP/1.1",
                 "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\n");
  EXPECT_EQ(extension_offers(p->req), "permessage-deflate; client_max_window_bits");
}

TEST(ExtensionOffers, RepeatedHeadersJoined) {
  auto p = parse("GET / HTTP/1.1",
                 "Sec-WebSocket-Extensions: a; x=1\n"
                 "X-Other: y\n"
                 "sec-websocket-extensions: permessage-deflate\n");
  EXPECT_EQ(extension_offers(p->req), "a; x=1, permessage-deflate");
}

TEST(ExtensionOffers, EmptyInstancesSkipped) {
  auto p = parse("GET / HTTP/1.1",
                 "Sec-WebSocket-Extensions:\n"
                 "Sec-WebSocket-Extensions: permessage-deflate\n");
  EXPECT_EQ(extension_offers(p->req), "permessage-deflate");
}

}  // namespace
}  // namespace ringshard::ws
