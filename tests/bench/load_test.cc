// ringshard-load against loopback servers: counts, error detection by kind,
// constant-rate pacing, its histogram and flags, requests with a method,
// headers and a body (what the server saw, byte for byte), and the
// WebSocket modes.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "bench/load/histogram.h"
#include "bench/load/load_options.h"
#include "bench/load/load_run.h"
#include "bench/load/request_encoder.h"
#include "engine/engine.h"
#include "http/server.h"
#include "tests/support/certs.h"
#include "tests/support/test_server.h"
#include "ws/frame.h"
#include "ws/handshake.h"
#include "ws/reader.h"

namespace ringshard::load {
namespace RS_UNITY_ID {

LoadOptions against(uint16_t port) {
  LoadOptions o;
  o.port = port;
  o.path = "/plaintext";
  o.connections = 8;
  o.threads = 2;
  o.timeout_ms = 5'000;
  return o;
}

uint64_t server_requests(test::TestServer& s) {
  return s.http_sum([](auto& m) { return m.requests.get(); });
}

TEST(Load, KeepAliveCountsMatchTheServer) {
  test::TestServer server;
  LoadOptions o = against(server.port());
  o.requests = 5'000;
  const LoadResult r = run_load(o);
  ASSERT_TRUE(r.fatal.empty()) << r.fatal;
  EXPECT_EQ(r.requests, 5'000u);
  EXPECT_EQ(r.errors.total(), 0u);
  EXPECT_EQ(r.connections, 8u);
  EXPECT_EQ(r.latency.count(), 5'000u);
  EXPECT_EQ(server_requests(server), 5'000u);
}

TEST(Load, PipelinedCountsMatchTheServer) {
  test::TestServer server;
  LoadOptions o = against(server.port());
  o.mode = Mode::kPipeline;
  o.depth = 16;
  o.requests = 4'001;  // not a multiple of the depth: the last batch is short
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.requests, 4'001u);
  EXPECT_EQ(r.errors.total(), 0u);
  EXPECT_EQ(server_requests(server), 4'001u);
}

TEST(Load, ConnectionPerRequestOpensOneConnectionEach) {
  test::TestServer server;
  LoadOptions o = against(server.port());
  o.mode = Mode::kClose;
  o.requests = 300;
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.requests, 300u);
  EXPECT_EQ(r.errors.total(), 0u);
  EXPECT_EQ(r.connections, 300u);
  EXPECT_EQ(server.engine_sum([](auto& m) { return m.accepted.get(); }), 300u);
}

TEST(Load, DurationModeStopsByItself) {
  test::TestServer server;
  LoadOptions o = against(server.port());
  o.duration_ms = 300;
  const LoadResult r = run_load(o);
  EXPECT_GT(r.requests, 0u);
  EXPECT_EQ(r.errors.total(), 0u);
  EXPECT_GE(r.duration_s, 0.29);
  EXPECT_EQ(server_requests(server), r.requests);
}

// A server that answers every read with a fixed byte string, then
// optionally closes: the load generator must classify what is wrong.
class FixedAnswer final : public engine::ConnectionHandler {
 public:
  FixedAnswer(std::string answer, bool close) : answer_(std::move(answer)), close_(close) {}
  void on_data(engine::Connection& c, std::span<const char>) override {
    if (!answer_.empty()) c.write(answer_);
    if (close_) c.close_after_flush(false);
  }

 private:
  std::string answer_;
  bool close_;
};

struct BadServer {
  BadServer(std::string answer, bool close) {
    engine::EngineConfig ec;
    ec.shards = 1;
    ec.pin_threads = false;
    ec.listen_host = "127.0.0.1";
    ec.listen_port = 0;
    ec.recv_buffer_count = 64;
    ec.make_handler = [answer, close](engine::Shard&) {
      return std::make_unique<FixedAnswer>(answer, close);
    };
    engine = std::make_unique<engine::Engine>(std::move(ec));
    EXPECT_TRUE(engine->start().ok());
  }
  std::unique_ptr<engine::Engine> engine;
};

LoadResult run_against(const BadServer& s, uint64_t requests = 20) {
  LoadOptions o = against(s.engine->port());
  o.connections = 2;
  o.threads = 1;
  o.requests = requests;
  o.timeout_ms = 300;
  return run_load(o);
}

TEST(Load, MalformedResponsesAreParseErrors) {
  for (const char* answer : {
           "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
           "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
           "garbage\r\n\r\n",
       }) {
    SCOPED_TRACE(answer);
    BadServer bad(answer, false);
    const LoadResult r = run_against(bad);
    EXPECT_EQ(r.requests, 0u);
    EXPECT_GT(r.errors.parse, 0u);
    EXPECT_EQ(r.errors.status, 0u);
  }
}

TEST(Load, UnexpectedStatusIsAStatusError) {
  BadServer bad("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n", false);
  const LoadResult r = run_against(bad);
  EXPECT_EQ(r.requests, 0u);
  EXPECT_EQ(r.errors.status, 20u);
  EXPECT_EQ(r.errors.parse, 0u);
}

TEST(Load, CloseMidBodyIsAReadError) {
  BadServer bad("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a little", true);
  const LoadResult r = run_against(bad);
  EXPECT_EQ(r.requests, 0u);
  EXPECT_GT(r.errors.read, 0u);
}

TEST(Load, SilentServerIsATimeout) {
  BadServer bad("", false);
  const LoadResult r = run_against(bad, 2);
  EXPECT_EQ(r.requests, 0u);
  EXPECT_GT(r.errors.timeout, 0u);
}

TEST(Load, ConnectRefusedIsAConnectError) {
  uint16_t port;
  {
    test::TestServer gone;  // a port that was just free and is closed again
    port = gone.port();
  }
  LoadOptions o = against(port);
  o.duration_ms = 100;
  o.connections = 2;
  o.threads = 1;
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.requests, 0u);
  EXPECT_GT(r.errors.connect, 0u);
}

TEST(Load, RequestQuotaAgainstAnUnreachableServerStopsByItself) {
  uint16_t port;
  {
    test::TestServer gone;
    port = gone.port();
  }
  LoadOptions o = against(port);
  o.requests = 1'000;  // can never be reached
  o.connections = 2;
  o.threads = 1;
  const LoadResult r = run_load(o);  // returns: the test would hang otherwise
  EXPECT_EQ(r.requests, 0u);
  EXPECT_GE(r.errors.connect, 6u);
}

TEST(Load, ConstantRateKeepsItsRate) {
  test::TestServer server;
  LoadOptions o = against(server.port());
  o.rate = 2'000;
  o.duration_ms = 1'000;
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.errors.total(), 0u);
  // 2000/s for 1 s: sends follow a fixed schedule, so the count does not
  // depend on how fast responses come back.
  EXPECT_GE(r.requests, 1'900u);
  EXPECT_LE(r.requests, 2'010u);
}

TEST(Histogram, PercentilesWithinOneAndAHalfPercent) {
  Histogram h;
  std::mt19937_64 rng(7);
  std::vector<uint64_t> values;
  for (int i = 0; i < 100'000; ++i) {
    const uint64_t v = 1000 + rng() % 10'000'000;
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = static_cast<double>(values[static_cast<size_t>(q * values.size()) - 1]);
    EXPECT_NEAR(static_cast<double>(h.percentile(q)), exact, exact * 0.016) << q;
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.count(), 100'000u);
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 129ull, 1ull << 40, ~0ull}) {
    const size_t i = Histogram::index(v);
    ASSERT_LT(i, Histogram::kBuckets);
    EXPECT_LE(Histogram::lower(i), v);
  }
}

TEST(LoadOptions, ParsesAndRefuses) {
  const char* ok[] = {"ringshard-load", "http://127.0.0.1:8080/json", "--connections", "10",
                      "--mode=pipeline", "--depth", "8", "--duration", "250ms", "--json"};
  auto r = parse_load_options(10, ok);
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(r));
  const auto& o = std::get<LoadOptions>(r);
  EXPECT_EQ(o.port, 8080);
  EXPECT_EQ(o.path, "/json");
  EXPECT_EQ(o.mode, Mode::kPipeline);
  EXPECT_EQ(o.depth, 8u);
  EXPECT_EQ(o.duration_ms, 250u);
  EXPECT_TRUE(o.json);
  const char* v6[] = {"x", "http://[::1]:9/"};
  r = parse_load_options(2, v6);
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(r));
  EXPECT_EQ(std::get<LoadOptions>(r).host, "::1");
  for (std::vector<const char*> bad : std::vector<std::vector<const char*>>{
           {"x"},
           {"x", "ftp://h/"},
           {"x", "http://h:99999/"},
           {"x", "http://127.0.0.1/", "--mode", "bogus"},
           {"x", "http://127.0.0.1/", "--connections", "0"},
           {"x", "http://127.0.0.1/", "--rate", "10", "--mode", "pipeline"},
           {"x", "http://127.0.0.1/", "--header", "no colon"},
           {"x", "http://127.0.0.1/", "--frobnicate"},
       }) {
    EXPECT_TRUE(std::holds_alternative<LoadOptionsError>(
        parse_load_options(static_cast<int>(bad.size()), bad.data())))
        << bad.back();
  }
}

}  // namespace
}  // namespace ringshard::load

