// ringshard-load --ws-stream against an in-process stand-in for the
// deployment API: a WebSocket /v1/stream whose subscribers hear every
// create as {"type":"deployment.update","deployment_id":...,"status":...},
// and POST /v1/deployments answering 201 {"id":...}. Every sample counted,
// every miss counted, and every way the run can go wrong ends it by itself.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "bench/load/load_options.h"
#include "bench/load/load_run.h"
#include "bench/load/stream_load.h"
#include "http/server.h"
#include "tests/support/test_server.h"
#include "ws/server.h"
#include "ws/websocket.h"

namespace ringshard::load {
namespace RS_UNITY_ID {

constexpr std::string_view kToken = "s3cret";

// How the stand-in behaves; shared by the shards (atomics only).
struct FakeApi {
  std::atomic<uint64_t> next_id{1};
  std::atomic<unsigned> opened{0};
  std::atomic<uint64_t> creates{0};
  bool every_other = false;  // only even-numbered subscribers subscribe
  bool stream_query_only = false;  // the stream takes ?access_token= only
  bool publish = true;       // creates publish their events
  int create_status = 201;
};

bool by_query(const http::ServerRequest& req) {
  return req.query().find("access_token=" + std::string(kToken)) != std::string_view::npos;
}
bool authorized(const http::ServerRequest& req) {
  return req.header("authorization") == "Bearer " + std::string(kToken) || by_query(req);
}

class FakeStream final : public ws::Endpoint {
 public:
  explicit FakeStream(FakeApi& api) : api_(api) {}
  void on_upgrade(const http::ServerRequest& req, ws::UpgradeDecision& d) const override {
    if (!(api_.stream_query_only ? by_query(req) : authorized(req))) d.refuse_status = 401;
  }
  void on_open(ws::WebSocket& ws) const override {
    const unsigned n = api_.opened.fetch_add(1);
    // A greeting, as a real stream might send: never timed.
    ws.send(R"({"type":"hello"})");
    if (!api_.every_other || n % 2 == 0) ws.subscribe("deployments");
  }
  void on_message(ws::WebSocket&, std::string_view, bool) const override {}

 private:
  FakeApi& api_;
};

std::string event(std::string_view id, std::string_view status, uint64_t seq) {
  return R"({"type":"deployment.update","deployment_id":")" + std::string(id) + R"(","status":")" +
         std::string(status) + R"(","timestamp":"2026-12-05T18:00:00.000Z","seq":)" +
         std::to_string(seq) + "}";
}

test::TestServerOptions fake_api(FakeApi& api) {
  test::TestServerOptions so;
  so.setup = [&api](server::ServerApp& app) {
    app.ws().add_endpoint(app.router(), "/v1/stream", std::make_shared<FakeStream>(api));
    ws::WsServer& wss = app.ws();
    app.router().add(http::Method::kPost, "/v1/deployments",
                     [&api, &wss](http::ServerRequest& req, http::Response& res) {
      if (!authorized(req)) {
        res.send(401, "application/json", R"({"error":"unauthorized"})");
        return;
      }
      api.creates.fetch_add(1);
      if (api.create_status != 201) {
        res.send(static_cast<uint16_t>(api.create_status), "application/json", R"({"error":"no"})");
        return;
      }
      const uint64_t n = api.next_id.fetch_add(1);
      const std::string id = "deploy_" + std::to_string(n);
      if (api.publish) {
        // As the plugin does at commit, before the answer: another
        // deployment's event, this one's, then a later status of it.
        wss.publish(req.shard(), "deployments", event("deploy_other", "pending", 3 * n));
        wss.publish(req.shard(), "deployments", event(id, "pending", 3 * n + 1));
        wss.publish(req.shard(), "deployments", event(id, "running", 3 * n + 2));
      }
      res.send(201, "application/json", R"({"id":")" + id + R"(","status":"pending"})");
    });
  };
  return so;
}

LoadOptions stream_against(test::TestServer& server, unsigned subscribers, uint64_t creates) {
  const std::string url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/v1/stream";
  const std::string n = std::to_string(subscribers), m = std::to_string(creates);
  const std::string auth = "Authorization: Bearer " + std::string(kToken);
  const char* argv[] = {"x", url.c_str(), "--ws-stream", "--connections", n.c_str(),
                        "--requests", m.c_str(), "--header", auth.c_str(), "--settle", "20ms"};
  auto parsed = parse_load_options(11, argv);
  EXPECT_TRUE(std::holds_alternative<LoadOptions>(parsed));
  return std::get<LoadOptions>(parsed);
}

TEST(LoadStream, EveryCreateReachesEverySubscriber) {
  FakeApi api;
  test::TestServer server(fake_api(api));
  const LoadOptions o = stream_against(server, 64, 10);
  const LoadResult r = run_load(o);
  ASSERT_TRUE(r.fatal.empty()) << r.fatal;
  const StreamResult& s = r.stream;
  EXPECT_EQ(s.subscribers, 64u);
  EXPECT_EQ(s.creates, 10u);
  EXPECT_EQ(s.creates_failed, 0u);
  EXPECT_EQ(s.expected, 640u);
  EXPECT_EQ(s.samples, 640u);
  EXPECT_EQ(s.missed, 0u);
  EXPECT_EQ(s.duplicates, 0u);
  EXPECT_EQ(r.latency.count(), 640u);
  EXPECT_EQ(s.create_latency.count(), 10u);
  EXPECT_GT(s.other_messages, 0u);  // greetings, other deployments, running
  EXPECT_TRUE(s.stopped.empty()) << s.stopped;
  EXPECT_EQ(r.errors.total(), 0u);
  EXPECT_EQ(api.creates.load(), 10u);
  // The JSON report carries what compare.sh reads.
  const std::string json = format_json(o, r);
  for (const char* key : {"\"mode\":\"ws-stream\"", "\"samples\":640", "\"missed\":0", "\"p50\":", "\"p99\":"}) {
    EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json;
  }
}

