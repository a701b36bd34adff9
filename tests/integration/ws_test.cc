// WebSocket over real loopback sockets, driven by the project's own client
// (tests/support/ws_client.h): handshake, echo, fragmentation, control
// frames, every protocol error with its close code (and a bystander that
// keeps being served), limits, keepalive on a manual clock, backpressure,
// topics across shards, shutdown, deflate and TLS.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/test_server.h"
#include "tests/support/ws_client.h"
#include "ws/builtin_endpoints.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

using ws::Opcode;

std::string pattern(size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>('a' + (x >> 16) % 26);
  }
  return s;
}

// A bystander on the same server must be unaffected by a failing peer.
void expect_bystander_served(uint16_t port) {
  WsTestClient b(port, "/ws/echo");
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_TRUE(b.send_text("still here"));
  auto m = b.read_message();
  ASSERT_TRUE(m) << b.error();
  EXPECT_EQ(m->data, "still here");
}

// --- handshake --------------------------------------------------------------

TEST(WsHandshake, UpgradesAndAnswersTheAcceptKey) {
  TestServer s;
  WsTestClient c(s.port(), "/ws/echo");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c.handshake().status, 101);
  EXPECT_EQ(c.handshake().header("upgrade"), "websocket");
  EXPECT_EQ(c.handshake().header("sec-websocket-accept").size(), 28u);
  EXPECT_TRUE(c.handshake().header("sec-websocket-extensions").empty());
}