namespace ringshard::load {
namespace RS_UNITY_ID {

TEST(Load, Ipv6TargetSendsABracketedHost) {
  test::TestServerOptions so;
  so.shards = 1;
  so.tweak = [](server::Options& o) { o.listen.host = "::1"; };
  std::unique_ptr<test::TestServer> server;
  {
    // Skip where the machine has no IPv6 loopback (some containers).
    const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    if (fd >= 0) ::close(fd);
    if (!ok) GTEST_SKIP() << "no IPv6 loopback";
  }
  server = std::make_unique<test::TestServer>(so);
  LoadOptions o = against(server->port());
  o.host = "::1";
  o.requests = 100;
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.requests, 100u);
  EXPECT_EQ(r.errors.total(), 0u);  // the server refuses an unbracketed Host
}

}  // namespace
}  // namespace ringshard::load

// ringshard-load over TLS (https:// URLs) against the in-process HTTPS
// listener: handshake and resumption counts agree with the server's.
namespace ringshard::load {
namespace RS_UNITY_ID {

test::TestServerOptions https_server() {
  test::TestServerOptions so;
  so.tls = true;  // tickets on (the default rotation), a development certificate
  return so;
}

LoadOptions against_tls(test::TestServer& server) {
  LoadOptions o = against(server.tls_port());
  o.tls = true;
  return o;
}

uint64_t server_handshakes(test::TestServer& s) {
  return s.tls_sum([](auto& m) { return m.handshakes.get(); });
}
uint64_t server_resumed(test::TestServer& s) {
  return s.tls_sum([](auto& m) { return m.resumed.get(); });
}

TEST(LoadTls, CloseModeDoesOneFullHandshakePerRequest) {
  test::TestServer server(https_server());
  LoadOptions o = against_tls(server);
  o.mode = Mode::kClose;
  o.requests = 200;
  const LoadResult r = run_load(o);
  ASSERT_TRUE(r.fatal.empty()) << r.fatal;
  EXPECT_EQ(r.requests, 200u);
  EXPECT_EQ(r.errors.total(), 0u);
  EXPECT_EQ(r.connections, 200u);
  EXPECT_EQ(r.handshakes, 200u);
  EXPECT_EQ(r.resumed, 0u);
  EXPECT_EQ(server_requests(server), 200u);
  // The server counts a handshake when it completes, which may be just after
  // the client's on_open: wait for it rather than race it.
  EXPECT_TRUE(test::TestServer::wait_until([&] { return server_handshakes(server) == 200; }));
  EXPECT_EQ(server_resumed(server), 0u);
}

TEST(LoadTls, ResumeOffersTheLastTicketSoLaterConnectionsResume) {
  test::TestServer server(https_server());
  LoadOptions o = against_tls(server);
  o.mode = Mode::kClose;
  o.tls_resume = true;
  o.requests = 200;
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.requests, 200u);
  EXPECT_EQ(r.errors.total(), 0u);
  EXPECT_EQ(r.handshakes, 200u);
  // Only connections opened before their shard held a ticket do a full
  // handshake: at most the first wave, one per connection.
  EXPECT_GE(r.resumed, 200u - o.connections);
  EXPECT_TRUE(test::TestServer::wait_until([&] { return server_resumed(server) == r.resumed; }))
      << server_resumed(server) << " vs " << r.resumed;
}

TEST(LoadTls, KeepAliveHandshakesOncePerConnection) {
  test::TestServer server(https_server());
  LoadOptions o = against_tls(server);
  o.requests = 3'000;
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.requests, 3'000u);
  EXPECT_EQ(r.errors.total(), 0u);
  EXPECT_EQ(r.connections, 8u);
  EXPECT_EQ(r.handshakes, 8u);
  EXPECT_EQ(server_requests(server), 3'000u);
}

TEST(LoadTls, PipelinedOverTls) {
  test::TestServer server(https_server());
  LoadOptions o = against_tls(server);
  o.mode = Mode::kPipeline;
  o.depth = 16;
  o.requests = 1'601;
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.requests, 1'601u);
  EXPECT_EQ(r.errors.total(), 0u);
}

TEST(LoadTls, ALargeBodyArrivesWhole) {
  test::TestServer server(https_server());
  LoadOptions o = against_tls(server);
  o.path = "/bytes/4194304";
  o.connections = 1;
  o.threads = 1;
  o.requests = 3;
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.requests, 3u);
  EXPECT_EQ(r.errors.total(), 0u);
  EXPECT_GE(r.bytes_in, 3u * 4'194'304u);
  EXPECT_EQ(r.handshakes, 1u);
}

TEST(LoadTls, PlaintextServerIsAHandshakeErrorAndEndsTheRun) {
  test::TestServer server;  // HTTP only: it answers a ClientHello with 400
  LoadOptions o = against(server.port());
  o.tls = true;
  o.requests = 1'000;  // can never be reached
  o.connections = 2;
  o.threads = 1;
  o.timeout_ms = 1'000;
  const LoadResult r = run_load(o);  // returns: the test would hang otherwise
  EXPECT_EQ(r.requests, 0u);
  EXPECT_EQ(r.handshakes, 0u);
  EXPECT_GE(r.errors.tls, 6u);
  EXPECT_EQ(r.errors.connect, 0u);
}

TEST(LoadTls, ParsesHttpsAndTlsResume) {
  const char* ok[] = {"x", "https://127.0.0.1/plaintext", "--tls-resume"};
  auto r = parse_load_options(3, ok);
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(r));
  const auto& o = std::get<LoadOptions>(r);
  EXPECT_TRUE(o.tls);
  EXPECT_TRUE(o.tls_resume);
  EXPECT_EQ(o.port, 443);
  EXPECT_EQ(o.path, "/plaintext");
  const char* plain[] = {"x", "http://127.0.0.1/"};
  r = parse_load_options(2, plain);
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(r));
  EXPECT_FALSE(std::get<LoadOptions>(r).tls);
  EXPECT_EQ(std::get<LoadOptions>(r).port, 80);
  const char* resume_without_tls[] = {"x", "http://127.0.0.1/", "--tls-resume"};
  EXPECT_TRUE(std::holds_alternative<LoadOptionsError>(parse_load_options(3, resume_without_tls)));
}

