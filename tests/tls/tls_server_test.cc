// HTTPS against the in-process server: a BoringSSL client (tests/support)
// on real loopback sockets, port 0.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <string>
#include <vector>

#include "http/builtin_routes.h"
#include "tests/support/certs.h"
#include "tests/support/http_client.h"
#include "tests/support/test_server.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

constexpr const char* kGet = "GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";

TestServerOptions tls_server(unsigned shards = 2) {
  TestServerOptions o;
  o.tls = true;
  o.shards = shards;
  return o;
}

// A TLS connection that has completed one request.
void expect_served(TestConnection& c) {
  ASSERT_TRUE(c.send(kGet)) << c.error();
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Hello, World!");
}

TEST(Tls, Tls13WithX25519AndAlpnServesHttp) {
  TestServer server(tls_server());
  ASSERT_NE(server.tls_port(), 0);
  TestConnection c(server.tls_port());
  ASSERT_TRUE(c.start_tls({.server_name = "localhost"})) << c.error();
  EXPECT_EQ(c.tls_version(), "TLSv1.3");
  EXPECT_EQ(c.tls_alpn(), "http/1.1");
  EXPECT_EQ(c.tls_group(), "X25519");
  EXPECT_EQ(c.tls_cipher(), "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(c.tls_peer_cn(), "localhost");
  expect_served(c);
  // The plain listener still speaks plain HTTP beside it.
  auto plain = get(server.port(), "/plaintext");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200);
  EXPECT_EQ(server.tls_sum([](auto& m) { return m.handshakes.get(); }), 1u);
}

// A record that cannot be sealed used to drop the response and leave the
// connection open: the client waited forever. Now it gets a fatal alert
// and the connection closes; the server goes on serving.
TEST(Tls, SealFailureClosesWithAnAlertInsteadOfLeavingThePeerWaiting) {
  TestServer server(tls_server(1));
  TestConnection c(server.tls_port());
  ASSERT_TRUE(c.start_tls({.server_name = "localhost"})) << c.error();
  std::atomic<bool> armed{false};
  server.engine().execute(0, [&](engine::Shard& shard) {
    const_cast<tls::TlsTransport*>(server.app().tls_transport(shard.index()))
        ->inject_seal_failure();
    armed = true;
  });
  ASSERT_TRUE(TestServer::wait_until([&] { return armed.load(); }));
  ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(c.read_response());
  EXPECT_EQ(c.tls_alert(), 80) << c.error();  // internal_error
  EXPECT_EQ(server.tls_sum([](auto& m) { return m.seal_failures.get(); }), 1u);
  TestConnection next(server.tls_port());
  ASSERT_TRUE(next.start_tls({.server_name = "localhost"})) << next.error();
  expect_served(next);
}

TEST(Tls, Tls12IsRefusedByDefaultWithProtocolVersionAlert) {
  TestServer server(tls_server());
  TestConnection old(server.tls_port());
  EXPECT_FALSE(old.start_tls({.tls12_only = true}));
  EXPECT_EQ(old.tls_alert(), 70) << old.error();  // protocol_version
  EXPECT_TRUE(TestServer::wait_until(
      [&] { return server.tls_sum([](auto& m) { return m.handshake_failures.get(); }) == 1; }));
  TestConnection modern(server.tls_port());
  ASSERT_TRUE(modern.start_tls()) << modern.error();
  expect_served(modern);
}

TEST(Tls, Tls12WithEcdheAeadWhenAllowed) {
  TestServerOptions o = tls_server();
  o.tweak = [](server::Options& opt) { opt.tls_allow_12 = true; };
  TestServer server(o);
  TestConnection c(server.tls_port());
  ASSERT_TRUE(c.start_tls({.tls12_only = true})) << c.error();
  EXPECT_EQ(c.tls_version(), "TLSv1.2");
  EXPECT_EQ(c.tls_cipher(), "ECDHE-ECDSA-AES128-GCM-SHA256");
  expect_served(c);
}

TEST(Tls, OtherAlpnProtocolIsRefusedNoAlpnIsServed) {
  TestServer server(tls_server());
  TestConnection h2(server.tls_port());
  EXPECT_FALSE(h2.start_tls({.alpn = {"h2"}}));
  EXPECT_EQ(h2.tls_alert(), 120) << h2.error();  // no_application_protocol
  TestConnection both(server.tls_port());
  ASSERT_TRUE(both.start_tls({.alpn = {"h2", "http/1.1"}})) << both.error();
  EXPECT_EQ(both.tls_alpn(), "http/1.1");
  TestConnection none(server.tls_port());
  ASSERT_TRUE(none.start_tls({.alpn = {}})) << none.error();
  EXPECT_EQ(none.tls_alpn(), "");
  expect_served(none);
}

