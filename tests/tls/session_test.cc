// tls/session.h driven over memory: a server Session and a client Session
// (the project's client context) talking through two byte buffers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/certs.h"
#include "tls/certificate.h"
#include "tls/server_context.h"
#include "tls/session.h"
#include "tls/transport.h"

namespace ringshard::tls {
namespace RS_UNITY_ID {

struct Buffer final : WireSink {
  void wire(std::string_view bytes) override { data.append(bytes); }
  std::string data;
};

// The lengths of the TLS records in `wire` (5-byte headers).
std::vector<size_t> record_lengths(const std::string& wire) {
  std::vector<size_t> out;
  for (size_t i = 0; i + 5 <= wire.size();) {
    const size_t len = (static_cast<uint8_t>(wire[i + 3]) << 8) | static_cast<uint8_t>(wire[i + 4]);
    out.push_back(len);
    i += 5 + len;
  }
  return out;
}

class SessionPair : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::make_temp_dir("ringshard-session-");
    std::string error;
    const auto now = static_cast<int64_t>(std::time(nullptr));
    auto dev = ensure_dev_certificate(dir_ + "/tls", now, error);
    ASSERT_TRUE(dev) << error;
    ServerOptions opts;
    opts.certificates.push_back({dev->cert_path, dev->key_path});
    // No tickets: BoringSSL holds a TLS 1.3 ticket until the next write,
    // which would put a ticket record in front of the records under test.
    opts.ticket_rotation_s = 0;
    server_ctx_ = ServerContext::create(opts, std::make_shared<TicketKeys>(3'600'000), now, error);
    ASSERT_TRUE(server_ctx_) << error;
    client_ctx_ = ClientContext::create(ClientOptions{}, error);
    ASSERT_TRUE(client_ctx_) << error;
    ASSERT_TRUE(server_.start(server_ctx_->default_ctx(), Session::Role::kServer, &to_client_, nullptr));
    ASSERT_TRUE(client_.start(client_ctx_->ctx(), Session::Role::kClient, &to_server_, nullptr));
    ASSERT_TRUE(client_.begin_handshake());
    for (int i = 0; i < 6 && !(server_.established() && client_.established()); ++i) {
      pump_to_server();
      pump_to_client();
    }
    ASSERT_TRUE(server_.established());
    ASSERT_TRUE(client_.established());
    ASSERT_TRUE(to_client_.data.empty());
    received_.clear();
  }
  void TearDown() override { test::remove_tree(dir_); }

  static bool established(void*) { return true; }
  static bool plaintext(void* ctx, std::span<const char> bytes) {
    static_cast<std::string*>(ctx)->append(bytes.data(), bytes.size());
    return true;
  }
  Session::Received pump_to_server() {
    std::string bytes = std::move(to_server_.data);
    to_server_.data.clear();
    return server_.receive(bytes, scratch_, {established, plaintext, &server_got_});
  }
  Session::Received pump_to_client() {
    std::string bytes = std::move(to_client_.data);
    to_client_.data.clear();
    return client_.receive(bytes, scratch_, {established, plaintext, &received_});
  }

  std::string dir_;
  std::shared_ptr<const ServerContext> server_ctx_;
  std::shared_ptr<const ClientContext> client_ctx_;
  Buffer to_client_, to_server_;
  Session server_, client_;
  std::string received_, server_got_;
  char scratch_[Session::kLargeRecord];
};

TEST_F(SessionPair, NegotiatesTls13WithAlpn) {
  EXPECT_STREQ(server_.version(), "TLSv1.3");
  EXPECT_EQ(server_.alpn(), "http/1.1");
  EXPECT_FALSE(server_.resumed());
}

TEST_F(SessionPair, RecordsStartSmallThenGrowToSixteenKiB) {
  const std::string body(200 * 1024, 'b');
  ASSERT_TRUE(server_.seal(body, /*now_ms=*/1000));
  const auto lengths = record_lengths(to_client_.data);
  ASSERT_FALSE(lengths.empty());
  // Overhead per TLS 1.3 record: 1 content-type byte + 16 tag bytes.
  const size_t small = Session::kSmallRecord + 17, large = Session::kLargeRecord + 17;
  size_t i = 0, sent = 0;
  for (; i < lengths.size() && sent < Session::kWarmBytes; ++i, sent += Session::kSmallRecord) {
    EXPECT_EQ(lengths[i], small) << "record " << i;
  }
  for (; i + 1 < lengths.size(); ++i) EXPECT_EQ(lengths[i], large) << "record " << i;
  pump_to_client();
  EXPECT_EQ(received_, body);

  // Still warm within the burst; small again after a second of silence.
  to_client_.data.clear();
  ASSERT_TRUE(server_.seal(std::string(20'000, 'c'), 1500));
  EXPECT_EQ(record_lengths(to_client_.data).front(), large);
  to_client_.data.clear();
  ASSERT_TRUE(server_.seal(std::string(20'000, 'd'), 2600));
  EXPECT_EQ(record_lengths(to_client_.data).front(), small);
}

TEST_F(SessionPair, SmallPiecesShareOneRecord) {
  // A response head and body in separate pieces, three responses: one record.
  const std::string_view pieces[] = {"HTTP/1.1 200 OK\r\n\r\n", "a", "HTTP/1.1 200 OK\r\n\r\n",
                                     "bb", "HTTP/1.1 200 OK\r\n\r\n", "ccc"};
  char staging[Session::kLargeRecord];
  ASSERT_TRUE(server_.seal(pieces, staging, 1000));
  EXPECT_EQ(record_lengths(to_client_.data).size(), 1u);
  pump_to_client();
  std::string want;
  for (auto p : pieces) want += p;
  EXPECT_EQ(received_, want);
}

TEST_F(SessionPair, PlaintextSurvivesOneByteReceives) {
  std::string want;
  for (int i = 0; i < 50; ++i) want += "request " + std::to_string(i) + "\n";
  ASSERT_TRUE(client_.seal(want, 0));
  const std::string wire = to_server_.data;
  ASSERT_GT(wire.size(), 500u);
  // Byte by byte, the worst split: BoringSSL keeps partial records between
  // receives and nothing is lost or repeated.
  for (char c : wire) {
    const auto r = server_.receive(std::string_view(&c, 1), scratch_, {established, plaintext, &server_got_});
    ASSERT_EQ(r.status, Session::Status::kEstablished);
  }
  EXPECT_EQ(server_got_, want);
}

TEST_F(SessionPair, CloseNotifyEndsTheStreamOnce) {
  client_.close_notify();
  client_.close_notify();  // once only
  const auto r = pump_to_server();
  EXPECT_EQ(r.status, Session::Status::kPeerClosed);
  EXPECT_EQ(server_.alert_received(), 0);  // close_notify is alert 0
  server_.close_notify();
  EXPECT_EQ(record_lengths(to_client_.data).size(), 1u);
  EXPECT_EQ(pump_to_client().status, Session::Status::kPeerClosed);
}

TEST_F(SessionPair, TamperedRecordFailsWithBadRecordMac) {
  ASSERT_TRUE(client_.seal("GET / HTTP/1.1\r\n\r\n", 0));
  to_server_.data[to_server_.data.size() - 1] ^= 1;
  const auto r = pump_to_server();
  EXPECT_EQ(r.status, Session::Status::kFailed);
  EXPECT_EQ(server_.alert_sent(), 20);  // bad_record_mac
  EXPECT_TRUE(server_got_.empty());
  EXPECT_FALSE(server_.seal("x", 0));  // a failed session writes nothing
}

}  // namespace
}  // namespace ringshard::tls
