// Header, body and idle timeouts, driven by a ManualClock: the test moves
// time, so nothing depends on how fast the machine is. Each step waits for
// the server to have seen the bytes (the bytes_in counter) before the
// clock moves, so every deadline is armed at a known time.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/routes.h"
#include "tests/support/http_client.h"
#include "tests/support/test_server.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

TestServerOptions manual(unsigned header_ms = 10'000) {
  TestServerOptions o;
  o.shards = 1;
  o.manual_clock = true;
  o.routes = add_test_routes;
  o.tweak = [header_ms](server::Options& opt) {
    opt.header_timeout_ms = header_ms;
    opt.body_timeout_ms = 5'000;
    opt.idle_timeout_ms = 60'000;
  };
  return o;
}

uint64_t bytes_in(TestServer& s) {
  return s.engine_sum([](auto& m) { return m.bytes_in.get(); });
}

bool sent_and_seen(TestServer& s, TestConnection& c, std::string_view bytes) {
  const uint64_t before = bytes_in(s);
  if (!c.send(bytes)) return false;
  return TestServer::wait_until([&] { return bytes_in(s) >= before + bytes.size(); });
}

TEST(Timeouts, SlowlorisOneHeaderBytePerSecondIsCutOffAtTheHeaderTimeout) {
  TestServer server(manual());
  TestConnection c(server.port());
  ASSERT_TRUE(TestServer::wait_until(
      [&] { return server.engine_sum([](auto& m) { return m.accepted.get(); }) == 1; }));
  const std::string head = "GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaa";
  // Nine seconds of one byte per second: still within the deadline.
  for (int i = 0; i < 9; ++i) {
    ASSERT_TRUE(sent_and_seen(server, c, head.substr(static_cast<size_t>(i), 1)));
    server.advance(1'000);
  }
  EXPECT_EQ(server.http_sum([](auto& m) { return m.header_timeouts.get(); }), 0u);
  // The tenth second passes the deadline although bytes keep coming.
  ASSERT_TRUE(sent_and_seen(server, c, head.substr(9, 1)));
  server.advance(1'001);
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(server.http_sum([](auto& m) { return m.header_timeouts.get(); }), 1u);
}

TEST(Timeouts, ConnectionThatNeverSendsIsClosedAtTheHeaderTimeout) {
  TestServer server(manual());
  TestConnection c(server.port());
  ASSERT_TRUE(TestServer::wait_until(
      [&] { return server.engine_sum([](auto& m) { return m.accepted.get(); }) == 1; }));
  server.advance(10'001);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(c.read_all(), "");  // closed without a response
}

TEST(Timeouts, StalledBodyGets408) {
  TestServer server(manual());
  TestConnection c(server.port());
  ASSERT_TRUE(sent_and_seen(server, c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  server.advance(4'000);
  ASSERT_TRUE(sent_and_seen(server, c, "de"));  // progress extends the deadline
  server.advance(4'000);
  EXPECT_EQ(server.http_sum([](auto& m) { return m.body_timeouts.get(); }), 0u);
  server.advance(1'001);
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.wait_closed());
}

TEST(Timeouts, IdleKeepAliveConnectionIsClosedSilently) {
  TestServer server(manual());
  TestConnection c(server.port());
  ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.read_response());
  server.advance(59'000);
  // Still open: a request now is answered.
  ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  server.advance(60'001);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(server.http_sum([](auto& m) { return m.idle_closes.get(); }), 1u);
}

}  // namespace
}  // namespace ringshard::test