TEST(LoadTls, JsonReportsHandshakes) {
  LoadOptions o;
  o.tls = true;
  o.tls_resume = true;
  LoadResult r;
  r.handshakes = 10;
  r.resumed = 7;
  const std::string json = format_json(o, r);
  EXPECT_NE(json.find("\"tls\":{\"handshakes\":10,\"resumed\":7,\"resume\":true}"), std::string::npos)
      << json;
  o.tls = false;
  EXPECT_EQ(format_json(o, r).find("\"handshakes\""), std::string::npos);
}

}  // namespace
}  // namespace ringshard::load

// ringshard-load's WebSocket modes against the in-process server's /ws/echo
// and /ws/chat, and against a chat that breaks the rules on purpose.
namespace ringshard::load {
namespace RS_UNITY_ID {

LoadOptions ws_against(uint16_t port, WsMode mode) {
  LoadOptions o = against(port);
  o.ws = mode;
  o.path = mode == WsMode::kEcho ? "/ws/echo" : "/ws/chat";
  o.depth = 1;
  return o;
}

uint64_t ws_messages_in(test::TestServer& s) {
  return s.ws_sum([](auto& m) { return m.messages_in.get(); });
}

TEST(LoadWs, EchoBoundedRunHasNoErrors) {
  test::TestServer server;
  LoadOptions o = ws_against(server.port(), WsMode::kEcho);
  o.requests = 3'000;
  o.depth = 4;
  const LoadResult r = run_load(o);
  ASSERT_TRUE(r.fatal.empty()) << r.fatal;
  EXPECT_EQ(r.errors.total(), 0u) << format_text(o, r);
  EXPECT_EQ(r.ws.messages, 3'000u);
  EXPECT_EQ(r.requests, 3'000u);
  EXPECT_EQ(r.latency.count(), 3'000u);
  EXPECT_EQ(r.connections, 8u);
  EXPECT_EQ(r.ws.payload_in, 3'000u * 32);
  EXPECT_EQ(ws_messages_in(server), 3'000u);
  // Every connection closed with the closing handshake, none timed out.
  EXPECT_TRUE(test::TestServer::wait_until(
      [&] { return server.ws_sum([](auto& m) { return m.open.get(); }) == 0; }));
}

TEST(LoadWs, LargeBinaryEchoArrivesWhole) {
  test::TestServer server;
  LoadOptions o = ws_against(server.port(), WsMode::kEcho);
  o.connections = 1;
  o.threads = 1;
  o.ws_size = 256 * 1024;  // several frames' worth of reads each way
  o.ws_binary = true;
  o.requests = 20;
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.errors.total(), 0u) << format_text(o, r);
  EXPECT_EQ(r.ws.messages, 20u);
  EXPECT_EQ(r.ws.payload_in, 20u * 256 * 1024);
}

TEST(LoadWs, EchoWithPermessageDeflate) {
  test::TestServer server;
  LoadOptions o = ws_against(server.port(), WsMode::kEcho);
  o.ws_deflate = true;
  o.ws_size = 500;  // above the server's 64-byte minimum: compressed both ways
  o.requests = 1'000;
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.errors.total(), 0u) << format_text(o, r);
  EXPECT_EQ(r.ws.messages, 1'000u);
  EXPECT_EQ(r.ws.deflate, 8u);
  EXPECT_LT(r.bytes_in, 1'000u * 500);  // what came back was compressed
}

TEST(LoadWs, FanoutCountsEveryDeliveryExactlyOnce) {
  test::TestServer server;  // 2 shards: deliveries cross shards
  LoadOptions o = ws_against(server.port(), WsMode::kFanout);
  o.connections = 200;
  o.ws_publishers = 2;
  o.requests = 60;
  o.depth = 3;
  const LoadResult r = run_load(o);
  ASSERT_TRUE(r.fatal.empty()) << r.fatal;
  EXPECT_EQ(r.errors.total(), 0u) << format_text(o, r);
  EXPECT_EQ(r.ws.publications, 60u);
  EXPECT_EQ(r.ws.acknowledged, 60u);
  EXPECT_EQ(r.ws.deliveries, 200u * 60);
  EXPECT_EQ(r.ws.member_receipts, 202u * 60);
  EXPECT_EQ(r.ws.members, 202u);
  EXPECT_EQ(r.ws.mismatched, 0u);
  EXPECT_EQ(r.latency.count(), 200u * 60);
  EXPECT_EQ(server.ws_sum([](auto& m) { return m.delivered.get(); }), 202u * 60);
  EXPECT_GT(r.ws.window_s, 0);
}

TEST(LoadWs, FanoutAtAConstantRate) {
  test::TestServer server;
  LoadOptions o = ws_against(server.port(), WsMode::kFanout);
  o.connections = 50;
  o.rate = 200;
  o.duration_ms = 500;
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.errors.total(), 0u) << format_text(o, r);
  // 200/s for 0.5 s on a fixed schedule from the first publication.
  EXPECT_GE(r.ws.publications, 95u);
  EXPECT_LE(r.ws.publications, 101u);
  EXPECT_EQ(r.ws.deliveries, 50u * r.ws.publications);
}

// A one-shard chat that answers the upgrade and join_channel like /ws/chat
// and relays channel messages as they came, but sends the third one twice
// to everyone and never sends the fifth to anyone but its publisher.
class SloppyChat final : public engine::ConnectionHandler, public ws::FrameReader::Sink {
 public:
  void on_open(engine::Connection& c) override { peers_[&c] = Peer{}; }
  void on_close(engine::Connection& c) override {
    peers_.erase(&c);
    std::erase(members_, &c);
  }
  void on_data(engine::Connection& c, std::span<const char> data) override {
    Peer& p = peers_[&c];
    std::string_view in(data.data(), data.size());
    if (!p.upgraded) {
      p.head.append(in);
      const size_t end = p.head.find("\r\n\r\n");
      if (end == std::string::npos) return;
      const size_t k = p.head.find("Sec-WebSocket-Key: ") + 19;
      char accept[ws::kAcceptSize];
      ws::accept_value(p.head.substr(k, p.head.find("\r\n", k) - k), accept);
      c.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Accept: " + std::string(accept, sizeof(accept)) + "\r\n\r\n");
      p.upgraded = true;
      p.rest = p.head.substr(end + 4);
      in = p.rest;
    }
    cur_ = &c;
    std::string bytes(in);
    p.reader.feed(std::span<char>(bytes.data(), bytes.size()), *this);
  }
  bool on_message_begin(ws::Opcode, bool) override {
    peers_[cur_].msg.clear();
    return true;
  }
  bool on_message_data(std::span<char> d) override {
    peers_[cur_].msg.append(d.data(), d.size());
    return true;
  }
  bool on_message_end() override {
    const std::string msg = peers_[cur_].msg;
    if (msg.find("join_channel") != std::string::npos) {
      members_.push_back(cur_);
      send(*cur_, R"({"type":"joined","channel":"bench"})");
    } else if (msg.find("channel_message") != std::string::npos) {
      ++published_;
      for (engine::Connection* m : members_) {
        if (published_ == 5 && m != cur_) continue;
        send(*m, msg);
        if (published_ == 3) send(*m, msg);
      }
    }
    return true;
  }
  bool on_control(ws::Opcode op, std::span<char>) override {
    if (op == ws::Opcode::kClose) {
      char head[ws::kMaxHeaderBytes];
      const char code[2] = {0x03, static_cast<char>(0xE8)};
      cur_->write(std::string_view(head, ws::encode_header(head, ws::Opcode::kClose, 2, true, false, nullptr)));
      cur_->write(std::string_view(code, 2));
      cur_->close_after_flush(false);
    }
    return true;
  }

 private:
  struct Peer {
    bool upgraded = false;
    std::string head, rest, msg;
    ws::FrameReader reader{ws::ReaderLimits{}};
  };
  static void send(engine::Connection& c, std::string_view payload) {
    char head[ws::kMaxHeaderBytes];
    c.write(std::string_view(head, ws::encode_header(head, ws::Opcode::kText, payload.size(), true,
                                                     false, nullptr)));
    c.write(payload);
  }
  std::map<engine::Connection*, Peer> peers_;
  std::vector<engine::Connection*> members_;
  engine::Connection* cur_ = nullptr;
  int published_ = 0;
};

TEST(LoadWs, FanoutReportsMissingRepeatedAndOutOfOrderDeliveries) {
  engine::EngineConfig ec;
  ec.shards = 1;
  ec.pin_threads = false;
  ec.listen_host = "127.0.0.1";
  ec.listen_port = 0;
  ec.recv_buffer_count = 64;
  ec.make_handler = [](engine::Shard&) { return std::make_unique<SloppyChat>(); };
  engine::Engine chat(std::move(ec));
  ASSERT_TRUE(chat.start().ok());
  LoadOptions o = ws_against(chat.port(), WsMode::kFanout);
  o.connections = 1;
  o.threads = 1;
  o.requests = 10;
  o.timeout_ms = 300;  // how long members wait for what never comes
  const LoadResult r = run_load(o);
  ASSERT_TRUE(r.fatal.empty()) << r.fatal;
  EXPECT_EQ(r.ws.publications, 10u);
  EXPECT_EQ(r.ws.acknowledged, 10u);     // the repeat is not taken for an echo
  EXPECT_EQ(r.ws.mismatched, 2u);        // both members got the third twice
  EXPECT_EQ(r.ws.duplicates, 2u);
  EXPECT_EQ(r.ws.missing, 1u);           // the subscriber never got the fifth
  EXPECT_EQ(r.ws.out_of_order, 1u);      // ... and saw the sixth when the fifth was due
  EXPECT_EQ(r.errors.fanout, 4u);
  EXPECT_NE(format_text(o, r).find("ERROR: 2 of 2 members"), std::string::npos) << format_text(o, r);
  chat.drain();
  chat.wait();
}

TEST(LoadWs, RefusedUpgradeIsAnErrorAndEndsTheRun) {
  test::TestServer server;
  LoadOptions o = ws_against(server.port(), WsMode::kEcho);
  o.path = "/plaintext";  // answers 200, not 101
  o.connections = 2;
  o.threads = 1;
  o.requests = 100;  // can never be reached
  const LoadResult r = run_load(o);  // returns: the test would hang otherwise
  EXPECT_EQ(r.ws.messages, 0u);
  EXPECT_GE(r.errors.ws, 6u);
}

TEST(LoadWs, ParsesWebSocketOptions) {
  const char* echo[] = {"x", "ws://127.0.0.1:9000", "--size", "64", "--binary"};
  auto r = parse_load_options(5, echo);
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(r));
  const auto& e = std::get<LoadOptions>(r);
  EXPECT_EQ(e.ws, WsMode::kEcho);
  EXPECT_EQ(e.path, "/ws/echo");
  EXPECT_EQ(e.depth, 1u);  // not the pipeline's 16
  EXPECT_EQ(e.ws_size, 64u);
  EXPECT_TRUE(e.ws_binary);
  EXPECT_FALSE(e.tls);
  const char* fan[] = {"x", "wss://localhost/", "--ws-fanout", "--publishers", "3", "--rate", "100",
                       "--channel", "room", "--server-pid", "42"};
  r = parse_load_options(11, fan);
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(r));
  const auto& f = std::get<LoadOptions>(r);
  EXPECT_EQ(f.ws, WsMode::kFanout);
  EXPECT_EQ(f.path, "/ws/chat");
  EXPECT_TRUE(f.tls);
  EXPECT_EQ(f.ws_publishers, 3u);
  EXPECT_EQ(f.ws_channel, "room");
  EXPECT_EQ(f.server_pid, 42);
  for (std::vector<const char*> bad : std::vector<std::vector<const char*>>{
           {"x", "ws://127.0.0.1/", "--rate", "10"},
           {"x", "ws://127.0.0.1/", "--ws-fanout", "--binary"},
           {"x", "ws://127.0.0.1/", "--mode", "pipeline"},
           {"x", "ws://127.0.0.1/", "--channel", "a\"b"},
           {"x", "ws://127.0.0.1/", "--ws-fanout", "--publishers", "4", "--requests", "3"},
       }) {
    EXPECT_TRUE(std::holds_alternative<LoadOptionsError>(
        parse_load_options(static_cast<int>(bad.size()), bad.data())))
        << bad.back();
  }
}

}  // namespace
}  // namespace ringshard::load

// Requests with a method, headers and a body: the server must see exactly
// what was asked, on every request, in every mode.
namespace ringshard::load {
namespace RS_UNITY_ID {

// What /echo saw, over every shard: each distinct request (method, target,
// headers in order, body) and how often it came. The handler answers the
// method and the body back.
struct Seen {
  std::mutex mu;
  std::map<std::string, uint64_t> requests;

