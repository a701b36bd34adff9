// Public-key pinning for outbound TLS (tls/pinning.h, ClientOptions::pins):
// the pin text parser, the pin of a certificate (checked against Debian's
// openssl command line, an independent implementation), and handshakes of
// the project's client transport (an engine shard connecting out) against
// the in-process HTTPS server, whose development certificate is known.
#include "tls/pinning.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/socket_address.h"
#include "tests/support/certs.h"
#include "tests/support/test_server.h"
#include "tls/client.h"

namespace ringshard::tls {
namespace RS_UNITY_ID {

using std::chrono::steady_clock;

// "sha256/" and the base64 of 32 zero bytes / of 0x00..0x1f.
constexpr const char* kZeroPin = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
constexpr const char* kCountingPin = "sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The pin as openssl computes it (the recipe of tls/pinning.h).
std::string openssl_pin(const std::string& cert) {
  const std::string cmd = "openssl x509 -in '" + cert +
                          "' -pubkey -noout | openssl pkey -pubin -outform der |"
                          " openssl dgst -sha256 -binary | base64";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return {};
  char buf[128] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, p);
  ::pclose(p);
  std::string out(buf, n);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return "sha256/" + out;
}

// --- the text -----------------------------------------------------------------

TEST(PinText, ParsesAndPrintsTheCanonicalForm) {
  Sha256 d;
  std::string error;
  ASSERT_TRUE(parse_pin(kCountingPin, d, error)) << error;
  for (size_t i = 0; i < d.size(); ++i) EXPECT_EQ(d[i], i);
  EXPECT_EQ(pin_text(d), kCountingPin);
  ASSERT_TRUE(parse_pin(kZeroPin, d, error)) << error;
  EXPECT_EQ(d, Sha256{});
  EXPECT_EQ(pin_text(d), kZeroPin);
}

TEST(PinText, AcceptsCurlsDoubleSlash) {
  Sha256 d;
  std::string error;
  ASSERT_TRUE(parse_pin("sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", d, error)) << error;
  EXPECT_EQ(pin_text(d), kCountingPin);
}

// One digest in 64 encodes to base64 starting with '/': "sha256//..." is
// then the single-slash form, not curl's, and must keep its first '/'.
TEST(PinText, ADigestWhoseBase64StartsWithASlashRoundTrips) {
  Sha256 d{};
  d[0] = 0xff;  // the first six bits 111111: '/'
  const std::string text = pin_text(d);
  ASSERT_TRUE(text.starts_with("sha256//")) << text;
  Sha256 back;
  std::string error;
  ASSERT_TRUE(parse_pin(text, back, error)) << error;
  EXPECT_EQ(back, d);
  // And curl's form of the same digest: "sha256//" and the base64.
  ASSERT_TRUE(parse_pin("sha256/" + text.substr(6), back, error)) << error;
  EXPECT_EQ(back, d);
}

TEST(PinText, RefusesMalformedPinsSayingWhy) {
  struct Case {
    std::string text;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"", "starts with"},
      {"sha1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "starts with"},
      {"SHA256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "starts with"},
      {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "starts with"},
      {"sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "44 characters"},
      {"sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==", "44 characters"},
      {"sha256/ AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "44 characters"},
      {"sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A", "padding"},
      {"sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-h8=", "alphabet at position 41"},
      {"sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", "not canonical"},
      {"sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH=8=", "alphabet"},
      {"sha256/" + std::string(100, 'A'), "too long"},
  };
  for (const Case& c : cases) {
    Sha256 d;
    std::string error;
    EXPECT_FALSE(parse_pin(c.text, d, error)) << c.text;
    EXPECT_NE(error.find(c.says), std::string::npos) << c.text << " -> " << error;
  }
}

// --- the pin of a certificate ---------------------------------------------------

class PinOfCertificate : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::make_temp_dir("ringshard-pin-"); }
  void TearDown() override { test::remove_tree(dir_); }
  std::string dir_;
};

TEST_F(PinOfCertificate, AgreesWithOpenssl) {
  for (bool rsa : {false, true}) {
    const auto c = test::make_certificate(dir_, rsa ? "rsa" : "ec", "pin.test", {"pin.test"}, rsa);
    std::string error;
    const std::string pin = spki_pin_of_file(c.cert, error);
    ASSERT_FALSE(pin.empty()) << error;
    EXPECT_EQ(pin, openssl_pin(c.cert)) << (rsa ? "RSA" : "ECDSA");
    EXPECT_EQ(spki_pin_of_pem(read_file(c.cert), error), pin);
  }
}

TEST_F(PinOfCertificate, NoCertificateIsAnError) {
  std::string error;
  EXPECT_EQ(spki_pin_of_pem("not a certificate", error), "");
  EXPECT_FALSE(error.empty());
  error.clear();
  EXPECT_EQ(spki_pin_of_file(dir_ + "/missing.pem", error), "");
  EXPECT_NE(error.find("missing.pem"), std::string::npos) << error;
}

TEST(PinContext, AMalformedPinIsAConfigurationError) {
  ClientOptions o;
  o.pins = {kZeroPin, "sha256/nope"};
  std::string error;
  EXPECT_EQ(ClientContext::create(o, error), nullptr);
  EXPECT_NE(error.find("pin 2"), std::string::npos) << error;
  EXPECT_NE(error.find("44 characters"), std::string::npos) << error;
}

// --- handshakes -------------------------------------------------------------------

// What became of the one outbound connection of a test.
struct Outcome {
  std::mutex mu;
  std::condition_variable cv;
  bool opened = false;
  int connect_error = 0;
  std::string reason;
  bool closed = false;
};

class ProbeHandler final : public engine::ConnectionHandler {
 public:
  explicit ProbeHandler(Outcome& out) : out_(out) {}
  void on_open(engine::Connection& conn) override {
    {
      std::lock_guard lock(out_.mu);
      out_.opened = true;
    }
    conn.close();
  }
  void on_connect_failed(engine::Connection& conn, int error) override {
    std::lock_guard lock(out_.mu);
    out_.connect_error = error;
    out_.reason = std::string(TlsTransport::failure_reason(conn));
  }
  void on_data(engine::Connection&, std::span<const char>) override {}
  void on_close(engine::Connection&) override {
    std::lock_guard lock(out_.mu);
    out_.closed = true;
    out_.cv.notify_all();
  }

 private:
  Outcome& out_;
};

class NullHandler final : public engine::ConnectionHandler {
 public:
  void on_data(engine::Connection&, std::span<const char>) override {}
};

class PinnedHandshake : public ::testing::Test {
 protected:
  void SetUp() override {
    // Certificates from openssl's `req -x509` (a self-signed CA:TRUE
    // certificate, so it can be its own trust anchor; the development
    // certificate is CA:FALSE and cannot).
    dir_ = test::make_temp_dir("ringshard-pin-");
    const auto server_cert = test::make_certificate(dir_, "server", "localhost", {"localhost"});
    server_cert_ = server_cert.cert;
    other_cert_ = test::make_certificate(dir_, "other", "other.test", {"other.test"}).cert;
    std::string error;
    server_pin_ = spki_pin_of_file(server_cert_, error);
    ASSERT_FALSE(server_pin_.empty()) << error;
    other_pin_ = spki_pin_of_file(other_cert_, error);
    ASSERT_FALSE(other_pin_.empty()) << error;
    ASSERT_NE(server_pin_, other_pin_);

    test::TestServerOptions so{.shards = 1, .tls = true};
    so.tweak = [server_cert](server::Options& opt) {
      opt.tls_certs = {server_cert.cert};
      opt.tls_keys = {server_cert.key};
    };
    server_ = std::make_unique<test::TestServer>(so);
    ASSERT_NE(server_->tls_port(), 0);

    engine::EngineConfig cfg;
    cfg.shards = 1;
    cfg.pin_threads = false;
    cfg.listen = false;
    cfg.recv_buffer_count = 16;
    cfg.make_handler = [](engine::Shard&) { return std::make_unique<NullHandler>(); };
    client_ = std::make_unique<engine::Engine>(cfg);
    ASSERT_TRUE(client_->start().ok());
  }

  void TearDown() override {
    if (client_ != nullptr) {
      client_->drain();
      client_->wait();
    }
    transport_.reset();
    client_.reset();
    server_.reset();
    if (!dir_.empty()) test::remove_tree(dir_);
  }

  // Connects once with `options`; returns once the connection has closed.
  void connect(const ClientOptions& options) {
    std::string error;
    auto ctx = make_client_context(options, error);
    ASSERT_NE(ctx, nullptr) << error;
    const auto addr = engine::resolve_literal("127.0.0.1", server_->tls_port());
    ASSERT_TRUE(addr.has_value());
    client_->execute(0, [this, ctx, addr](engine::Shard& shard) {
      transport_ = make_client_transport(shard, ctx);
      shard.connect(addr->address(), addr->length, &probe_, nullptr, transport_.get());
    });
    std::unique_lock lock(outcome_.mu);
    ASSERT_TRUE(outcome_.cv.wait_until(lock, steady_clock::now() + std::chrono::seconds(20),
                                       [&] { return outcome_.closed; }));
  }

  const TlsMetrics& metrics() { return transport_->metrics(); }

  std::unique_ptr<test::TestServer> server_;
  std::string server_cert_, server_pin_;
  std::string dir_, other_cert_, other_pin_;
  Outcome outcome_;
  ProbeHandler probe_{outcome_};  // the outbound connection's handler
  std::unique_ptr<engine::Engine> client_;
  std::unique_ptr<TlsTransport> transport_;  // created and used on the client shard
};

TEST_F(PinnedHandshake, AMatchingPinCompletesTheHandshake) {
  ClientOptions o;
  o.server_name = "localhost";
  o.pins = {other_pin_, server_pin_};  // a backup pin first: any may match
  connect(o);
  std::lock_guard lock(outcome_.mu);
  EXPECT_TRUE(outcome_.opened) << outcome_.reason;
  EXPECT_EQ(metrics().handshakes.get(), 1u);
  EXPECT_EQ(metrics().pin_mismatches.get(), 0u);
}

TEST_F(PinnedHandshake, AMatchingPinAfterChainVerificationCompletes) {
  ClientOptions o;
  o.verify_peer = true;
  o.ca_file = server_cert_;  // self-signed: its own root
  o.server_name = "localhost";
  o.pins = {server_pin_};
  connect(o);
  std::lock_guard lock(outcome_.mu);
  EXPECT_TRUE(outcome_.opened) << outcome_.reason;
}

TEST_F(PinnedHandshake, AMismatchFailsTheConnectionCountedAndExplained) {
  ClientOptions o;
  o.server_name = "localhost";
  o.pins = {other_pin_};
  connect(o);
  std::lock_guard lock(outcome_.mu);
  EXPECT_FALSE(outcome_.opened);
  EXPECT_EQ(outcome_.connect_error, EPROTO);
  EXPECT_NE(outcome_.reason.find("certificate pin mismatch"), std::string::npos) << outcome_.reason;
  EXPECT_NE(outcome_.reason.find(server_pin_), std::string::npos) << outcome_.reason;
  EXPECT_EQ(metrics().pin_mismatches.get(), 1u);
  EXPECT_EQ(metrics().handshake_failures.get(), 1u);
  EXPECT_EQ(metrics().handshakes.get(), 0u);
}

TEST_F(PinnedHandshake, AMismatchFailsEvenWhenTheChainVerifies) {
  ClientOptions o;
  o.verify_peer = true;
  o.ca_file = server_cert_;
  o.server_name = "localhost";
  o.pins = {other_pin_};
  connect(o);
  std::lock_guard lock(outcome_.mu);
  EXPECT_FALSE(outcome_.opened);
  EXPECT_NE(outcome_.reason.find("certificate pin mismatch"), std::string::npos) << outcome_.reason;
  EXPECT_EQ(metrics().pin_mismatches.get(), 1u);
}

TEST_F(PinnedHandshake, AnUnknownCaStillFailsBeforeThePinIsLookedAt) {
  ClientOptions o;
  o.verify_peer = true;
  o.ca_file = other_cert_;
  o.server_name = "localhost";
  o.pins = {server_pin_};
  connect(o);
  std::lock_guard lock(outcome_.mu);
  EXPECT_FALSE(outcome_.opened);
  EXPECT_EQ(outcome_.connect_error, EPROTO);
  EXPECT_NE(outcome_.reason.find("certificate verify failed"), std::string::npos) << outcome_.reason;
  EXPECT_EQ(metrics().pin_mismatches.get(), 0u);
  EXPECT_EQ(metrics().handshake_failures.get(), 1u);
}

TEST_F(PinnedHandshake, AnUnknownCaFailsWithoutPinsAsBefore) {
  ClientOptions o;
  o.verify_peer = true;
  o.ca_file = other_cert_;
  o.server_name = "localhost";
  connect(o);
  std::lock_guard lock(outcome_.mu);
  EXPECT_FALSE(outcome_.opened);
  EXPECT_EQ(outcome_.connect_error, EPROTO);
  EXPECT_NE(outcome_.reason.find("certificate verify failed"), std::string::npos) << outcome_.reason;
}

}  // namespace
}  // namespace ringshard::tls