TEST(Tls, SniPicksTheCertificateByNameWithADefault) {
  const std::string dir = make_temp_dir("ringshard-sni-");
  const auto a = make_certificate(dir, "a", "default.test", {"default.test"});
  const auto b = make_certificate(dir, "b", "b.test", {"b.test", "*.wild.test"});
  const auto r = make_certificate(dir, "r", "rsa.test", {"rsa.test"}, /*rsa=*/true);
  TestServerOptions o = tls_server();
  o.tweak = [&](server::Options& opt) {
    opt.tls_certs = {a.cert, b.cert, r.cert};
    opt.tls_keys = {a.key, b.key, r.key};
  };
  {
    TestServer server(o);
    struct Case {
      std::string sni, cn;
    } cases[] = {{"b.test", "b.test"},       {"B.Test", "b.test"},
                 {"x.wild.test", "b.test"},  {"wild.test", "default.test"},
                 {"rsa.test", "rsa.test"},   {"nobody.test", "default.test"},
                 {"", "default.test"}};
    for (const Case& k : cases) {
      TestConnection c(server.tls_port());
      ASSERT_TRUE(c.start_tls({.server_name = k.sni})) << k.sni << ": " << c.error();
      EXPECT_EQ(c.tls_peer_cn(), k.cn) << "SNI '" << k.sni << "'";
      expect_served(c);
    }
  }
  remove_tree(dir);
}

TEST(Tls, TicketsResumeOnEveryShard) {
  TestServer server(tls_server(2));
  TestConnection first(server.tls_port());
  ASSERT_TRUE(first.start_tls()) << first.error();
  expect_served(first);  // the ticket arrives with or before the response
  auto ticket = first.tls_session();
  ASSERT_TRUE(ticket);
  // SO_REUSEPORT spreads connections over both shards by their ports: 24
  // resumptions all on one shard would be a 1-in-8-million event.
  for (int i = 0; i < 24; ++i) {
    TestConnection again(server.tls_port());
    ASSERT_TRUE(again.start_tls({.session = ticket})) << again.error();
    EXPECT_TRUE(again.tls_resumed()) << "connection " << i;
    expect_served(again);
  }
  for (unsigned s = 0; s < 2; ++s) {
    EXPECT_GT(server.app().tls_transport(s)->metrics().resumed.get(), 0u) << "shard " << s;
  }
}