  static std::string key(std::string_view method, std::string_view target,
                         const std::vector<std::string>& headers, std::string_view body) {
    std::string k = std::string(method) + " " + std::string(target) + "\n";
    for (const std::string& h : headers) k += h + "\n";
    return k + "\n" + std::string(body);
  }
  void record(http::ServerRequest& req) {
    std::vector<std::string> headers;
    const http::Request& head = req.head();
    for (size_t i = 0; i < head.header_count; ++i) {
      headers.push_back(std::string(head.headers[i].name) + ": " + std::string(head.headers[i].value));
    }
    const std::string k = key(head.method_text, head.target, headers, req.body());
    std::lock_guard lock(mu);
    ++requests[k];
  }
};

test::TestServerOptions echo_server(Seen& seen) {
  test::TestServerOptions so;
  so.routes = [&seen](http::Router& r) {
    for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE", "PURGE"}) {
      r.add(std::string_view(m), "/echo", [&seen](http::ServerRequest& req, http::Response& res) {
        seen.record(req);
        res.send(200, "text/plain", std::string(req.head().method_text) + " " + std::string(req.body()));
      });
    }
  };
  return so;
}

std::string host_of(test::TestServer& s) { return "Host: 127.0.0.1:" + std::to_string(s.port()); }

// Exactly one kind of request arrived, `n` times.
void expect_only(Seen& seen, const std::string& key, uint64_t n) {
  std::lock_guard lock(seen.mu);
  ASSERT_EQ(seen.requests.size(), 1u);
  EXPECT_EQ(seen.requests.begin()->first, key);
  EXPECT_EQ(seen.requests.begin()->second, n);
}

TEST(LoadRequest, PostBodyAndHeadersArriveAsAsked) {
  Seen seen;
  test::TestServer server(echo_server(seen));
  LoadOptions o = against(server.port());
  o.path = "/echo?x=1";
  o.method = "POST";
  o.headers = {"X-Bench: one", "Authorization: Bearer t0k", "Content-Type: application/json"};
  o.body = R"({"name":"x"})";
  o.body_given = true;
  o.requests = 300;
  const LoadResult r = run_load(o);
  ASSERT_TRUE(r.fatal.empty()) << r.fatal;
  EXPECT_EQ(r.requests, 300u);
  EXPECT_EQ(r.errors.total(), 0u);
  expect_only(seen,
              Seen::key("POST", "/echo?x=1",
                        {host_of(server), "X-Bench: one", "Authorization: Bearer t0k",
                         "Content-Type: application/json", "Content-Length: 12"},
                        R"({"name":"x"})"),
              300);
}

TEST(LoadRequest, PipelinedBodiesStayFramed) {
  Seen seen;
  test::TestServer server(echo_server(seen));
  LoadOptions o = against(server.port());
  o.path = "/echo";
  o.method = "PUT";
  o.mode = Mode::kPipeline;
  o.depth = 8;
  // Looks like a request of its own: only Content-Length keeps it a body.
  o.body = "a\r\n\r\nGET /echo HTTP/1.1\r\n\r\n";
  o.body_given = true;
  o.requests = 801;  // the last batch is short
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.requests, 801u);
  EXPECT_EQ(r.errors.total(), 0u);
  expect_only(seen,
              Seen::key("PUT", "/echo", {host_of(server), "Content-Length: " + std::to_string(o.body.size())},
                        o.body),
              801);
}

TEST(LoadRequest, CloseModeAddsConnectionCloseAndNoLengthWithoutABody) {
  Seen seen;
  test::TestServer server(echo_server(seen));
  LoadOptions o = against(server.port());
  o.path = "/echo";
  o.method = "DELETE";
  o.mode = Mode::kClose;
  o.requests = 60;
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.requests, 60u);
  EXPECT_EQ(r.errors.total(), 0u);
  expect_only(seen, Seen::key("DELETE", "/echo", {host_of(server), "Connection: close"}, ""), 60);
}

TEST(LoadRequest, PostWithoutABodySendsContentLengthZero) {
  Seen seen;
  test::TestServer server(echo_server(seen));
  LoadOptions o = against(server.port());
  o.path = "/echo";
  o.method = "POST";
  o.requests = 40;
  EXPECT_EQ(run_load(o).requests, 40u);
  expect_only(seen, Seen::key("POST", "/echo", {host_of(server), "Content-Length: 0"}, ""), 40);
}

TEST(LoadRequest, ExtensionMethodAndHostHeaderAsGiven) {
  Seen seen;
  test::TestServer server(echo_server(seen));
  LoadOptions o = against(server.port());
  o.path = "/echo";
  o.method = "PURGE";
  o.headers = {"Host: bench.example"};  // replaces the URL's, not a second one
  o.requests = 40;
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.requests, 40u);
  EXPECT_EQ(r.errors.total(), 0u);
  expect_only(seen, Seen::key("PURGE", "/echo", {"Host: bench.example"}, ""), 40);
}