TEST(LoadStream, TokenInTheQueryOpensTheStream) {
  FakeApi api;
  api.stream_query_only = true;
  test::TestServer server(fake_api(api));
  LoadOptions o = stream_against(server, 8, 2);
  o.path = "/v1/stream?access_token=" + std::string(kToken);
  o.headers = {"Authorization: Bearer " + std::string(kToken)};
  const LoadResult r = run_load(o);
  ASSERT_TRUE(r.fatal.empty()) << r.fatal;
  EXPECT_EQ(r.stream.samples, 16u);
  EXPECT_EQ(r.errors.total(), 0u);
}

TEST(LoadStream, SubscribersThatNeverHearAreMissed) {
  FakeApi api;
  api.every_other = true;
  test::TestServer server(fake_api(api));
  LoadOptions o = stream_against(server, 20, 3);
  o.timeout_ms = 300;
  const LoadResult r = run_load(o);
  ASSERT_TRUE(r.fatal.empty()) << r.fatal;
  EXPECT_EQ(r.stream.creates, 3u);
  EXPECT_EQ(r.stream.expected, 60u);
  EXPECT_EQ(r.stream.samples, 30u);
  EXPECT_EQ(r.stream.missed, 30u);
  EXPECT_EQ(r.errors.stream, 30u);  // exit 1 unless --max-errors allows them
}

TEST(LoadStream, RefusedUpgradesEndTheRun) {
  FakeApi api;
  test::TestServer server(fake_api(api));
  LoadOptions o = stream_against(server, 8, 5);
  o.headers = {"Authorization: Bearer wrong"};
  const LoadResult r = run_load(o);  // returns: the test would hang otherwise
  EXPECT_NE(r.fatal.find("401"), std::string::npos) << r.fatal;
  EXPECT_GT(r.errors.ws, 0u);
  EXPECT_EQ(api.creates.load(), 0u);
}

TEST(LoadStream, FailingCreatesStopTheRun) {
  FakeApi api;
  api.create_status = 429;
  test::TestServer server(fake_api(api));
  const LoadResult r = run_load(stream_against(server, 8, 50));
  ASSERT_TRUE(r.fatal.empty()) << r.fatal;
  EXPECT_EQ(r.stream.creates, 0u);
  EXPECT_EQ(r.stream.creates_failed, 3u);
  EXPECT_EQ(r.errors.status, 3u);
  EXPECT_NE(r.stream.stopped.find("429"), std::string::npos) << r.stream.stopped;
  EXPECT_EQ(api.creates.load(), 3u);
}

TEST(LoadStream, AStreamThatPublishesNothingStopsTheRun) {
  FakeApi api;
  api.publish = false;
  test::TestServer server(fake_api(api));
  LoadOptions o = stream_against(server, 8, 50);
  o.timeout_ms = 150;
  const LoadResult r = run_load(o);
  ASSERT_TRUE(r.fatal.empty()) << r.fatal;
  EXPECT_EQ(r.stream.creates, 3u);
  EXPECT_EQ(r.stream.missed, 24u);
  EXPECT_NE(r.stream.stopped.find("reached no subscriber"), std::string::npos) << r.stream.stopped;
}

TEST(LoadStream, JsonStringMemberFindsKeysOnly) {
  const std::string_view m =
      R"({"type":"deployment.update", "note":"\"status\":\"x\"","status" : "pending","seq":4,)"
      R"("deployment_id":"deploy_a\"b"})";
  EXPECT_EQ(json_string_member(m, "type"), "deployment.update");
  EXPECT_EQ(json_string_member(m, "status"), "pending");
  EXPECT_EQ(json_string_member(m, "deployment_id"), R"(deploy_a\"b)");
  EXPECT_EQ(json_string_member(m, "seq").data(), nullptr);      // not a string
  EXPECT_EQ(json_string_member(m, "missing").data(), nullptr);
  EXPECT_EQ(json_string_member(R"({"a":"type"})", "type").data(), nullptr);  // a value, not a key
}

TEST(LoadOptions, StreamDefaultsAndRefusals) {
  const char* argv[] = {"x", "ws://127.0.0.1:9/", "--ws-stream"};
  auto r = parse_load_options(3, argv);
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(r));
  const LoadOptions& o = std::get<LoadOptions>(r);
  EXPECT_EQ(o.ws, WsMode::kStream);
  EXPECT_EQ(o.path, "/v1/stream");
  EXPECT_EQ(o.connections, 1000u);
  EXPECT_EQ(o.requests, 100u);
  EXPECT_EQ(o.method, "POST");
  EXPECT_EQ(o.expect_status, 201);
  EXPECT_EQ(o.stream_post_path, "/v1/deployments");
  EXPECT_EQ(o.body, kStreamDefaultBody);
  for (std::vector<const char*> bad : std::vector<std::vector<const char*>>{
           {"x", "ws://127.0.0.1:9/", "--ws-stream", "--threads", "2"},
           {"x", "ws://127.0.0.1:9/", "--ws-stream", "--deflate"},
           {"x", "ws://127.0.0.1:9/", "--ws-stream", "--rate", "10"},
           {"x", "ws://127.0.0.1:9/", "--ws-stream", "--post", "v1/deployments"},
           {"x", "ws://127.0.0.1:9/", "--ws-stream", "--event-status", "a\"b"},
       }) {
    EXPECT_TRUE(std::holds_alternative<LoadOptionsError>(
        parse_load_options(static_cast<int>(bad.size()), bad.data())))
        << bad[3];
  }
}

}  // namespace
}  // namespace ringshard::load
