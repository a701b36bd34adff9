// engine::Connection::start_transport: TLS started on an outbound
// connection that is already open in plaintext (what an HTTP CONNECT
// tunnel needs), against a TLS TestServer.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "engine/socket_address.h"
#include "tests/support/test_server.h"
#include "tls/client.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

struct LateTls final : engine::ConnectionHandler {
  tls::TlsTransport* transport = nullptr;
  bool write_first = false;  // write plaintext before starting: refused
  std::mutex mu;
  int opens = 0;
  bool started = false;
  bool refused_with_output = false;
  std::string received;
  std::atomic<bool> closed{false};

  void on_open(engine::Connection& conn) override {
    std::lock_guard lock(mu);
    if (++opens == 1) {
      if (write_first) {
        conn.write("x");
        refused_with_output = !conn.start_transport(transport);
        conn.close();
        return;
      }
      started = conn.start_transport(transport);
      EXPECT_FALSE(conn.start_transport(transport));  // only once
      return;
    }
    // Second on_open: the handshake is done; plaintext is sealed now.
    conn.write("GET /late HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  }
  void on_data(engine::Connection&, std::span<const char> data) override {
    std::lock_guard lock(mu);
    received.append(data.data(), data.size());
  }
  void on_close(engine::Connection&) override { closed = true; }
};

TEST(StartTransport, TlsOverAnOpenPlaintextConnection) {
  TestServerOptions so;
  so.shards = 1;
  so.tls = true;
  so.routes = [](http::Router& r) {
    r.add(http::Method::kGet, "/late", [](http::ServerRequest&, http::Response& res) {
      res.send(200, "text/plain", "sealed late");
    });
  };
  TestServer backend(so);
  TestServerOptions co;
  co.shards = 1;
  TestServer host(co);

  for (bool write_first : {false, true}) {
    LateTls handler;
    handler.write_first = write_first;
    std::unique_ptr<tls::TlsTransport> transport;
    host.on_shard(0, [&](engine::Shard& shard) {
      std::string error;
      auto ctx = tls::make_client_context({}, error);
      EXPECT_TRUE(ctx) << error;
      transport = tls::make_client_transport(shard, ctx);
      handler.transport = transport.get();
      const auto addr = engine::resolve_literal("127.0.0.1", backend.tls_port());
      return shard.connect(addr->address(), addr->length, &handler) != nullptr;
    });
    ASSERT_TRUE(TestServer::wait_until([&] { return handler.closed.load(); }));
    std::lock_guard lock(handler.mu);
    if (write_first) {
      EXPECT_TRUE(handler.refused_with_output);
    } else {
      EXPECT_TRUE(handler.started);
      EXPECT_EQ(handler.opens, 2);
      EXPECT_NE(handler.received.find("HTTP/1.1 200"), std::string::npos) << handler.received;
      EXPECT_NE(handler.received.find("sealed late"), std::string::npos);
    }
    // The transport goes on the shard that used it.
    host.on_shard(0, [&](engine::Shard&) {
      transport.reset();
      return true;
    });
  }
}

}  // namespace
}  // namespace ringshard::test
