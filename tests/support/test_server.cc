#include "tests/support/test_server.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/certs.h"

namespace ringshard::test {

TestServer::TestServer(TestServerOptions opts) {
  server::Options o;
  o.listen.host = "127.0.0.1";
  o.listen.port = 0;
  o.shards = opts.shards;
  o.recv_buffer_count = 256;
  o.tls_listen.reset();
  o.admin_listen.reset();  // tests that want it tweak it to 127.0.0.1:0
  o.plugins.clear();       // no plugin unless the test asks (tweak)
  if (opts.tls) {
    o.tls_listen = server::ListenAddress{"127.0.0.1", 0};
    // A development certificate is generated into a fresh data dir.
    data_dir_ = make_temp_dir("ringshard-tls-");
    o.data_dir = data_dir_;
  }
  if (opts.tweak) opts.tweak(o);
  if (opts.manual_clock) clock_ = std::make_unique<engine::ManualClock>();
  app_ = std::make_unique<server::ServerApp>(o, clock_.get());
  // Tests run two or more shards on a 2-core machine: no pinning.
  app_->engine().set_pin_threads(false);
  if (opts.routes) opts.routes(app_->router());
  if (opts.setup) opts.setup(*app_);
  const auto err = app_->start();
  EXPECT_TRUE(err.ok()) << err.message;
}

TestServer::~TestServer() {
  if (app_->engine().running()) {
    app_->engine().drain();
    app_->engine().wait();
  }
  if (!data_dir_.empty()) remove_tree(data_dir_);
}

void TestServer::advance(uint64_t ms) {
  clock_->advance(ms);
  app_->engine().wake_all();
}

uint64_t TestServer::engine_sum(const std::function<uint64_t(engine::ShardMetrics&)>& f) {
  uint64_t sum = 0;
  for (unsigned i = 0; i < engine().shard_count(); ++i) sum += f(engine().shard(i).metrics());
  return sum;
}

uint64_t TestServer::http_sum(const std::function<uint64_t(const http::HttpMetrics&)>& f) {
  uint64_t sum = 0;
  for (unsigned i = 0; i < engine().shard_count(); ++i) {
    if (const auto* s = app_->http_server(i)) sum += f(s->metrics());
  }
  return sum;
}

uint64_t TestServer::tls_sum(const std::function<uint64_t(const tls::TlsMetrics&)>& f) {
  uint64_t sum = 0;
  for (unsigned i = 0; i < engine().shard_count(); ++i) {
    if (const auto* t = app_->tls_transport(i)) sum += f(t->metrics());
  }
  return sum;
}

uint64_t TestServer::ws_sum(const std::function<uint64_t(const ws::WsMetrics&)>& f) {
  uint64_t sum = 0;
  for (unsigned i = 0; i < engine().shard_count(); ++i) sum += f(app_->ws().metrics(i));
  return sum;
}

size_t TestServer::ws_subscribers(unsigned shard, std::string_view topic) {
  return on_shard(shard, [&](engine::Shard&) { return app_->ws().subscribers(shard, topic); });
}

bool TestServer::wait_until(const std::function<bool()>& pred, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace ringshard::test