TEST(WsHandshake, RfcExampleKey) {
  TestServer s;
  TestConnection c(s.port());
  ASSERT_TRUE(c.send("GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 101);
  EXPECT_EQ(r->header("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

struct BadHandshake {
  const char* name;
  std::string request;
  int status;
};

TEST(WsHandshake, RefusesBadRequestsWithTheReason) {
  const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const std::string up = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  const std::string v13 = "Sec-WebSocket-Version: 13\r\n";
  const BadHandshake cases[] = {
      {"no upgrade header", "GET /ws/echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n" + key + v13, 400},
      {"no connection upgrade", "GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n" + key + v13, 400},
      {"no key", "GET /ws/echo HTTP/1.1\r\nHost: x\r\n" + up + v13, 400},
      {"short key", "GET /ws/echo HTTP/1.1\r\nHost: x\r\n" + up + "Sec-WebSocket-Key: abc==\r\n" + v13, 400},
      {"no version", "GET /ws/echo HTTP/1.1\r\nHost: x\r\n" + up + key, 426},
      {"version 8", "GET /ws/echo HTTP/1.1\r\nHost: x\r\n" + up + key + "Sec-WebSocket-Version: 8\r\n", 426},
      {"http/1.0", "GET /ws/echo HTTP/1.0\r\nHost: x\r\n" + up + key + v13, 400},
      {"post", "POST /ws/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" + up + key + v13, 405},
  };
  TestServer s;
  for (const auto& bc : cases) {
    SCOPED_TRACE(bc.name);
    TestConnection c(s.port());
    ASSERT_TRUE(c.send(bc.request + "\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, bc.status) << r->body;
    EXPECT_FALSE(r->body.empty());
    if (bc.status == 426) {
      EXPECT_EQ(r->header("sec-websocket-version"), "13");
    }
  }
  expect_bystander_served(s.port());
}

class Guarded final : public ws::Endpoint {
 public:
  std::vector<std::string> protocols() const override { return {"v2", "v1"}; }
  void on_upgrade(const http::ServerRequest& req, ws::UpgradeDecision& d) const override {
    const std::string_view auth = req.header("Authorization");
    if (auth.empty()) {
      d.refuse_status = 401;
      d.refuse_reason = "a bearer token is required";
    } else if (auth != "Bearer good") {
      d.refuse_status = 403;
      d.refuse_reason = "token not allowed";
    }
  }
  void on_message(ws::WebSocket& ws, std::string_view m, bool text) const override {
    ws.send(std::string(ws.protocol()) + ":" + std::string(m), text);
  }
};

TestServerOptions with_guarded() {
  TestServerOptions o;
  o.setup = [](server::ServerApp& app) {
    app.ws().add_endpoint(app.router(), "/guarded", std::make_shared<Guarded>());
  };
  return o;
}

TEST(WsHandshake, ApplicationRefusesWith401And403) {
  TestServer s(with_guarded());
  {
    WsTestClient c(s.port(), "/guarded");
    EXPECT_FALSE(c.ok());
    EXPECT_EQ(c.handshake().status, 401);
  }
  {
    WsTestClient c(s.port(), "/guarded", {.extra_headers = {"Authorization: Bearer bad"}});
    EXPECT_FALSE(c.ok());
    EXPECT_EQ(c.handshake().status, 403);
  }
  WsTestClient c(s.port(), "/guarded", {.protocols = {"v1", "v2"}, .extra_headers = {"Authorization: Bearer good"}});
  ASSERT_TRUE(c.ok()) << c.error();
  // The server's preference wins among the offers.
  EXPECT_EQ(c.handshake().header("sec-websocket-protocol"), "v2");
  ASSERT_TRUE(c.send_text("x"));
  EXPECT_EQ(c.read_data(), "v2:x");
}

TEST(WsHandshake, NoCommonSubprotocolMeansNone) {
  TestServer s(with_guarded());
  WsTestClient c(s.port(), "/guarded", {.protocols = {"v9"}, .extra_headers = {"Authorization: Bearer good"}});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_TRUE(c.handshake().header("sec-websocket-protocol").empty());
}

TEST(WsHandshake, FrameBehindTheUpgradeRequestIsRead) {
  // The first frame arrives in the same segment as the upgrade request: it
  // must be read from the same buffer, not lost.
  TestServer s;
  TestConnection c(s.port());
  std::string frame;
  {
    // A masked text frame "early" with mask 1 2 3 4.
    const uint8_t key[4] = {1, 2, 3, 4};
    char head[14];
    const size_t h = ws::encode_header(head, Opcode::kText, 5, true, false, key);
    frame.assign(head, h);
    std::string p = "early";
    ws::apply_mask(p.data(), p.size(), key, 0);
    frame += p;
  }
  ASSERT_TRUE(c.send("GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n" + frame));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 101);
  std::string in;
  while (in.size() < 7) ASSERT_TRUE(c.read_some(in));
  EXPECT_EQ(in.substr(0, 7), std::string("\x81\x05" "early", 7));
}

// --- echo -----------------------------------------------------------------------

class WsEcho : public ::testing::TestWithParam<bool> {};  // param: deflate

TEST_P(WsEcho, TextBinaryEmptyAndOneMebibyte) {
  TestServer s;
  WsTestClient c(s.port(), "/ws/echo", {.deflate = GetParam()});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c.deflate(), GetParam());
  const std::string big = pattern(1 << 20);
  const std::string bin = std::string("\0\1\2\xff\xfe", 5) + pattern(300, 7);
  struct Case { Opcode op; std::string data; } cases[] = {
      {Opcode::kText, "hello"}, {Opcode::kBinary, bin}, {Opcode::kText, ""},
      {Opcode::kBinary, ""}, {Opcode::kText, big}, {Opcode::kText, "h\xc3\xa9llo \xf0\x9f\x8c\x8d"},
  };
  for (const auto& cs : cases) {
    ASSERT_TRUE(c.send_message(cs.op, cs.data));
    auto m = c.read_message();
    ASSERT_TRUE(m) << c.error();
    EXPECT_EQ(m->opcode, cs.op);
    EXPECT_EQ(m->data.size(), cs.data.size());
    EXPECT_TRUE(m->data == cs.data);
    // Large messages come back compressed when deflate is on.
    if (GetParam() && cs.data.size() >= 1024) {
      EXPECT_TRUE(m->compressed);
    }
    if (!GetParam()) {
      EXPECT_FALSE(m->compressed);
    }
  }
  // Many small messages in one write: every one echoed, in order.
  std::string burst;
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(c.send_text("m" + std::to_string(i), false));
  for (int i = 0; i < 200; ++i) {
    auto m = c.read_message();
    ASSERT_TRUE(m) << c.error();
    ASSERT_EQ(m->data, "m" + std::to_string(i));
  }
  ASSERT_TRUE(c.close(1000, "bye"));
  auto m = c.read_message();
  ASSERT_TRUE(m) << c.error();
  EXPECT_EQ(m->opcode, Opcode::kClose);
  EXPECT_EQ(m->close_code, 1000);
  EXPECT_TRUE(c.wait_closed());
}

TEST_P(WsEcho, FragmentedMessageWithPingBetweenFragments) {
  TestServer s;
  WsTestClient c(s.port(), "/ws/echo", {.deflate = GetParam()});
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_TRUE(c.send_frame(Opcode::kText, "frag", false));
  ASSERT_TRUE(c.send_frame(Opcode::kPing, "are you there"));
  ASSERT_TRUE(c.send_frame(Opcode::kContinuation, "men", false));
  ASSERT_TRUE(c.send_frame(Opcode::kContinuation, "ted", true));
  auto pong = c.read_message();
  ASSERT_TRUE(pong) << c.error();
  EXPECT_EQ(pong->opcode, Opcode::kPong);
  EXPECT_EQ(pong->data, "are you there");
  auto m = c.read_message();
  ASSERT_TRUE(m) << c.error();
  EXPECT_EQ(m->data, "fragmented");
}

TEST_P(WsEcho, MessageSplitAcrossManyWrites) {
  TestServer s;
  WsTestClient c(s.port(), "/ws/echo", {.deflate = GetParam()});
  ASSERT_TRUE(c.ok()) << c.error();
  // One 100 KiB frame, written in 1000-byte pieces with a pause-free loop:
  // the server sees it across many reads.
  const std::string payload = pattern(100 * 1024, 3);
  uint8_t key[4] = {9, 8, 7, 6};
  char head[14];
  const size_t h = ws::encode_header(head, Opcode::kBinary, payload.size(), true, false, key);
  std::string frame(head, h);
  std::string masked = payload;
  ws::apply_mask(masked.data(), masked.size(), key, 0);
  frame += masked;
  for (size_t i = 0; i < frame.size(); i += 1000) ASSERT_TRUE(c.send_raw(frame.substr(i, 1000)));
  auto m = c.read_message();
  ASSERT_TRUE(m) << c.error();
  EXPECT_TRUE(m->data == payload);
}

INSTANTIATE_TEST_SUITE_P(DeflateOffOn, WsEcho, ::testing::Bool());

TEST(WsEcho, PingIsAnsweredWithTheSamePayload) {
  TestServer s;
  WsTestClient c(s.port(), "/ws/echo");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.send_frame(Opcode::kPing, std::string(125, 'p')));
  auto m = c.read_message();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->opcode, Opcode::kPong);
  EXPECT_EQ(m->data, std::string(125, 'p'));
  // An unsolicited pong is ignored.
  ASSERT_TRUE(c.send_frame(Opcode::kPong, "x"));
  ASSERT_TRUE(c.send_text("after"));
  EXPECT_EQ(c.read_data(), "after");
}

TEST(WsEcho, CloseWithoutPayloadIsEchoedEmpty) {
  TestServer s;
  WsTestClient c(s.port(), "/ws/echo");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.send_frame(Opcode::kClose, ""));
  auto m = c.read_message();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->opcode, Opcode::kClose);
  EXPECT_EQ(m->close_code, 1005);  // empty payload
  EXPECT_TRUE(c.wait_closed());
}

// --- protocol errors -------------------------------------------------------------

struct ProtocolError {
  const char* name;
  std::function<void(WsTestClient&)> send;
  uint16_t code;
};

std::string close_body(uint16_t code, std::string_view reason = {}) {
  std::string b;
  b += static_cast<char>(code >> 8);
  b += static_cast<char>(code & 0xff);
  b += reason;
  return b;
}

TEST(WsProtocolErrors, EachClosesWithItsCodeAndOthersAreServed) {
  const ProtocolError cases[] = {
      {"unmasked client frame", [](WsTestClient& c) { c.send_frame(Opcode::kText, "x", true, false, false); }, 1002},
      {"rsv1 without deflate", [](WsTestClient& c) { c.send_frame(Opcode::kText, "x", true, true); }, 1002},
      {"rsv2", [](WsTestClient& c) { c.send_frame(Opcode::kText, "x", true, false, true, 0x20); }, 1002},
      {"rsv3", [](WsTestClient& c) { c.send_frame(Opcode::kText, "x", true, false, true, 0x10); }, 1002},
      {"opcode 3", [](WsTestClient& c) { c.send_frame(static_cast<Opcode>(3), "x"); }, 1002},
      {"opcode 0xB", [](WsTestClient& c) { c.send_frame(static_cast<Opcode>(0xB), "x"); }, 1002},
      {"ping of 126 bytes", [](WsTestClient& c) { c.send_frame(Opcode::kPing, std::string(126, 'x')); }, 1002},
      {"fragmented ping", [](WsTestClient& c) { c.send_frame(Opcode::kPing, "x", false); }, 1002},
      {"continuation first", [](WsTestClient& c) { c.send_frame(Opcode::kContinuation, "x"); }, 1002},
      {"text inside a fragmented message", [](WsTestClient& c) {
         c.send_frame(Opcode::kText, "a", false);
         c.send_frame(Opcode::kText, "b");
       }, 1002},
      {"close with 1-byte payload", [](WsTestClient& c) { c.send_frame(Opcode::kClose, "x"); }, 1002},
      {"close code 999", [](WsTestClient& c) { c.send_frame(Opcode::kClose, close_body(999)); }, 1002},
      {"close code 1005", [](WsTestClient& c) { c.send_frame(Opcode::kClose, close_body(1005)); }, 1002},
      {"close code 1016", [](WsTestClient& c) { c.send_frame(Opcode::kClose, close_body(1016)); }, 1002},
      {"close code 5000", [](WsTestClient& c) { c.send_frame(Opcode::kClose, close_body(5000)); }, 1002},
      {"close reason not UTF-8", [](WsTestClient& c) { c.send_frame(Opcode::kClose, close_body(1000, "\xff")); }, 1007},
      {"text not UTF-8", [](WsTestClient& c) { c.send_frame(Opcode::kText, "ab\xc0\xaf"); }, 1007},
      {"text ends mid-character", [](WsTestClient& c) { c.send_frame(Opcode::kText, "ab\xe2\x82"); }, 1007},
      {"surrogate in text", [](WsTestClient& c) { c.send_frame(Opcode::kText, "\xed\xa0\x80"); }, 1007},
  };
  TestServer s;
  for (const auto& pc : cases) {
    SCOPED_TRACE(pc.name);
    WsTestClient c(s.port(), "/ws/echo");
    ASSERT_TRUE(c.ok()) << c.error();
    pc.send(c);
    EXPECT_EQ(c.read_close_code(), pc.code) << c.error();
    EXPECT_TRUE(c.wait_closed());
  }
  expect_bystander_served(s.port());
  EXPECT_GE(s.ws_sum([](const ws::WsMetrics& m) { return m.protocol_errors.get(); }), 15u);
  EXPECT_GE(s.ws_sum([](const ws::WsMetrics& m) { return m.invalid_utf8.get(); }), 4u);
}

TEST(WsProtocolErrors, InvalidUtf8FailsFastBeforeTheMessageEnds) {
  TestServer s;
  WsTestClient c(s.port(), "/ws/echo");
  ASSERT_TRUE(c.ok());
  // The first fragment already holds an impossible byte: the server closes
  // without waiting for the rest of the message.
  ASSERT_TRUE(c.send_frame(Opcode::kText, "valid so far \xf5", false));
  EXPECT_EQ(c.read_close_code(), 1007);
}

TEST(WsLimits, FrameAndMessageOverTheLimitClose1009) {
  TestServerOptions o;
  o.tweak = [](server::Options& opt) {
    opt.ws_max_frame_bytes = 4096;
    opt.ws_max_message_bytes = 8192;
  };
  TestServer s(o);
  {
    WsTestClient c(s.port(), "/ws/echo");
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send_text(std::string(4096, 'a')));  // at the limit: fine
    EXPECT_EQ(c.read_data(), std::string(4096, 'a'));
    ASSERT_TRUE(c.send_text(std::string(4097, 'a')));
    EXPECT_EQ(c.read_close_code(), 1009);
  }
  {
    WsTestClient c(s.port(), "/ws/echo");
    ASSERT_TRUE(c.ok());
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(c.send_frame(i ? Opcode::kContinuation : Opcode::kText, std::string(4096, 'b'), false));
    ASSERT_TRUE(c.send_frame(Opcode::kContinuation, "b"));
    EXPECT_EQ(c.read_close_code(), 1009);
  }
  {
    // Compressed: 64 KiB of zeros is tiny on the wire but over the limit
    // once inflated.
    WsTestClient c(s.port(), "/ws/echo", {.deflate = true});
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send_binary(std::string(64 * 1024, '\0')));
    EXPECT_EQ(c.read_close_code(), 1009);
  }
  expect_bystander_served(s.port());
  EXPECT_EQ(s.ws_sum([](const ws::WsMetrics& m) { return m.too_big.get(); }), 3u);
}

