// Reaching an upstream: TLS with verification against a CA file, a forward
// proxy (absolute-form targets), name resolution through the injected
// resolver with fallback to the next address, pool keys.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include "client/proxy_env.h"
#include "tests/client/client_harness.h"
#include "tests/support/certs.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

using client::ClientError;

struct TlsBackend {
  std::string dir = make_temp_dir("ringshard-client-tls-");
  TestCertificate cert = make_certificate(dir, "backend", "localhost", {"localhost"});
  std::unique_ptr<TestServer> server;
  TlsBackend() {
    TestServerOptions o;
    o.shards = 1;
    o.tls = true;
    o.tweak = [this](server::Options& so) {
      so.tls_certs = {cert.cert};
      so.tls_keys = {cert.key};
    };
    o.routes = [](http::Router& r) {
      r.add(http::Method::kGet, "/secure", [](http::ServerRequest&, http::Response& res) {
        res.send(200, "text/plain", "over tls");
      });
    };
    server = std::make_unique<TestServer>(o);
  }
  ~TlsBackend() {
    server.reset();
    remove_tree(dir);
  }
};

TEST(ClientUpstream, TlsWithVerificationAgainstCaFile) {
  TlsBackend backend;
  ClientHost host;
  auto uo = local_upstream(backend.server->tls_port());
  uo.tls.enabled = true;
  uo.tls.verify_peer = true;
  uo.tls.ca_file = backend.cert.cert;
  uo.tls.server_name = "localhost";
  client::Upstream* up = host.upstream(uo);
  for (int i = 0; i < 3; ++i) {
    const client::ClientResult r = host.fetch(up, get("/secure"));
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.body, "over tls");
  }
  EXPECT_EQ(up->metrics().connects.get(), 1u);
  EXPECT_EQ(up->metrics().reuses.get(), 2u);
}

TEST(ClientUpstream, DestroyingTheClientWithPooledTlsConnections) {
  TlsBackend backend;
  auto host = std::make_unique<ClientHost>();
  auto uo = local_upstream(backend.server->tls_port());
  uo.tls.enabled = true;
  uo.tls.verify_peer = false;
  client::Upstream* up = host->upstream(uo);
  std::vector<std::shared_ptr<Pending>> pending;
  for (int i = 0; i < 4; ++i) pending.push_back(host->start(up, get("/secure")));
  for (auto& p : pending) ASSERT_TRUE(p->wait().ok());
  EXPECT_GE(up->metrics().idle.get(), 1u);
  // The TLS transport must outlive the connections it still closes.
  host.reset();
  EXPECT_TRUE(TestServer::wait_until([&] {
    return backend.server->engine_sum([](auto& m) { return m.open.get(); }) == 0;
  }));
}

TEST(ClientUpstream, TlsNameMismatchFailsVerification) {
  TlsBackend backend;
  ClientHost host;
  auto uo = local_upstream(backend.server->tls_port());
  uo.tls.enabled = true;
  uo.tls.verify_peer = true;
  uo.tls.ca_file = backend.cert.cert;
  uo.tls.server_name = "not-the-name.example";
  uo.retry.max_retries = 0;
  client::Upstream* up = host.upstream(uo);
  EXPECT_EQ(host.fetch(up, get("/secure")).error, ClientError::kTlsFailed);
  EXPECT_EQ(up->metrics().error_count(ClientError::kTlsFailed), 1u);
}

TEST(ClientUpstream, UntrustedCertificateFailsVerification) {
  TlsBackend backend;
  ClientHost host;
  const std::string other_dir = make_temp_dir("ringshard-client-ca-");
  const TestCertificate other = make_certificate(other_dir, "other", "localhost", {"localhost"});
  auto uo = local_upstream(backend.server->tls_port());
  uo.tls.enabled = true;
  uo.tls.ca_file = other.cert;
  uo.tls.server_name = "localhost";
  client::Upstream* up = host.upstream(uo);
  EXPECT_EQ(host.fetch(up, get("/secure")).error, ClientError::kTlsFailed);
  remove_tree(other_dir);
}