TEST(Tls, TicketKeysRotateAndOldTicketsExpire) {
  TestServerOptions o = tls_server(1);
  o.manual_clock = true;
  o.tweak = [](server::Options& opt) { opt.tls_ticket_rotation_ms = 10'000; };
  TestServer server(o);
  auto ticket_now = [&] {
    TestConnection c(server.tls_port());
    EXPECT_TRUE(c.start_tls()) << c.error();
    expect_served(c);
    return c.tls_session();
  };
  auto resumes = [&](const std::shared_ptr<void>& t) {
    TestConnection c(server.tls_port());
    EXPECT_TRUE(c.start_tls({.session = t})) << c.error();
    expect_served(c);
    return c.tls_resumed();
  };
  auto ticket = ticket_now();
  EXPECT_TRUE(resumes(ticket));
  server.advance(10'000);  // next period: the previous key still opens it
  EXPECT_TRUE(resumes(ticket));
  server.advance(10'000);  // two periods on: refused, full handshake
  EXPECT_FALSE(resumes(ticket));
}

TEST(Tls, CertificateReloadServesNewHandshakesKeepsOldConnections) {
  const std::string dir = make_temp_dir("ringshard-reload-");
  const auto one = make_certificate(dir, "live", "one.test", {"one.test"});
  TestServerOptions o = tls_server(2);
  o.tweak = [&](server::Options& opt) {
    opt.tls_certs = {one.cert};
    opt.tls_keys = {one.key};
  };
  {
    TestServer server(o);
    TestConnection old(server.tls_port());
    ASSERT_TRUE(old.start_tls()) << old.error();
    EXPECT_EQ(old.tls_peer_cn(), "one.test");

    make_certificate(dir, "live", "two.test", {"two.test"});  // same paths
    std::string message;
    ASSERT_TRUE(server.app().reload_tls(message)) << message;
    // The swap runs on every shard's loop: poll until a new handshake sees it.
    EXPECT_TRUE(TestServer::wait_until([&] {
      TestConnection c(server.tls_port());
      return c.start_tls() && c.tls_peer_cn() == "two.test";
    }));
    expect_served(old);  // established before the reload, still served

    // A broken file keeps the current certificate.
    { std::ofstream(one.key, std::ios::trunc) << "not a key\n"; }
    EXPECT_FALSE(server.app().reload_tls(message));
    EXPECT_NE(message.find("keeping the current certificates"), std::string::npos) << message;
    EXPECT_NE(message.find(one.key), std::string::npos) << message;
    for (int i = 0; i < 4; ++i) {
      TestConnection c(server.tls_port());
      ASSERT_TRUE(c.start_tls()) << c.error();
      EXPECT_EQ(c.tls_peer_cn(), "two.test");
      expect_served(c);
    }
  }
  remove_tree(dir);
}

TEST(Tls, PipelinedRequestsAreAnsweredInOrder) {
  TestServer server(tls_server());
  TestConnection c(server.tls_port());
  ASSERT_TRUE(c.start_tls()) << c.error();
  std::string batch;
  for (int i = 0; i < 200; ++i) {
    batch += "GET /bytes/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 200; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << i << ": " << c.error();
    ASSERT_EQ(r->status, 200);
    ASSERT_EQ(r->body.size(), static_cast<size_t>(i));
  }
}

TEST(Tls, SixtyFourMiBDownloadArrivesIntact) {
  TestServer server(tls_server(1));
  TestConnection c(server.tls_port(), 60'000);
  ASSERT_TRUE(c.start_tls()) << c.error();
  constexpr uint64_t kSize = 64ull << 20;
  ASSERT_TRUE(c.send("GET /bytes/" + std::to_string(kSize) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  ASSERT_EQ(r->status, 200);
  ASSERT_EQ(r->body.size(), kSize);
  // Checksum against the pattern: any lost, repeated or reordered record shows.
  uint64_t mismatches = 0, sum_got = 0, sum_want = 0;
  for (uint64_t k = 0; k < kSize; ++k) {
    const auto got = static_cast<unsigned char>(r->body[k]);
    const auto want = static_cast<unsigned char>(http::bytes_pattern(k));
    mismatches += got != want;
    sum_got = sum_got * 31 + got;
    sum_want = sum_want * 31 + want;
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(sum_got, sum_want);
  // Then the connection is still good for another request.
  expect_served(c);
}

// --- bad input: each closes its own connection, counted; others unaffected

class TlsBadInput : public ::testing::Test {
 protected:
  TlsBadInput() : server_([] {
    TestServerOptions o = tls_server(1);
    o.manual_clock = true;
    return o;
  }()) {}

  uint64_t count(uint64_t (*f)(const tls::TlsMetrics&)) {
    return server_.tls_sum([f](const tls::TlsMetrics& m) { return f(m); });
  }
  void bystander_served() {
    TestConnection c(server_.tls_port());
    ASSERT_TRUE(c.start_tls()) << c.error();
    expect_served(c);
  }
  TestServer server_;
};

TEST_F(TlsBadInput, PlainHttpInsteadOfClientHelloIsClosed) {
  TestConnection neighbour(server_.tls_port());
  ASSERT_TRUE(neighbour.start_tls()) << neighbour.error();
  TestConnection c(server_.tls_port());
  ASSERT_TRUE(c.send(kGet));
  const std::string reply = c.read_all();
  // At most an alert record (type 21), never an HTTP answer in clear text.
  if (!reply.empty()) {
    EXPECT_EQ(reply[0], 21) << reply;
  }
  EXPECT_TRUE(TestServer::wait_until(
      [&] { return count([](auto& m) { return m.handshake_failures.get(); }) == 1; }));
  expect_served(neighbour);
  bystander_served();
}

TEST_F(TlsBadInput, GarbageRecordGetsAnAlertAndClose) {
  TestConnection c(server_.tls_port());
  // A handshake record whose body is not a ClientHello.
  ASSERT_TRUE(c.send(std::string("\x16\x03\x01\x00\x05\x01\x00\x00\x01\xff", 10)));
  const std::string reply = c.read_all();
  ASSERT_GE(reply.size(), 7u);
  EXPECT_EQ(reply[0], 21);  // alert
  EXPECT_EQ(reply[5], 2);   // fatal
  EXPECT_EQ(reply[6], 50);  // decode_error
  bystander_served();
}

TEST_F(TlsBadInput, ClientAlertDuringHandshakeCloses) {
  TestConnection c(server_.tls_port());
  ASSERT_TRUE(c.send(std::string("\x15\x03\x03\x00\x02\x02\x28", 7)));  // fatal handshake_failure
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(TestServer::wait_until(
      [&] { return count([](auto& m) { return m.handshake_failures.get(); }) == 1; }));
  bystander_served();
}

TEST_F(TlsBadInput, TruncatedRecordTimesOutAfterTheHandshakeTimeout) {
  TestConnection c(server_.tls_port());
  ASSERT_TRUE(c.send(std::string("\x16\x03\x01\x02\x00\x01", 6)));  // 512-byte record, 1 byte
  // Proof the server holds it (not closed) before the deadline.
  ASSERT_TRUE(TestServer::wait_until(
      [&] { return server_.engine_sum([](auto& m) { return m.bytes_in.get(); }) >= 6; }));
  server_.advance(9'000);
  bystander_served();
  EXPECT_EQ(count([](auto& m) { return m.handshake_timeouts.get(); }), 0u);
  server_.advance(1'001);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(count([](auto& m) { return m.handshake_timeouts.get(); }), 1u);
  bystander_served();
}

TEST_F(TlsBadInput, ClientLeavingMidHandshakeIsCounted) {
  TestConnection c(server_.tls_port());
  ASSERT_TRUE(c.send(std::string("\x16\x03\x01\x02\x00\x01\x00", 7)));
  c.shutdown_write();
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(TestServer::wait_until(
      [&] { return count([](auto& m) { return m.handshake_eof.get(); }) == 1; }));
  bystander_served();
}

TEST_F(TlsBadInput, CorruptRecordAfterHandshakeGetsBadRecordMac) {
  TestConnection c(server_.tls_port());
  ASSERT_TRUE(c.start_tls()) << c.error();
  expect_served(c);
  // An application-data record that does not decrypt.
  std::string rec("\x17\x03\x03\x00\x20", 5);
  rec.append(32, '\x5a');
  ASSERT_TRUE(c.send_raw(rec));
  EXPECT_FALSE(c.read_response());
  EXPECT_EQ(c.tls_alert(), 20);  // bad_record_mac
  EXPECT_TRUE(TestServer::wait_until(
      [&] { return count([](auto& m) { return m.record_errors.get(); }) == 1; }));
  bystander_served();
}

// --- closing

TEST(Tls, ConnectionCloseSendsCloseNotify) {
  TestServer server(tls_server());
  TestConnection c(server.tls_port());
  ASSERT_TRUE(c.start_tls()) << c.error();
  ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(c.error(), "eof");  // close_notify, not a bare FIN
}

TEST(Tls, PeerCloseNotifyIsAnsweredAndCounted) {
  TestServer server(tls_server());
  TestConnection c(server.tls_port());
  ASSERT_TRUE(c.start_tls()) << c.error();
  expect_served(c);
  c.tls_close_notify();
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(TestServer::wait_until([&] {
    return server.tls_sum([](auto& m) { return m.close_notify_received.get(); }) == 1;
  }));
  EXPECT_TRUE(TestServer::wait_until(
      [&] { return server.engine_sum([](auto& m) { return m.open.get(); }) == 0; }));
}

TEST(Tls, DrainAnswersInFlightAndClosesIdleTlsConnections) {
  TestServer server(tls_server());
  TestConnection idle(server.tls_port());
  ASSERT_TRUE(idle.start_tls()) << idle.error();
  expect_served(idle);
  TestConnection half(server.tls_port());  // mid-handshake: nothing sent yet
  ASSERT_TRUE(half.send(std::string("\x16\x03\x01\x02\x00\x01", 6)));
  ASSERT_TRUE(TestServer::wait_until(
      [&] { return server.engine_sum([](auto& m) { return m.bytes_in.get(); }) > 6; }));
  server.engine().drain();
  EXPECT_TRUE(idle.wait_closed());
  EXPECT_TRUE(half.wait_closed());
  server.engine().wait();
}

}  // namespace
}  // namespace ringshard::test