// --- keepalive on a manual clock ---------------------------------------------------

TEST(WsKeepalive, PingsAQuietPeerAndClosesWhenNoPongComes) {
  TestServerOptions o;
  o.manual_clock = true;
  o.shards = 1;
  o.tweak = [](server::Options& opt) {
    opt.ws_ping_interval_ms = 1000;
    opt.ws_pong_timeout_ms = 500;
  };
  TestServer s(o);
  WsTestClient answering(s.port(), "/ws/echo");
  WsTestClient silent(s.port(), "/ws/echo");
  ASSERT_TRUE(answering.ok() && silent.ok());
  ASSERT_TRUE(TestServer::wait_until([&] {
    return s.ws_sum([](const ws::WsMetrics& m) { return m.open.get(); }) == 2;
  }));
  s.advance(1000);
  auto p1 = answering.read_message();
  auto p2 = silent.read_message();
  ASSERT_TRUE(p1 && p2);
  EXPECT_EQ(p1->opcode, Opcode::kPing);
  EXPECT_EQ(p2->opcode, Opcode::kPing);
  ASSERT_TRUE(answering.send_frame(Opcode::kPong, p1->data));
  ASSERT_TRUE(TestServer::wait_until([&] {
    return s.ws_sum([](const ws::WsMetrics& m) { return m.bytes_in.get(); }) > 0;
  }));
  s.advance(500);
  EXPECT_TRUE(silent.wait_closed());
  EXPECT_EQ(s.ws_sum([](const ws::WsMetrics& m) { return m.pong_timeouts.get(); }), 1u);
  // The one that answered is still served.
  ASSERT_TRUE(answering.send_text("alive"));
  EXPECT_EQ(answering.read_data(), "alive");
}

