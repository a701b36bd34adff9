// TLS upstreams: the proxy speaks HTTPS to an in-process ringshard serving
// a self-signed certificate for localhost (made by openssl, tests/support/
// certs.h). Verification against the system trust store fails (502,
// counted as tls_failed, the reason logged and never sent to the client),
// the certificate given as ca_file passes, and public-key pins are
// enforced on top: a wrong pin fails, the right one passes. The server's
// own development certificate (data_dir/tls) is used with pins alone.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/integration/proxy_support.h"
#include "tests/support/certs.h"
#include "tests/support/http_client.h"
#include "tls/pinning.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

// An HTTPS backend with an openssl-made self-signed certificate (CA:TRUE,
// so it can be its own trust anchor in ca_file), or without one: the
// development certificate, <data_dir>/tls/dev-cert.pem.
struct TlsBackend {
  std::string dir = make_temp_dir("ringshard-proxy-tls-");
  TestCertificate cert;
  std::unique_ptr<TestServer> server;
  explicit TlsBackend(bool dev_certificate = false) {
    TestServerOptions o;
    o.shards = 1;
    o.tls = true;
    if (!dev_certificate) {
      cert = make_certificate(dir, "backend", "localhost", {"localhost"});
      o.tweak = [this](server::Options& so) {
        so.tls_certs = {cert.cert};
        so.tls_keys = {cert.key};
      };
    }
    server = std::make_unique<TestServer>(o);
    if (dev_certificate) cert.cert = server->data_dir() + "/tls/dev-cert.pem";
  }
  ~TlsBackend() {
    server.reset();
    remove_tree(dir);
  }
  uint16_t port() { return server->tls_port(); }
};

proxy::UpstreamGroup tls_group(uint16_t port) {
  proxy::UpstreamGroup g = upstream_group("app", {port});
  g.tls.enabled = true;
  g.tls.verify = true;
  g.tls.server_name = "localhost";
  g.retry.attempts = 1;
  return g;
}

uint64_t tls_failures(TestServer& proxy, uint16_t port) {
  return metric(proxy_metrics(proxy), "ringshard_upstream_errors_total",
                backend_labels("app", port) + ",kind=\"tls_failed\"");
}

std::optional<HttpResponse> get_plaintext(TestServer& proxy) {
  TestConnection c(proxy.port());
  if (!c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")) return std::nullopt;
  auto r = c.read_response();
  EXPECT_TRUE(r.has_value()) << c.error();
  return r;
}

TEST(ProxyTls, SelfSignedBackendWithoutItsCaIs502TlsFailed) {
  TlsBackend backend;
  const uint16_t port = backend.port();
  CapturedLog log;
  auto proxy = start_proxy({.upstreams = {tls_group(port)}, .log = log.logger()});
  auto r = get_plaintext(*proxy);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(r->body.find("certificate"), std::string::npos) << "the reason leaked: " << r->body;
  // The operator learns which backend and why.
  const std::string text = log.text();
  EXPECT_NE(text.find("backend 127.0.0.1:" + std::to_string(port) + ": tls_failed"),
            std::string::npos) << text;
  EXPECT_NE(text.find("certificate verify failed"), std::string::npos) << text;
  EXPECT_EQ(tls_failures(*proxy, port), 1u) << proxy_metrics(*proxy);
  EXPECT_EQ(metric(proxy_metrics(*proxy), "ringshard_proxy_upstream_errors_total",
                   "upstream=\"app\""),
            1u);
}

TEST(ProxyTls, TheCertificateAsCaFileIsTrusted) {
  TlsBackend backend;
  const uint16_t port = backend.port();
  auto group = tls_group(port);
  group.tls.ca_file = backend.cert.cert;
  CapturedLog log;
  auto proxy = start_proxy({.upstreams = {group}, .log = log.logger()});
  for (int i = 0; i < 3; ++i) {
    auto r = get_plaintext(*proxy);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "Hello, World!") << log.text();
  }
  const std::string m = proxy_metrics(*proxy);
  EXPECT_EQ(tls_failures(*proxy, port), 0u);
  // One TLS connection, reused.
  EXPECT_EQ(metric(m, "ringshard_upstream_connects_total", backend_labels("app", port)), 1u) << m;
  EXPECT_EQ(backend.server->tls_sum([](const tls::TlsMetrics& t) { return t.handshakes.get(); }), 1u);
}

TEST(ProxyTls, AWrongPinIs502TlsFailedAndTheRightOneIs200) {
  TlsBackend backend;
  const uint16_t port = backend.port();
  std::string error;
  const std::string right = tls::spki_pin_of_file(backend.cert.cert, error);
  ASSERT_FALSE(right.empty()) << error;
  // A well-formed pin of some other key.
  const std::string wrong = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  ASSERT_NE(right, wrong);
  {
    auto group = tls_group(port);
    group.tls.ca_file = backend.cert.cert;  // the chain is fine: only the pin fails
    group.tls.pins = {wrong};
    CapturedLog log;
    auto proxy = start_proxy({.upstreams = {group}, .log = log.logger()});
    auto r = get_plaintext(*proxy);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 502);
    EXPECT_EQ(tls_failures(*proxy, port), 1u) << proxy_metrics(*proxy);
    const std::string text = log.text();
    EXPECT_NE(text.find(": tls_failed"), std::string::npos) << text;
    EXPECT_NE(text.find("pin"), std::string::npos) << text;
  }
  {
    auto group = tls_group(port);
    group.tls.ca_file = backend.cert.cert;
    group.tls.pins = {wrong, right};  // a backup pin and the current one
    auto proxy = start_proxy({.upstreams = {group}});
    auto r = get_plaintext(*proxy);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "Hello, World!");
    EXPECT_EQ(tls_failures(*proxy, port), 0u);
  }
}

TEST(ProxyTls, TheDevelopmentCertificateAsCaFileIsTrusted) {
  // Not a CA certificate: trusted because ca_file names it (a partial
  // chain, as curl allows).
  TlsBackend backend(/*dev_certificate=*/true);
  auto group = tls_group(backend.port());
  group.tls.ca_file = backend.cert.cert;
  auto proxy = start_proxy({.upstreams = {group}});
  auto r = get_plaintext(*proxy);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Hello, World!");
}

TEST(ProxyTls, TheDevelopmentCertificateIsReachedByItsPinAlone) {
  // verify = false with a pin: the pin alone decides (what a ringshard
  // backend on its generated certificate needs).
  TlsBackend backend(/*dev_certificate=*/true);
  const uint16_t port = backend.port();
  std::string error;
  const std::string right = tls::spki_pin_of_file(backend.cert.cert, error);
  ASSERT_FALSE(right.empty()) << error;
  const std::string wrong = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  {
    auto group = tls_group(port);
    group.tls.verify = false;
    group.tls.pins = {right};
    auto proxy = start_proxy({.upstreams = {group}});
    auto r = get_plaintext(*proxy);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    group.tls.pins = {wrong};
    auto proxy2 = start_proxy({.upstreams = {group}});
    r = get_plaintext(*proxy2);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 502);
    EXPECT_EQ(tls_failures(*proxy2, port), 1u);
  }
}

}  // namespace
}  // namespace ringshard::test
