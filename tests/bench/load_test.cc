// ringshard-load against loopback servers: counts, error detection by kind,
// constant-rate pacing, and its histogram and flags.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <string>

#include "bench/load/histogram.h"
#include "bench/load/load_options.h"
#include "bench/load/load_run.h"
#include "engine/engine.h"
#include "tests/support/test_server.h"

namespace ringshard::load {
namespace {

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
namespace {

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
namespace {

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