TEST(WsKeepalive, IdleTimeoutClosesWith1000) {
  TestServerOptions o;
  o.manual_clock = true;
  o.shards = 1;
  o.tweak = [](server::Options& opt) {
    opt.ws_ping_interval_ms = 0;
    opt.ws_idle_timeout_ms = 2000;
  };
  TestServer s(o);
  WsTestClient c(s.port(), "/ws/echo");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(TestServer::wait_until([&] {
    return s.ws_sum([](const ws::WsMetrics& m) { return m.open.get(); }) == 1;
  }));
  s.advance(2000);
  auto m = c.read_message();
  ASSERT_TRUE(m) << c.error();
  EXPECT_EQ(m->opcode, Opcode::kClose);
  EXPECT_EQ(m->close_code, 1000);
  ASSERT_TRUE(c.close(1000));
  EXPECT_TRUE(c.wait_closed());
}

// --- backpressure -------------------------------------------------------------------

// Sends "flood N SIZE" replies: N binary messages of SIZE bytes; counts
// kBackpressured answers and drain callbacks.
class Flood final : public ws::Endpoint {
 public:
  void on_message(ws::WebSocket& ws, std::string_view m, bool) const override {
    int n = 0;
    size_t size = 0;
    std::sscanf(std::string(m).c_str(), "flood %d %zu", &n, &size);
    const std::string payload(size, 'f');
    for (int i = 0; i < n; ++i) {
      const ws::SendStatus st = ws.send(payload, false);
      if (st == ws::SendStatus::kBackpressured) backpressured++;
      if (st == ws::SendStatus::kDropped) dropped++;
      if (st != ws::SendStatus::kSent) break;
    }
  }
  void on_writable(ws::WebSocket& ws) const override {
    drains++;
    ws.send("drained");
  }
  mutable std::atomic<int> backpressured{0}, dropped{0}, drains{0};
};

