// tests/support/test_server.h: an in-process ringshard for integration
// tests: 127.0.0.1, port 0, a chosen number of shards (threads not pinned,
// CI has 2 cores), optionally a ManualClock. Extra routes are added through
// a callback before start. The destructor drains and joins.
#pragma once

#include <functional>
#include <memory>

#include "engine/clock.h"
#include "server/server_app.h"

namespace ringshard::test {

struct TestServerOptions {
  unsigned shards = 2;
  bool manual_clock = false;
  std::function<void(server::Options&)> tweak;      // adjust options
  std::function<void(http::Router&)> routes;        // add routes
  std::function<void(server::ServerApp&)> setup;    // e.g. WebSocket endpoints
  // HTTPS on 127.0.0.1, port 0, beside HTTP; without `tweak`ed certificates
  // a development certificate is generated into a temporary data dir.
  bool tls = false;
};

class TestServer {
 public:
  explicit TestServer(TestServerOptions opts = {});
  ~TestServer();

  uint16_t port() { return app_->engine().port(); }
  uint16_t tls_port() { return app_->tls_port(); }
  server::ServerApp& app() { return *app_; }
  engine::Engine& engine() { return app_->engine(); }
  // Only with manual_clock: advances the clock and wakes every shard.
  void advance(uint64_t ms);

  // Sums a counter over shards, e.g. [](auto& m) { return m.accepted.get(); }
  uint64_t engine_sum(const std::function<uint64_t(engine::ShardMetrics&)>& f);
  uint64_t http_sum(const std::function<uint64_t(const http::HttpMetrics&)>& f);
  uint64_t tls_sum(const std::function<uint64_t(const tls::TlsMetrics&)>& f);
  uint64_t ws_sum(const std::function<uint64_t(const ws::WsMetrics&)>& f);
  // The data directory (TLS development certificate under tls/).
  const std::string& data_dir() const { return data_dir_; }
  // Polls (1 ms steps, up to timeout) until pred() holds; true if it did.
  // A synchronisation point with the shards, not a timing assumption.
  static bool wait_until(const std::function<bool()>& pred, int timeout_ms = 10'000);

 private:
  std::unique_ptr<engine::ManualClock> clock_;
  std::unique_ptr<server::ServerApp> app_;
  std::string data_dir_;
};

}  // namespace ringshard::test