TEST(ClientUpstream, ForwardProxyGetsAbsoluteFormTargets) {
  std::mutex mu;
  std::vector<std::string> lines;
  RawServer proxy([&](RawConn& c) {
    while (true) {
      const std::string req = c.read_request();
      if (req.empty()) return;
      {
        std::lock_guard lock(mu);
        lines.push_back(req.substr(0, req.find("\r\n\r\n")));
      }
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nproxied");
    }
  });
  ClientHost host;
  client::UpstreamOptions uo;
  uo.host = "origin.example";  // never resolved: the proxy is connected to
  uo.port = 8080;
  uo.proxy = client::UpstreamProxy{"127.0.0.1", proxy.port()};
  client::Upstream* up = host.upstream(uo);
  EXPECT_EQ(host.fetch(up, get("/path?q=1")).body, "proxied");
  EXPECT_EQ(host.fetch(up, get("/two")).body, "proxied");
  std::lock_guard lock(mu);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "GET http://origin.example:8080/path?q=1 HTTP/1.1\r\nHost: origin.example:8080");
  EXPECT_EQ(lines[1], "GET http://origin.example:8080/two HTTP/1.1\r\nHost: origin.example:8080");
  EXPECT_EQ(proxy.accepted(), 1);
}

// The environment's proxies (https_proxy/http_proxy/no_proxy, read by
// client/proxy_env.h) apply to upstreams without their own: credentials
// go as Proxy-Authorization, and a no_proxy name goes direct.
TEST(ClientUpstream, EnvironmentProxyIsUsedWithItsCredentialsUnlessNoProxyNamesTheHost) {
  std::mutex mu;
  std::vector<std::string> heads;
  RawServer proxy([&](RawConn& c) {
    while (true) {
      const std::string req = c.read_request();
      if (req.empty()) return;
      {
        std::lock_guard lock(mu);
        heads.push_back(req.substr(0, req.find("\r\n\r\n")));
      }
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nproxied");
    }
  });
  const std::string proxy_url = "http://user:secret@127.0.0.1:" + std::to_string(proxy.port());
  auto env = std::make_shared<client::ProxyEnv>();
  std::string error;
  ASSERT_TRUE(client::read_proxy_env(
      [&](const char* name) -> const char* {
        if (std::string_view(name) == "http_proxy") return proxy_url.c_str();
        if (std::string_view(name) == "no_proxy") return "127.0.0.1,.internal";
        return nullptr;
      },
      *env, error))
      << error;
  client::HttpClient::Options options;
  options.env_proxy = env;
  ClientHost host(false, options);
  client::UpstreamOptions uo;
  uo.host = "origin.example";  // never resolved: the proxy is connected to
  uo.port = 8080;
  EXPECT_EQ(host.fetch(host.upstream(uo), get("/via")).body, "proxied");
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(heads.size(), 1u);
    EXPECT_EQ(heads[0].rfind("GET http://origin.example:8080/via HTTP/1.1\r\n", 0), 0u) << heads[0];
    // base64("user:secret")
    EXPECT_NE(heads[0].find("Proxy-Authorization: Basic dXNlcjpzZWNyZXQ="), std::string::npos)
        << heads[0];
  }
  // no_proxy names 127.0.0.1: straight to the backend, the proxy sees nothing.
  TestServer backend;
  client::UpstreamOptions direct = local_upstream(backend.port());
  const client::ClientResult r = host.fetch(host.upstream(direct), get("/plaintext"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Hello, World!");
  std::lock_guard lock(mu);
  EXPECT_EQ(heads.size(), 1u);
}

// A forward proxy that answers CONNECT with 200 and relays bytes both
// ways to 127.0.0.1:<port> (the port named in the CONNECT line), or
// refuses with `refuse_status`.
struct ConnectProxy {
  std::mutex mu;
  std::vector<std::string> heads;
  int refuse_status = 0;
  RawServer server{[this](RawConn& c) {
    const std::string req = c.read_request();
    if (req.empty()) return;
    {
      std::lock_guard lock(mu);
      heads.push_back(req.substr(0, req.find("\r\n\r\n")));
    }
    if (refuse_status != 0) {
      c.send("HTTP/1.1 " + std::to_string(refuse_status) + " Refused\r\nContent-Length: 0\r\n\r\n");
      c.wait_eof();
      return;
    }
    const size_t colon = req.find(':', 8);
    const auto port = static_cast<uint16_t>(std::stoi(req.substr(colon + 1)));
    const int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const auto addr = engine::resolve_literal("127.0.0.1", port);
    if (::connect(up, addr->address(), addr->length) != 0) {
      ::close(up);
      c.send("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    c.send("HTTP/1.1 200 Connection Established\r\n\r\n");
    relay(c.fd(), up);
    ::close(up);
  }};

  static void relay(int a, int b) {
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    char buf[16384];
    while (::poll(fds, 2, -1) > 0) {
      for (int i = 0; i < 2; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t n = ::recv(fds[i].fd, buf, sizeof(buf), 0);
        if (n <= 0) {
          ::shutdown(fds[1 - i].fd, SHUT_WR);
          return;
        }
        if (::send(fds[1 - i].fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) return;
      }
    }
  }
};

client::UpstreamOptions tls_via_proxy(TlsBackend& backend, ConnectProxy& proxy) {
  client::UpstreamOptions uo;
  uo.host = "127.0.0.1";
  uo.port = backend.server->tls_port();
  uo.tls.enabled = true;
  uo.tls.verify_peer = true;
  uo.tls.ca_file = backend.cert.cert;
  uo.tls.server_name = "localhost";
  uo.proxy = client::UpstreamProxy{"127.0.0.1", proxy.server.port()};
  uo.retry.max_retries = 0;
  return uo;
}

TEST(ClientUpstream, TlsThroughAConnectTunnel) {
  TlsBackend backend;
  ConnectProxy proxy;
  ClientHost host;
  client::Upstream* up = host.upstream(tls_via_proxy(backend, proxy));
  for (int i = 0; i < 3; ++i) {
    const client::ClientResult r = host.fetch(up, get("/secure"));
    ASSERT_TRUE(r.ok()) << client::client_error_name(r.error) << " " << r.detail;
    EXPECT_EQ(r.body, "over tls");
  }
  EXPECT_EQ(up->metrics().connects.get(), 1u);
  EXPECT_EQ(proxy.server.accepted(), 1);
  std::lock_guard lock(proxy.mu);
  ASSERT_EQ(proxy.heads.size(), 1u);
  const std::string hp = "127.0.0.1:" + std::to_string(backend.server->tls_port());
  EXPECT_EQ(proxy.heads[0], "CONNECT " + hp + " HTTP/1.1\r\nHost: " + hp);
}

TEST(ClientUpstream, ProxyRefusingConnectIsAConnectFailure) {
  TlsBackend backend;
  ConnectProxy proxy;
  proxy.refuse_status = 407;
  ClientHost host;
  client::Upstream* up = host.upstream(tls_via_proxy(backend, proxy));
  const client::ClientResult r = host.fetch(up, get("/secure"));
  EXPECT_EQ(r.error, ClientError::kConnectFailed);
  EXPECT_NE(r.detail.find("407"), std::string::npos) << r.detail;
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().open.get() == 0; }));
}

TEST(ClientUpstream, TlsFailureInsideTheTunnelIsTlsFailed) {
  TlsBackend backend;
  ConnectProxy proxy;
  ClientHost host;
  auto uo = tls_via_proxy(backend, proxy);
  uo.tls.server_name = "wrong.example";
  client::Upstream* up = host.upstream(uo);
  EXPECT_EQ(host.fetch(up, get("/secure")).error, ClientError::kTlsFailed);
}

TEST(ClientUpstream, SilentProxyTimesOutTheConnect) {
  std::atomic<bool> got{false};
  RawServer proxy([&](RawConn& c) {
    c.read_request();
    got = true;
    c.wait_eof();
  });
  ClientHost host(/*manual_clock=*/true);
  client::UpstreamOptions uo;
  uo.host = "origin.example";
  uo.port = 443;
  uo.tls.enabled = true;
  uo.proxy = client::UpstreamProxy{"127.0.0.1", proxy.port()};
  uo.retry.max_retries = 0;
  uo.timeouts.connect_ms = 1'000;
  client::Upstream* up = host.upstream(uo);
  auto p = host.start(up, get("/"));
  ASSERT_TRUE(TestServer::wait_until([&] { return got.load(); }));
  host.advance(1'001);
  EXPECT_EQ(p->wait().error, ClientError::kConnectTimeout);
}

TEST(ClientUpstream, ResolvedAddressesAreTriedInOrder) {
  RefusingPort refusing;
  TestServerOptions o;
  o.shards = 1;
  o.routes = [](http::Router& r) {
    r.add(http::Method::kGet, "/", [](http::ServerRequest&, http::Response& res) {
      res.send(200, "text/plain", "second address");
    });
  };
  TestServer backend(o);
  std::atomic<int> lookups{0};
  client::HttpClient::Options co;
  const uint16_t dead_port = refusing.port(), live_port = backend.port();
  // A fake resolver: the first address refuses, the second answers (the
  // port in the answer is the resolver's, as with SRV-less DNS it is the
  // asked one; here each address carries its own to tell them apart).
  co.resolve = [&lookups, dead_port, live_port](std::string_view host, uint16_t,
                                                 client::Resolver::Callback done) {
    lookups.fetch_add(1);
    client::Resolution r;
    if (host != "api.internal") {
      r.error = client::ResolveError::kNotFound;
      r.error_text = "no such host";
    } else {
      r.addresses.push_back(*engine::resolve_literal("127.0.0.1", dead_port));
      r.addresses.push_back(*engine::resolve_literal("127.0.0.1", live_port));
    }
    done(std::move(r));
  };
  ClientHost host(false, co);
  client::UpstreamOptions uo;
  uo.host = "api.internal";
  uo.port = 80;
  client::Upstream* up = host.upstream(uo);
  const client::ClientResult r = host.fetch(up, get("/"));
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.body, "second address");
  EXPECT_EQ(up->metrics().connect_attempts.get(), 2u);
  EXPECT_EQ(lookups.load(), 1);

  client::UpstreamOptions missing;
  missing.host = "missing.internal";
  client::Upstream* up2 = host.upstream(missing);
  EXPECT_EQ(host.fetch(up2, get("/")).error, ClientError::kResolveFailed);
}

TEST(ClientUpstream, NamesNeedAResolver) {
  ClientHost host;
  client::UpstreamOptions uo;
  uo.host = "api.internal";
  client::Upstream* up = host.upstream(uo);
  EXPECT_EQ(host.fetch(up, get("/")).error, ClientError::kResolveFailed);
}

TEST(ClientUpstream, PoolsAreKeyedByEverythingThatPicksAConnection) {
  client::UpstreamOptions a;
  a.host = "h";
  a.port = 1;
  client::UpstreamOptions b = a;
  b.pool.max_connections = 3;  // limits do not pick a connection
  EXPECT_EQ(client::upstream_key(a), client::upstream_key(b));
  client::UpstreamOptions c = a;
  c.tls.enabled = true;
  EXPECT_NE(client::upstream_key(a), client::upstream_key(c));
  client::UpstreamOptions d = c;
  d.tls.server_name = "other";
  EXPECT_NE(client::upstream_key(c), client::upstream_key(d));
  client::UpstreamOptions e = c;
  e.tls.pins = {"pin"};
  EXPECT_NE(client::upstream_key(c), client::upstream_key(e));
  client::UpstreamOptions f = a;
  f.proxy = client::UpstreamProxy{"p", 3128};
  EXPECT_NE(client::upstream_key(a), client::upstream_key(f));
}

}  // namespace
}  // namespace ringshard::test