TEST(WsBackpressure, SendReportsBackpressureThenDrains) {
  auto flood = std::make_shared<Flood>();
  TestServerOptions o;
  o.shards = 1;
  o.tweak = [](server::Options& opt) { opt.send_queue_limit = 64 * 1024; };
  o.setup = [flood](server::ServerApp& app) { app.ws().add_endpoint(app.router(), "/flood", flood); };
  TestServer s(o);
  WsTestClient c(s.port(), "/flood");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.send_text("flood 1000 16384"));
  // Reading everything lets the queue drain: the endpoint hears about it.
  size_t got = 0;
  bool drained = false;
  while (!drained) {
    auto m = c.read_message();
    ASSERT_TRUE(m) << c.error();
    if (m->opcode == Opcode::kText && m->data == "drained") drained = true;
    else got++;
  }
  EXPECT_EQ(flood->backpressured.load(), 1);
  EXPECT_EQ(flood->drains.load(), 1);
  EXPECT_GE(got, 4u);
  EXPECT_LT(got, 1000u);  // it stopped sending when told
}

TEST(WsBackpressure, SlowConsumerPastTheCapIsClosed1008OthersUnaffected) {
  TestServerOptions o;
  o.shards = 1;
  o.tweak = [](server::Options& opt) {
    opt.ws_max_send_queue = 256 * 1024;
    opt.send_queue_limit = 64 * 1024;
  };
  TestServer s(o);
  // The slow consumer joins a channel and never reads; the fast one sends
  // to the channel and reads everything.
  WsTestClient slow(s.port(), "/ws/chat");
  WsTestClient fast(s.port(), "/ws/chat");
  ASSERT_TRUE(slow.ok() && fast.ok());
  ASSERT_TRUE(slow.send_text(R"({"type":"join_channel","channel":"c"})"));
  ASSERT_TRUE(fast.send_text(R"({"type":"join_channel","channel":"c"})"));
  EXPECT_EQ(fast.read_data(), R"({"type":"joined","channel":"c"})");
  ASSERT_TRUE(TestServer::wait_until([&] { return s.ws_subscribers(0, "chat:c") == 2; }));
  const std::string msg = R"({"type":"channel_message","channel":"c","message":")" +
                          std::string(60 * 1024, 'x') + "\"}";
  // Loopback buffers can absorb a few MiB: send well past that.
  int received = 0;
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(fast.send_text(msg, false));
    auto m = fast.read_message();
    ASSERT_TRUE(m) << fast.error();
    ASSERT_EQ(m->opcode, Opcode::kText);
    received++;
    if (s.ws_sum([](const ws::WsMetrics& m) { return m.slow_consumers.get(); }) == 1 && i >= 10) break;
  }
  EXPECT_EQ(s.ws_sum([](const ws::WsMetrics& m) { return m.slow_consumers.get(); }), 1u);
  // The fast one goes on being served.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(fast.send_text(msg, false));
    auto m = fast.read_message();
    ASSERT_TRUE(m) << fast.error();
  }
  // The slow one finally reads: what was queued, then close 1008.
  EXPECT_EQ(slow.read_close_code(), 1008);
}