TEST(LoadRequest, BodyFileIsSentByteForByte) {
  Seen seen;
  test::TestServer server(echo_server(seen));
  const std::string dir = test::make_temp_dir("ringshard-load-body-");
  const std::string path = dir + "/body.bin";
  std::string body;
  for (int i = 0; i < 70'000; ++i) body += static_cast<char>((i * 7) & 0xff);  // NUL, CR, LF too
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(body.data(), 1, body.size(), f), body.size());
    std::fclose(f);
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/echo";
  const char* argv[] = {"x", url.c_str(), "--method", "POST", "--body-file", path.c_str(),
                        "--requests", "20", "--connections", "2"};
  auto parsed = parse_load_options(10, argv);
  test::remove_tree(dir);
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(parsed));
  const LoadOptions& o = std::get<LoadOptions>(parsed);
  EXPECT_EQ(o.body, body);
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.requests, 20u);
  EXPECT_EQ(r.errors.total(), 0u);
  expect_only(seen, Seen::key("POST", "/echo", {host_of(server), "Content-Length: 70000"}, body), 20);
}

// A GET without extra flags is the very request the generator always sent:
// its hot path has nothing new to do.
TEST(LoadRequest, PlainGetIsEncodedAsBefore) {
  LoadOptions o;
  o.port = 8080;
  o.path = "/plaintext";
  EXPECT_EQ(encode_request(o, o.path, o.method), "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
  o.mode = Mode::kClose;
  o.host = "::1";
  EXPECT_EQ(encode_request(o, o.path, o.method),
            "GET /plaintext HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n");
}

TEST(LoadOptions, RequestFlagsParseAndRefuse) {
  const char* ok[] = {"x", "http://127.0.0.1:8080/v1/deployments", "--method", "POST",
                      "--header", "Authorization: Bearer abc", "--header", "X-A:b",
                      "--body", "{}"};
  auto r = parse_load_options(10, ok);
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(r));
  const auto& o = std::get<LoadOptions>(r);
  EXPECT_EQ(o.method, "POST");
  EXPECT_EQ(o.headers, (std::vector<std::string>{"Authorization: Bearer abc", "X-A:b"}));
  EXPECT_EQ(o.body, "{}");
  EXPECT_TRUE(o.body_given);
  EXPECT_EQ(find_header(o.headers, "authorization"), "Bearer abc");
  const std::string missing = "/nonexistent/ringshard-load-body";
  for (std::vector<const char*> bad : std::vector<std::vector<const char*>>{
           {"x", "http://127.0.0.1/", "--method", "G ET"},
           {"x", "http://127.0.0.1/", "--method", ""},
           {"x", "http://127.0.0.1/", "--header", ": v"},
           {"x", "http://127.0.0.1/", "--header", "Bad Name: v"},
           {"x", "http://127.0.0.1/", "--header", "Content-Length: 5"},
           {"x", "http://127.0.0.1/", "--header", "transfer-encoding: chunked"},
           {"x", "http://127.0.0.1/", "--header", "Connection: close"},
           {"x", "http://127.0.0.1/", "--body", "a", "--body", "b"},
           {"x", "http://127.0.0.1/", "--body", "a", "--body-file", "/dev/null"},
           {"x", "http://127.0.0.1/", "--body-file", missing.c_str()},
           {"x", "ws://127.0.0.1/ws/echo", "--body", "a"},
           {"x", "ws://127.0.0.1/ws/chat", "--ws-fanout", "--method", "POST"},
       }) {
    EXPECT_TRUE(std::holds_alternative<LoadOptionsError>(
        parse_load_options(static_cast<int>(bad.size()), bad.data())))
        << bad[2] << " " << (bad.size() > 3 ? bad[3] : "");
  }
}

}  // namespace
}  // namespace ringshard::load
