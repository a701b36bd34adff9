// Reverse proxy through real backends on loopback: Debian's nginx, a
// second in-process ringshard, and backends that misbehave on purpose.
// What the client sees (status, body, headers), what the backend saw, and
// the proxy's counters (its upstream pools' connects and reuses).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/proxy_support.h"
#include "tests/support/http_client.h"
#include "tests/support/nginx_backend.h"
#include "tests/support/raw_backend.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: app.example\r\n" + extra + "\r\n";
}

#define REQUIRE_NGINX()                                            \
  if (!NginxBackend::is_available()) GTEST_SKIP() << "no /usr/sbin/nginx"

// nginx echoes what it received of the forwarding fields.
constexpr const char* kEchoForwarding =
    "location / { default_type text/plain; keepalive_requests 100000;\n"
    "  return 200 'xff=$http_x_forwarded_for proto=$http_x_forwarded_proto "
    "host=$http_host xfhost=$http_x_forwarded_host via=$http_via fwd=$http_forwarded "
    "conn=$http_connection ka=$http_keep_alive te=$http_te pa=$http_proxy_authorization "
    "rid=$http_x_request_id uri=$request_uri';\n}\n";

TEST(Proxy, ForwardsToNginxWithForwardingFieldsAndWithoutHopByHopOnes) {
  REQUIRE_NGINX();
  NginxBackend nginx;
  ASSERT_TRUE(nginx.start(kEchoForwarding)) << nginx.error();
  auto proxy = start_proxy({.upstreams = {upstream_group("app", {nginx.port()})}});
  TestConnection c(proxy->port());
  ASSERT_TRUE(c.send(get("/a/b?x=1", "Connection: keep-alive, X-Secret\r\nX-Secret: s\r\n"
                                     "Keep-Alive: timeout=5\r\nTE: trailers\r\n"
                                     "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
                                     "X-Request-ID: req-42\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 200);
  const std::string& b = r->body;
  EXPECT_NE(b.find("xff=127.0.0.1 "), std::string::npos) << b;
  EXPECT_NE(b.find("proto=http "), std::string::npos) << b;
  EXPECT_NE(b.find("host=127.0.0.1:" + std::to_string(nginx.port()) + " "), std::string::npos) << b;
  EXPECT_NE(b.find("xfhost=app.example "), std::string::npos) << b;
  EXPECT_NE(b.find("via=1.1 ringshard "), std::string::npos) << b;
  EXPECT_NE(b.find("fwd=for=127.0.0.1;proto=http;host=app.example "), std::string::npos) << b;
  // Hop-by-hop fields, and the one Connection named, never reach the backend.
  EXPECT_NE(b.find("ka= te= pa= "), std::string::npos) << b;
  EXPECT_EQ(b.find("conn=keep-alive"), std::string::npos) << b;
  EXPECT_NE(b.find("rid=req-42 "), std::string::npos) << b;
  EXPECT_NE(b.find("uri=/a/b?x=1"), std::string::npos) << b;
  EXPECT_NE(r->header("via").find("ringshard"), std::string::npos);
  EXPECT_EQ(r->header("server"), "ringshard");  // ours, not nginx's
}

TEST(Proxy, ThousandSequentialRequestsOpenAtMostTwoUpstreamConnectionsPerShard) {
  REQUIRE_NGINX();
  NginxBackend nginx;
  ASSERT_TRUE(nginx.start("keepalive_requests 100000;\nlocation / { return 200 'ok'; }"))
      << nginx.error();
  const unsigned shards = 2;
  auto proxy = start_proxy({.upstreams = {upstream_group("app", {nginx.port()})}, .shards = shards});
  // New client connections land on both shards (SO_REUSEPORT): several of
  // them, each with a run of sequential requests.
  int ok = 0;
  for (int conn = 0; conn < 10; ++conn) {
    TestConnection c(proxy->port());
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(c.send(get("/")));
      auto r = c.read_response();
      ASSERT_TRUE(r.has_value()) << c.error();
      ok += r->status == 200 && r->body == "ok";
    }
  }
  EXPECT_EQ(ok, 1000);
  const std::string m = proxy_metrics(*proxy);
  const uint64_t connects = metric(m, "ringshard_upstream_connects_total",
                                   backend_labels("app", nginx.port()));
  EXPECT_GE(connects, 1u);
  EXPECT_LE(connects, 2u * shards) << m;
  EXPECT_GE(metric(m, "ringshard_upstream_reuses_total", backend_labels("app", nginx.port())),
            1000u - connects);
}

TEST(Proxy, GarbageFromTheBackendIs502AndTheProxyKeepsServing) {
  RawBackend bad(RawBackend::Behavior::kGarbage);
  auto proxy = start_proxy({.upstreams = {upstream_group("app", {bad.port()})}});
  TestConnection c(proxy->port());
  ASSERT_TRUE(c.send(get("/")));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 502);
  EXPECT_NE(r->body.find("\"error\""), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("127.0.0.1"), std::string::npos) << "the backend leaked: " << r->body;
  bad.set_behavior(RawBackend::Behavior::kOk);
  ASSERT_TRUE(c.send(get("/")));
  r = c.read_response();
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
}

TEST(Proxy, ASilentBackendIs504AtTheFirstByteDeadline) {
  RawBackend slow(RawBackend::Behavior::kSilent);
  auto group = upstream_group("app", {slow.port()});
  group.timeouts.first_byte_ms = 2'000;
  group.retry.attempts = 1;
  auto proxy = start_proxy({.upstreams = {group}, .manual_clock = true});
  TestConnection c(proxy->port());
  ASSERT_TRUE(c.send(get("/")));
  ASSERT_TRUE(TestServer::wait_until([&] { return slow.requests() == 1; }));
  proxy->advance(1'000);
  proxy->advance(1'100);
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 504);
  EXPECT_NE(r->body.find("\"error\""), std::string::npos);
}

TEST(Proxy, NoHealthyBackendIs503) {
  // A port nothing listens on: the connect is refused, outlier detection
  // ejects the backend at once, and the next request finds none.
  uint16_t closed_port;
  {
    RawBackend gone;
    closed_port = gone.port();
  }
  auto group = upstream_group("app", {closed_port});
  group.outlier.consecutive_connect_failures = 1;
  group.retry.attempts = 1;
  auto proxy = start_proxy({.upstreams = {group}});
  TestConnection c(proxy->port());
  ASSERT_TRUE(c.send(get("/")));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 502);
  ASSERT_TRUE(c.send(get("/")));
  r = c.read_response();
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(metric(proxy_metrics(*proxy), "ringshard_proxy_no_backend_total", "upstream=\"app\""),
            1u);
}

TEST(Proxy, IdempotentRequestsAreRetriedAndPostsWithoutAKeyAreNot) {
  RawBackend flaky(RawBackend::Behavior::kCloseBeforeHead);
  auto group = upstream_group("app", {flaky.port()});
  group.retry.attempts = 3;
  group.outlier.consecutive_5xx = 0;
  group.outlier.consecutive_connect_failures = 0;
  auto proxy = start_proxy({.upstreams = {group}});
  TestConnection c(proxy->port());
  ASSERT_TRUE(c.send(get("/")));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(flaky.requests(), 3u);  // the first try and two retries
  const uint64_t before = flaky.requests();
  ASSERT_TRUE(c.send("POST /orders HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"));
  r = c.read_response();
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(flaky.requests() - before, 1u);
}

}  // namespace
}  // namespace ringshard::test