// --- topics across shards ----------------------------------------------------------

TEST(WsTopics, EverySubscriberOnEveryShardGetsEachMessageOnceInOrder) {
  TestServer s;  // 2 shards
  std::vector<std::unique_ptr<WsTestClient>> subs;
  // Open until both shards hold subscribers (SO_REUSEPORT spreads them).
  for (int i = 0; i < 64; ++i) {
    auto c = std::make_unique<WsTestClient>(s.port(), "/ws/chat");
    ASSERT_TRUE(c->ok()) << c->error();
    ASSERT_TRUE(c->send_text(R"({"type":"join_channel","channel":"room"})"));
    ASSERT_EQ(c->read_data(), R"({"type":"joined","channel":"room"})");
    subs.push_back(std::move(c));
    if (subs.size() >= 8 && s.ws_subscribers(0, "chat:room") > 0 &&
        s.ws_subscribers(1, "chat:room") > 0) {
      break;
    }
  }
  ASSERT_GT(s.ws_subscribers(0, "chat:room"), 0u);
  ASSERT_GT(s.ws_subscribers(1, "chat:room"), 0u);
  // Three publishers (subscribers themselves) send interleaved sequences.
  constexpr int kPerPublisher = 50;
  for (int i = 0; i < kPerPublisher; ++i) {
    for (int p = 0; p < 3; ++p) {
      ASSERT_TRUE(subs[p]->send_text(R"({"type":"channel_message","channel":"room","message":")" +
                                     std::to_string(p) + ":" + std::to_string(i) + "\"}"));
    }
  }
  for (auto& c : subs) {
    std::map<int, int> next;  // publisher -> next expected sequence
    for (int k = 0; k < 3 * kPerPublisher; ++k) {
      auto m = c->read_message();
      ASSERT_TRUE(m) << c->error();
      const std::string& d = m->data;
      const size_t at = d.find("\"message\":\"");
      ASSERT_NE(at, std::string::npos) << d;
      int p = 0, seq = 0;
      ASSERT_EQ(std::sscanf(d.c_str() + at + 11, "%d:%d", &p, &seq), 2) << d;
      EXPECT_EQ(seq, next[p]) << "publisher " << p << " out of order or duplicated";
      next[p] = seq + 1;
    }
    for (int p = 0; p < 3; ++p) EXPECT_EQ(next[p], kPerPublisher);
  }
  // Exactly once: nothing more is pending (a ping round trip proves it).
  for (auto& c : subs) {
    ASSERT_TRUE(c->send_frame(Opcode::kPing, "end"));
    auto m = c->read_message();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->opcode, Opcode::kPong);
  }
}

