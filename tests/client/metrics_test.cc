// The HTTP client's per-upstream metrics, and callbacks that cancel or
// start exchanges from inside the client's own I/O handlers.
#include <gtest/gtest.h>

#include <atomic>

#include "tests/client/client_harness.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

using client::ClientError;

TEST(ClientMetrics, CountsResponsesErrorsConnectionsAndLatency) {
  RawServer backend([](RawConn& c) {
    int n = 0;
    while (!c.read_request().empty()) {
      c.send(n++ % 2 == 0 ? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                          : "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    }
  });
  RefusingPort refusing;
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(host.fetch(up, get("/")).ok());
  const client::UpstreamMetrics& m = up->metrics();
  EXPECT_EQ(m.requests.get(), 4u);
  EXPECT_EQ(m.responses[2].get(), 2u);
  EXPECT_EQ(m.responses[4].get(), 2u);
  EXPECT_EQ(m.connects.get(), 1u);
  EXPECT_EQ(m.reuses.get(), 3u);
  EXPECT_EQ(m.open.get(), 1u);
  EXPECT_EQ(m.idle.get(), 1u);
  EXPECT_EQ(m.active.get(), 0u);
  obs::HistogramSnapshot snap;
  snap.add(m.latency);
  EXPECT_EQ(snap.count(), 4u);

  auto uo = local_upstream(refusing.port());
  uo.retry.max_retries = 0;
  client::Upstream* bad = host.upstream(uo);
  EXPECT_EQ(host.fetch(bad, get("/")).error, ClientError::kConnectFailed);
  EXPECT_EQ(bad->metrics().error_count(ClientError::kConnectFailed), 1u);
  EXPECT_EQ(bad->metrics().connect_attempts.get(), 1u);
  EXPECT_EQ(bad->metrics().connects.get(), 0u);
  EXPECT_EQ(bad->metrics().open.get(), 0u);
}

// Cancels its own exchange from on_body, like a proxy whose client left.
struct CancellingSink : client::ResponseSink {
  client::ExchangeHandle handle;
  std::atomic<int> heads{0}, bodies{0}, ends{0}, errors{0};
  void on_head(const client::ResponseHeadView&) override { ++heads; }
  bool on_body(std::string_view) override {
    ++bodies;
    handle.cancel();
    return true;
  }
  void on_end() override { ++ends; }
  void on_error(ClientError, std::string_view) override { ++errors; }
};

TEST(ClientCallbacks, CancelFromOnBodyStopsEverything) {
  RawServer backend([](RawConn& c) {
    c.read_request();
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + std::string(100'000, 'x'));
    c.wait_eof();
  });
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  CancellingSink sink;
  host.on_client([&](client::HttpClient& c) {
    sink.handle = c.start(*up, get("/"), sink);
    return true;
  });
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().open.get() == 0; }));
  host.sync();
  EXPECT_EQ(sink.heads.load(), 1);
  EXPECT_EQ(sink.bodies.load(), 1);
  EXPECT_EQ(sink.ends.load() + sink.errors.load(), 0);
  EXPECT_EQ(up->metrics().error_count(ClientError::kCancelled), 1u);
}

TEST(ClientCallbacks, CancelFromOnHeadOfChunkedResponse) {
  RawServer backend([](RawConn& c) {
    c.read_request();
    c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n");
    c.wait_eof();
  });
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  struct Sink : client::ResponseSink {
    client::ExchangeHandle handle;
    std::atomic<int> calls{0};
    void on_head(const client::ResponseHeadView&) override {
      ++calls;
      handle.cancel();
    }
    bool on_body(std::string_view) override { return ++calls, true; }
    void on_end() override { ++calls; }
    void on_error(ClientError, std::string_view) override { ++calls; }
  } sink;
  host.on_client([&](client::HttpClient& c) {
    sink.handle = c.start(*up, get("/"), sink);
    return true;
  });
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().open.get() == 0; }));
  host.sync();
  EXPECT_EQ(sink.calls.load(), 1);
}

TEST(ClientCallbacks, DestroyingTheClientWithExchangesInFlight) {
  std::atomic<int> got{0};
  RawServer backend([&](RawConn& c) {
    c.read_request();
    got.fetch_add(1);
    c.wait_eof();
  });
  auto host = std::make_unique<ClientHost>();
  client::Upstream* up = host->upstream(local_upstream(backend.port()));
  std::vector<std::shared_ptr<Pending>> pending;
  for (int i = 0; i < 3; ++i) pending.push_back(host->start(up, get("/")));
  ASSERT_TRUE(TestServer::wait_until([&] { return got.load() == 3; }));
  host.reset();  // closes the connections; no callback runs after
  for (auto& p : pending) EXPECT_FALSE(p->ready());
}

}  // namespace
}  // namespace ringshard::test
