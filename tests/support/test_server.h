// tests/support/test_server.h: an in-process ringshard for integration
// tests: 127.0.0.1, port 0, a chosen number of shards (threads not pinned,
// CI has 2 cores), optionally a ManualClock, no plugin (a test that wants
// one sets Options::plugins in `tweak`). Extra routes are added through a
// callback before start. The destructor drains and joins.
//
// A test never reads state a shard owns (a topic table, a connection map)
// from its own thread: on_shard() asks the shard through its mailbox.
// Counters (engine::Counter) are atomics and may be read directly.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <type_traits>

#include <gtest/gtest.h>

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
  // Runs fn(shard) on shard i's thread (Engine::execute) and returns what
  // it returned, once the shard has run it. A shard that does not answer
  // within timeout_ms fails the test and yields a value-initialised result;
  // fn then never runs, so it may capture the caller's locals by reference.
  template <class Fn>
  std::invoke_result_t<Fn&, engine::Shard&> on_shard(unsigned i, Fn fn, int timeout_ms = 10'000);
  // Subscribers of `topic` on shard i, counted on that shard.
  size_t ws_subscribers(unsigned shard, std::string_view topic);
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

template <class Fn>
std::invoke_result_t<Fn&, engine::Shard&> TestServer::on_shard(unsigned i, Fn fn, int timeout_ms) {
  using T = std::invoke_result_t<Fn&, engine::Shard&>;
  // Shared with the shard: a late answer after a timeout finds `abandoned`
  // and neither runs fn nor touches the caller's stack. fn runs under the
  // mutex, so the caller cannot give up while it is running.
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<T> result;
    bool abandoned = false;
  };
  auto st = std::make_shared<State>();
  engine().execute(i, [st, &fn](engine::Shard& shard) {
    std::lock_guard lock(st->mu);
    if (st->abandoned) return;
    st->result.emplace(fn(shard));
    st->cv.notify_one();
  });
  std::unique_lock lock(st->mu);
  if (!st->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                       [&] { return st->result.has_value(); })) {
    st->abandoned = true;
    ADD_FAILURE() << "shard " << i << " did not answer within " << timeout_ms << " ms";
    return T{};
  }
  return std::move(*st->result);
}

}  // namespace ringshard::test