TEST(WsChat, GlobalMessagesAndErrors) {
  TestServer s;
  WsTestClient a(s.port(), "/ws/chat");
  WsTestClient b(s.port(), "/ws/chat");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(TestServer::wait_until([&] {
    return s.ws_subscribers(0, ws::kChatGlobalTopic) + s.ws_subscribers(1, ws::kChatGlobalTopic) == 2;
  }));
  ASSERT_TRUE(a.send_text(R"({"type":"global_message","message":{"n":1}})"));
  EXPECT_EQ(a.read_data(), R"({"type":"global_message","message":{"n":1}})");
  EXPECT_EQ(b.read_data(), R"({"type":"global_message","message":{"n":1}})");
  const std::pair<std::string, std::string> errors[] = {
      {"{not json", "bad JSON"},
      {"[1,2]", "must be a JSON object"},
      {R"({"type":"dance"})", "unknown type"},
      {R"({"channel":"x"})", "missing \\\"type\\\""},
      {R"({"type":"join_channel"})", "\\\"channel\\\" must be"},
      {R"({"type":"channel_message","channel":"nope","message":"m"})", "join the channel"},
  };
  for (const auto& [in, want] : errors) {
    ASSERT_TRUE(a.send_text(in));
    auto m = a.read_message();
    ASSERT_TRUE(m);
    EXPECT_NE(m->data.find(R"("type":"error")"), std::string::npos) << m->data;
    EXPECT_NE(m->data.find(want), std::string::npos) << in << " -> " << m->data;
  }
  ASSERT_TRUE(a.send_binary("bin"));
  EXPECT_EQ(a.read_close_code(), 1003);
  ASSERT_TRUE(b.send_text(R"({"type":"join_channel","channel":"z"})"));
  EXPECT_EQ(b.read_data(), R"({"type":"joined","channel":"z"})");
}

