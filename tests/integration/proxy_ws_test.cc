// WebSocket upgrades through the reverse proxy: a client (tests/support/
// ws_client.h) talks to an in-process ringshard's /ws/echo through a proxy
// route with `websocket = true`. After the backend's 101 the proxy relays
// bytes (proxy/tunnel.h): messages of every size echo back intact (a 1 MiB
// one crosses the tunnel's backpressure), close codes travel both ways, and
// a route without `websocket = true` never forwards the Upgrade.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/integration/proxy_support.h"
#include "tests/support/http_client.h"
#include "tests/support/ws_client.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

using ws::Opcode;

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 16);
  }
  return s;
}

uint64_t upgrades(TestServer& proxy) {
  return metric(proxy_metrics(proxy), "ringshard_proxy_websocket_upgrades_total",
                "upstream=\"app\"");
}

uint64_t backend_open(TestServer& backend) {
  return backend.ws_sum([](const ws::WsMetrics& m) { return m.open.get(); });
}

// "/ws/" forwards upgrades; "/plain/" reaches the same endpoint without.
std::unique_ptr<TestServer> start_ws_proxy(uint16_t backend_port, const CapturedLog& log,
                                           bool manual_clock = false) {
  proxy::ProxyRoute ws_route;
  ws_route.prefix = "/ws/";
  ws_route.upstream = "app";
  ws_route.websocket = true;
  proxy::ProxyRoute plain;
  plain.prefix = "/plain/";
  plain.upstream = "app";
  plain.replace_prefix = "/ws/";
  return start_proxy({.upstreams = {upstream_group("app", {backend_port})},
                      .routes = {ws_route, plain},
                      .manual_clock = manual_clock,
                      .log = log.logger()});
}

TEST(ProxyWs, TextBinaryAndLargeMessagesEchoThroughTheTunnel) {
  TestServerOptions bo;
  bo.shards = 1;
  TestServer backend(bo);
  CapturedLog log;
  auto proxy = start_ws_proxy(backend.port(), log);
  WsTestClient c(proxy->port(), "/ws/echo");
  ASSERT_TRUE(c.ok()) << c.error() << "\n" << log.text();
  EXPECT_EQ(c.handshake().status, 101);
  EXPECT_EQ(c.handshake().header("sec-websocket-accept").size(), 28u);
  EXPECT_EQ(upgrades(*proxy), 1u);

  ASSERT_TRUE(c.send_text("hello through the proxy"));
  EXPECT_EQ(c.read_data(), "hello through the proxy");
  const std::string bin = pattern(1000, 3);
  ASSERT_TRUE(c.send_binary(bin));
  auto m = c.read_message();
  ASSERT_TRUE(m) << c.error();
  EXPECT_EQ(m->opcode, Opcode::kBinary);
  EXPECT_TRUE(m->data == bin);
  // 1 MiB each way: far over the send-queue limit of one connection, so
  // the tunnel pauses and resumes its reads.
  const std::string big = pattern(1u << 20, 7);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send_binary(big));
    m = c.read_message();
    ASSERT_TRUE(m) << c.error();
    EXPECT_EQ(m->data.size(), big.size());
    EXPECT_TRUE(m->data == big) << "message " << i << " changed on the way";
  }
  // The relay counted what it carried (masked frames up, plain ones down).
  const std::string m1 = proxy_metrics(*proxy);
  EXPECT_GT(metric(m1, "ringshard_proxy_tunnel_bytes_total", "direction=\"to_upstream\""),
            3u << 20);
  EXPECT_GT(metric(m1, "ringshard_proxy_tunnel_bytes_total", "direction=\"to_client\""),
            3u << 20);
  // Many small ones in a burst keep their order.
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(c.send_text("m" + std::to_string(i)));
  for (int i = 0; i < 200; ++i) ASSERT_EQ(c.read_data(), "m" + std::to_string(i));
  ASSERT_TRUE(c.close(1000));
  EXPECT_EQ(c.read_close_code(), 1000);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(TestServer::wait_until([&] { return backend_open(backend) == 0; }));
}

TEST(ProxyWs, ClientCloseCodeReachesTheBackendAndItsEchoComesBack) {
  TestServerOptions bo;
  bo.shards = 1;
  TestServer backend(bo);
  CapturedLog log;
  auto proxy = start_ws_proxy(backend.port(), log);
  WsTestClient c(proxy->port(), "/ws/echo");
  ASSERT_TRUE(c.ok()) << c.error() << "\n" << log.text();
  ASSERT_TRUE(TestServer::wait_until([&] { return backend_open(backend) == 1; }));
  ASSERT_TRUE(c.close(4001, "done here"));
  // The backend's close frame echoes the code it received: it saw 4001.
  auto m = c.read_message();
  ASSERT_TRUE(m) << c.error();
  EXPECT_EQ(m->opcode, Opcode::kClose);
  EXPECT_EQ(m->close_code, 4001);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(TestServer::wait_until([&] { return backend_open(backend) == 0; }));
}