// --- shutdown, deflate negotiation, TLS ------------------------------------------------

TEST(WsShutdown, DrainSendsGoingAway) {
  auto s = std::make_unique<TestServer>();
  WsTestClient c(s->port(), "/ws/echo");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(TestServer::wait_until([&] {
    return s->ws_sum([](const ws::WsMetrics& m) { return m.open.get(); }) == 1;
  }));
  std::thread stopper([&] { s.reset(); });
  auto m = c.read_message();
  ASSERT_TRUE(m) << c.error();
  EXPECT_EQ(m->opcode, Opcode::kClose);
  EXPECT_EQ(m->close_code, 1001);
  c.close(1001);
  EXPECT_TRUE(c.wait_closed());
  stopper.join();
}

TEST(WsDeflate, NegotiatesParametersAndKeepsContext) {
  TestServer s;
  {
    WsTestClient c(s.port(), "/ws/echo", {.extensions = "permessage-deflate; server_no_context_takeover; client_max_window_bits"});
    ASSERT_TRUE(c.ok()) << c.error();
    const std::string ext = c.handshake().header("sec-websocket-extensions");
    EXPECT_NE(ext.find("permessage-deflate"), std::string::npos);
    EXPECT_NE(ext.find("server_no_context_takeover"), std::string::npos);
    for (int i = 0; i < 5; ++i) {
      const std::string msg = pattern(5000, 11);  // the same message again and again
      ASSERT_TRUE(c.send_text(msg));
      auto m = c.read_message();
      ASSERT_TRUE(m) << c.error();
      EXPECT_TRUE(m->compressed);
      EXPECT_TRUE(m->data == msg);
    }
  }
  {
    // An unknown extension and a bad offer are skipped; the valid offer wins.
    WsTestClient c(s.port(), "/ws/echo", {.extensions = "x-foo, permessage-deflate; bogus=1, permessage-deflate"});
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c.handshake().header("sec-websocket-extensions").rfind("permessage-deflate", 0), 0u);
  }
  {
    // Small messages stay uncompressed even with deflate on.
    WsTestClient c(s.port(), "/ws/echo", {.deflate = true});
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send_text("tiny"));
    auto m = c.read_message();
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->compressed);
    EXPECT_EQ(m->data, "tiny");
  }
}

TEST(WsDeflate, OffByConfiguration) {
  TestServerOptions o;
  o.tweak = [](server::Options& opt) { opt.ws_deflate = false; };
  TestServer s(o);
  WsTestClient c(s.port(), "/ws/echo", {.deflate = true});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c.handshake().header("sec-websocket-extensions").empty());
  ASSERT_TRUE(c.send_frame(Opcode::kText, "x", true, true));  // RSV1 not allowed now
  EXPECT_EQ(c.read_close_code(), 1002);
}

TEST(WsTls, EchoOverTls) {
  TestServerOptions o;
  o.tls = true;
  TestServer s(o);
  WsTestClient c(s.tls_port(), "/ws/echo", {.deflate = true, .tls = true});
  ASSERT_TRUE(c.ok()) << c.error();
  const std::string big = pattern(200 * 1024, 5);
  ASSERT_TRUE(c.send_text("over tls"));
  EXPECT_EQ(c.read_data(), "over tls");
  ASSERT_TRUE(c.send_binary(big));
  auto m = c.read_message();
  ASSERT_TRUE(m) << c.error();
  EXPECT_TRUE(m->data == big);
  ASSERT_TRUE(c.close(1000));
  EXPECT_EQ(c.read_close_code(), 1000);
}

}  // namespace
}  // namespace ringshard::test