TEST(ProxyWs, BackendInitiatedCloseReachesTheClient) {
  // The backend closes an idle WebSocket (1000) on its manual clock.
  TestServerOptions bo;
  bo.shards = 1;
  bo.manual_clock = true;
  bo.tweak = [](server::Options& o) {
    o.ws_ping_interval_ms = 0;
    o.ws_idle_timeout_ms = 2'000;
  };
  TestServer backend(bo);
  CapturedLog log;
  auto proxy = start_ws_proxy(backend.port(), log);
  WsTestClient c(proxy->port(), "/ws/echo");
  ASSERT_TRUE(c.ok()) << c.error() << "\n" << log.text();
  ASSERT_TRUE(c.send_text("before"));
  EXPECT_EQ(c.read_data(), "before");
  ASSERT_TRUE(TestServer::wait_until([&] { return backend_open(backend) == 1; }));
  backend.advance(2'000);
  auto m = c.read_message();
  ASSERT_TRUE(m) << c.error();
  EXPECT_EQ(m->opcode, Opcode::kClose);
  EXPECT_EQ(m->close_code, 1000);
  ASSERT_TRUE(c.close(1000));
  // The backend closes its TCP connection; the proxy closes the client's.
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(TestServer::wait_until([&] { return backend_open(backend) == 0; }));
}

TEST(ProxyWs, AnIdleTunnelIsClosedOnBothSidesAtTheProxysTimeout) {
  TestServerOptions bo;
  bo.shards = 1;
  bo.tweak = [](server::Options& o) { o.ws_ping_interval_ms = 0; };
  TestServer backend(bo);
  CapturedLog log;
  auto proxy = start_ws_proxy(backend.port(), log, /*manual_clock=*/true);
  const uint32_t idle_ms = proxy->app().reverse_proxy()->options().tunnel_idle_timeout_ms;
  WsTestClient c(proxy->port(), "/ws/echo");
  ASSERT_TRUE(c.ok()) << c.error() << "\n" << log.text();
  // A round trip: both sides are attached and the idle deadline is armed.
  ASSERT_TRUE(c.send_text("ping"));
  EXPECT_EQ(c.read_data(), "ping");
  proxy->advance(idle_ms - 1'000);
  ASSERT_TRUE(c.send_text("still here"));  // traffic restarts the deadline
  EXPECT_EQ(c.read_data(), "still here");
  proxy->advance(idle_ms - 1'000);
  ASSERT_TRUE(c.send_text("and here"));
  EXPECT_EQ(c.read_data(), "and here");
  proxy->advance(idle_ms + 1);
  // A byte relay has no close frame of its own: both connections close.
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(TestServer::wait_until([&] { return backend_open(backend) == 0; }));
}

TEST(ProxyWs, UpgradeOnARouteWithoutWebsocketIsNotForwarded) {
  TestServerOptions bo;
  bo.shards = 1;
  TestServer backend(bo);
  CapturedLog log;
  auto proxy = start_ws_proxy(backend.port(), log);
  TestConnection c(proxy->port());
  ASSERT_TRUE(c.send("GET /plain/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: " + make_ws_key() +
                     "\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value()) << c.error();
  // The backend saw a plain GET of its WebSocket endpoint and refused it.
  EXPECT_GE(r->status, 400) << r->status;
  EXPECT_LT(r->status, 500) << r->status;
  EXPECT_TRUE(r->header("upgrade").empty());
  EXPECT_EQ(upgrades(*proxy), 0u);
  EXPECT_EQ(backend.ws_sum([](const ws::WsMetrics& m) { return m.upgrades.get(); }), 0u);
  // The connection is still HTTP: the next request is served.
  ASSERT_TRUE(c.send("GET /ws/nothing-here HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 404);
  // And the same endpoint through the websocket route upgrades.
  WsTestClient ok(proxy->port(), "/ws/echo");
  ASSERT_TRUE(ok.ok()) << ok.error() << "\n" << log.text();
  EXPECT_EQ(upgrades(*proxy), 1u);
}

}  // namespace
}  // namespace ringshard::test
