// The plugin host (server/plugin_host.h) with a real plugin,
// tests/plugins/good.cc, loaded into an in-process server over loopback:
// routes and sections, failures (500, count, the server keeps serving),
// deferred answers from a plugin thread, timers, posted tasks, topic
// listeners, middleware, scopes and the development token, rate limits,
// deprecation headers, readiness, WebSocket endpoints.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "server/metrics_page.h"
#include "tests/support/certs.h"
#include "tests/support/http_client.h"
#include "tests/support/raw_backend.h"
#include "tests/support/test_server.h"
#include "tests/support/ws_client.h"
#include "tls/digest.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

const std::string kGood = std::string(RINGSHARD_TEST_PLUGIN_DIR) + "/test_good.so";

// Options: the good plugin with a greeting, optionally bearer tokens.
struct PluginSetup {
  std::string data_dir;
  bool tokens = true;
  bool admin = false;
};

TestServerOptions with_plugin(const PluginSetup& setup) {
  TestServerOptions t;
  t.tweak = [setup](server::Options& o) {
    const std::string toml = "[plugins]\nload = [\"" + kGood +
                             "\"]\n[plugins.testgood]\ngreeting = \"hi\"\n";
    auto err = server::apply_config_text(toml, "test", o);
    ASSERT_FALSE(err) << err->message;
    if (setup.tokens) {
      o.auth_tokens.push_back({"reader", tls::sha256_hex("read-secret"), {"t:read"}});
      o.auth_tokens.push_back({"admin", tls::sha256_hex("admin-secret"), {"t:read", "t:write"}});
    }
    if (!setup.data_dir.empty()) o.data_dir = setup.data_dir;
    if (setup.admin) o.admin_listen = server::ListenAddress{"127.0.0.1", 0};
  };
  return t;
}

std::optional<HttpResponse> request(uint16_t port, const std::string& head) {
  TestConnection c(port);
  if (!c.send(head)) return std::nullopt;
  return c.read_response();
}

std::optional<HttpResponse> get_with(uint16_t port, const std::string& path,
                                     const std::string& headers) {
  return request(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n");
}

bool is_error_body(const std::string& body, const std::string& code) {
  return body.starts_with(R"({"error":{"code":")" + code + "\"");
}

TEST(PluginHost, ServesItsRoutesWithItsSection) {
  TestServer s(with_plugin({}));
  auto r = get(s.port(), "/t/ok");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok hi");
  EXPECT_EQ(r->header("x-test-mw"), "1");  // the plugin's middleware
  ASSERT_TRUE(s.app().plugins());
  EXPECT_EQ(s.app().plugins()->plugin_count(), 1u);
  const std::string metrics = server::render_metrics(s.app());
  EXPECT_NE(metrics.find("testgood_requests_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(ringshard_plugin_handler_failures_total{plugin="testgood"} 0)"),
            std::string::npos);
}

TEST(PluginHost, FailingHandlersAnswer500AndAreCounted) {
  TestServer s(with_plugin({}));
  for (const char* path : {"/t/throw", "/t/fail"}) {
    auto r = get(s.port(), path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 500) << path;
    EXPECT_TRUE(is_error_body(r->body, "internal_error")) << r->body;
  }
  // Still serving, on a connection that saw a failure too.
  TestConnection c(s.port());
  ASSERT_TRUE(c.send("GET /t/throw HTTP/1.1\r\nHost: x\r\n\r\nGET /t/ok HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = c.read_response();
  auto second = c.read_response();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 500);
  EXPECT_EQ(second->body, "ok hi");
  EXPECT_EQ(s.app().plugins()->failures("testgood"), 3u);
  const std::string metrics = server::render_metrics(s.app());
  EXPECT_NE(metrics.find(R"(ringshard_plugin_handler_failures_total{plugin="testgood"} 3)"),
            std::string::npos)
      << metrics;
}

TEST(PluginHost, DeferredAnswerFromThePluginsThread) {
  TestServer s(with_plugin({}));
  for (int i = 0; i < 4; ++i) {
    auto r = get(s.port(), "/t/defer");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "deferred ok");
  }
}

TEST(PluginHost, DroppedDeferredHandleAnswers500) {
  TestServer s(with_plugin({}));
  auto r = get(s.port(), "/t/drop");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(s.app().plugins()->failures("testgood"), 1u);
}

TEST(PluginHost, TimersFireAndCancelledOnesDoNot) {
  TestServer s(with_plugin({}));
  auto fired = get(s.port(), "/t/timer");
  ASSERT_TRUE(fired);
  EXPECT_EQ(fired->body, "timer fired");
  auto cancelled = get(s.port(), "/t/cancel");
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->body, "cancelled runs=0");
}

TEST(PluginHost, TaskPostedDuringInitRunsAfterShardStart) {
  TestServer s(with_plugin({}));
  std::string seen;
  EXPECT_TRUE(TestServer::wait_until([&] {
    auto r = get(s.port(), "/t/prestart");
    seen = r ? r->body : "";
    return seen != "not run";
  }));
  EXPECT_EQ(seen, "after shard_start");
}

TEST(PluginHost, TopicListenersHearPublicationsOnEveryShard) {
  TestServer s(with_plugin({}));
  auto p = get(s.port(), "/t/publish?first");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->body, "published");
  // Every shard's listener hears it: once delivered everywhere, whichever
  // shard a new connection lands on answers with it, every time.
  int in_a_row = 0;
  EXPECT_TRUE(TestServer::wait_until([&] {
    auto r = get(s.port(), "/t/heard");
    in_a_row = r && r->body == "first" ? in_a_row + 1 : 0;
    return in_a_row == 16;
  }));
  EXPECT_EQ(s.ws_sum([](const ws::WsMetrics& m) { return m.published.get(); }), 1u);
}

TEST(PluginHost, MiddlewareAnswersAndFails) {
  TestServer s(with_plugin({}));
  auto blocked = get_with(s.port(), "/plaintext", "X-Block: 1\r\n");
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->status, 403);
  EXPECT_TRUE(is_error_body(blocked->body, "forbidden")) << blocked->body;
  auto thrown = get_with(s.port(), "/plaintext", "X-MW-Throw: 1\r\n");
  ASSERT_TRUE(thrown);
  EXPECT_EQ(thrown->status, 500);
  EXPECT_EQ(s.app().plugins()->failures("testgood"), 1u);
  auto plain = get(s.port(), "/plaintext");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200);
  EXPECT_EQ(plain->header("x-test-mw"), "");  // on /t/ answers only
}

TEST(PluginHost, ScopesCheckTheServersCredentials) {
  TestServer s(with_plugin({}));
  auto none = get(s.port(), "/t/read");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->header("www-authenticate"), R"(Bearer realm="ringshard")");
  auto wrong = get_with(s.port(), "/t/read", "Authorization: Bearer nope\r\n");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_NE(wrong->header("www-authenticate").find("invalid_token"), std::string::npos);
  auto reader = get_with(s.port(), "/t/read", "Authorization: Bearer read-secret\r\n");
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->status, 200);
  EXPECT_EQ(reader->body, "principal=reader write=0");
  auto forbidden = request(s.port(),
                           "POST /t/write HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                           "Authorization: Bearer read-secret\r\n\r\n");
  ASSERT_TRUE(forbidden);
  EXPECT_EQ(forbidden->status, 403);
  EXPECT_EQ(forbidden->header("www-authenticate"),
            R"(Bearer realm="ringshard", error="insufficient_scope", scope="t:write")");
  auto admin = request(s.port(),
                       "POST /t/write HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                       "Authorization: Bearer admin-secret\r\n\r\n");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->status, 200);
  EXPECT_EQ(admin->body, "principal=admin write=1");
  EXPECT_TRUE(s.app().plugins()->notes().empty());  // no development token
}

TEST(PluginHost, DevelopmentTokenIsCreatedWithEveryScopeAndReused) {
  const std::string dir = make_temp_dir("ringshard-plugin-") + "/data";
  std::string token;
  {
    TestServer s(with_plugin({.data_dir = dir, .tokens = false}));
    std::ifstream in(dir + "/dev-token");
    ASSERT_TRUE(std::getline(in, token));
    EXPECT_EQ(token.size(), 64u);
    struct stat st{};
    ASSERT_EQ(::stat((dir + "/dev-token").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(s.app().plugins()->notes().size(), 1u);
    const std::string& note = s.app().plugins()->notes()[0];
    EXPECT_TRUE(note.starts_with("development token (all scopes: t:read t:write): " + token))
        << note;
    auto r = request(s.port(), "POST /t/write HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                               "Authorization: Bearer " + token + "\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "principal=dev write=1");
    auto none = get(s.port(), "/t/read");
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401);
  }
  {
    TestServer again(with_plugin({.data_dir = dir, .tokens = false}));
    std::ifstream in(dir + "/dev-token");
    std::string reused;
    ASSERT_TRUE(std::getline(in, reused));
    EXPECT_EQ(reused, token);
    auto r = get_with(again.port(), "/t/read", "Authorization: Bearer " + token + "\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  remove_tree(dir.substr(0, dir.rfind('/')));
}

TEST(PluginHost, WebSocketRoutesTakeTheTokenFromTheQuery) {
  TestServer s(with_plugin({}));
  WsTestClient refused(s.port(), "/t/wss");
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.handshake().status, 401);
  WsTestClient ws(s.port(), "/t/wss?access_token=read-secret");
  ASSERT_TRUE(ws.ok()) << ws.error();
  EXPECT_EQ(ws.read_data(), "hi reader");
  EXPECT_TRUE(ws.send_text("echo me"));
  EXPECT_EQ(ws.read_data(), "echo me");
  ws.close(1000);
  EXPECT_EQ(ws.read_close_code(), 1000);
}

TEST(PluginHost, WebSocketCallbackFailureClosesWith1011) {
  TestServer s(with_plugin({}));
  WsTestClient ws(s.port(), "/t/ws");
  ASSERT_TRUE(ws.ok()) << ws.error();
  EXPECT_TRUE(ws.send_text("ping"));
  EXPECT_EQ(ws.read_data(), "ping");
  EXPECT_TRUE(ws.send_text("throw"));
  EXPECT_EQ(ws.read_close_code(), 1011);
  EXPECT_EQ(s.app().plugins()->failures("testgood"), 1u);
  WsTestClient other(s.port(), "/t/ws");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other.send_text("close"));
  EXPECT_EQ(other.read_close_code(), 4000);
}

TEST(PluginHost, RateLimitsAnswer429LikeTheGlobalLimiter) {
  TestServer s(with_plugin({}));
  for (int i = 0; i < 2; ++i) {
    auto r = get(s.port(), "/t/limited");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("x-ratelimit-limit"), "2");
    EXPECT_EQ(r->header("x-ratelimit-remaining"), std::to_string(1 - i));
  }
  auto refused = get(s.port(), "/t/limited");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_FALSE(refused->header("retry-after").empty());
  EXPECT_FALSE(refused->header("ratelimit-policy").empty());
  EXPECT_TRUE(is_error_body(refused->body, "rate_limit_exceeded")) << refused->body;
  const std::string metrics = server::render_metrics(s.app());
  EXPECT_NE(metrics.find(R"(ringshard_plugin_rate_limit_decisions_total{plugin="testgood",limit="tl",result="refused"} 1)"),
            std::string::npos)
      << metrics;
  auto other = get(s.port(), "/t/ok");  // another route: not limited
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
}

TEST(PluginHost, DeprecatedRoutesSayWhenAndWhere) {
  TestServer s(with_plugin({}));
  auto r = get(s.port(), "/t/old");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("deprecation"), "@1700000000");
  EXPECT_EQ(r->header("sunset"), "Fri, 15 Jan 2027 08:00:00 GMT");
  EXPECT_EQ(r->header("link"), R"(<https://example.com/deprecations/old>; rel="deprecation")");
}

TEST(PluginHost, ReadyFollowsThePlugin) {
  TestServer s(with_plugin({.admin = true}));
  const uint16_t admin = s.app().admin_port();
  auto ready = get(s.port(), "/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  ASSERT_TRUE(get(s.port(), "/t/ready/0"));
  auto main_ready = get(s.port(), "/ready");
  ASSERT_TRUE(main_ready);
  EXPECT_EQ(main_ready->status, 503);
  EXPECT_NE(main_ready->body.find("plugin testgood is not ready"), std::string::npos)
      << main_ready->body;
  auto admin_ready = get(admin, "/ready");
  ASSERT_TRUE(admin_ready);
  EXPECT_EQ(admin_ready->status, 503);
  EXPECT_EQ(admin_ready->body, R"({"status":"not_ready","reason":"plugin testgood is not ready"})");
  auto health = get(s.port(), "/health");  // alive all the same
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  ASSERT_TRUE(get(s.port(), "/t/ready/1"));
  auto back = get(admin, "/ready");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->status, 200);
}

TEST(PluginHost, HealthNamesVersionAndUptime) {
  TestServer s(with_plugin({.admin = true}));
  for (uint16_t port : {s.port(), s.app().admin_port()}) {
    auto r = get(port, "/health");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("content-type"), "application/json");
    EXPECT_TRUE(r->body.starts_with(R"({"status":"healthy","version":")")) << r->body;
    EXPECT_NE(r->body.find(R"(","uptime":)"), std::string::npos) << r->body;
    EXPECT_TRUE(r->body.ends_with("}")) << r->body;
  }
}

// http_fetch (rs_host_api, Shard::fetch in the SDK): a plugin route that
// fetches a URL with the shard's pooled client and answers what it got.
std::string fetch_through(uint16_t port, const std::string& url) {
  auto r = get(port, "/t/fetch?" + url);
  if (!r) return "no answer";
  if (r->status != 200) return "status " + std::to_string(r->status) + ": " + r->body;
  return r->body;
}

TEST(PluginFetch, GetsTheUpstreamsResponseOverOnePooledConnection) {
  TestServer s(with_plugin({}));
  RawBackend backend(RawBackend::Behavior::kOk);
  const std::string url = "http://127.0.0.1:" + std::to_string(backend.port()) + "/up?x=1";
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(fetch_through(s.port(), url), "status=200 error= x-upstream= body=ok") << i;
  }
  EXPECT_EQ(backend.requests(), 20u);
  // One pooled connection per shard at most, whichever shards took them.
  EXPECT_GE(backend.connections(), 1u);
  EXPECT_LE(backend.connections(), s.app().shard_count());
}

TEST(PluginFetch, FailuresComeBackNamed) {
  TestServer s(with_plugin({}));
  RawBackend garbage(RawBackend::Behavior::kGarbage);
  EXPECT_EQ(fetch_through(s.port(), "http://127.0.0.1:" + std::to_string(garbage.port()) + "/"),
            "status=0 error=bad_response x-upstream= body=");
  // A port nothing listens on: the garbage backend's, once it is gone.
  uint16_t closed_port = 0;
  {
    RawBackend gone(RawBackend::Behavior::kOk);
    closed_port = gone.port();
  }
  EXPECT_EQ(fetch_through(s.port(), "http://127.0.0.1:" + std::to_string(closed_port) + "/"),
            "status=0 error=connect_failed x-upstream= body=");
  // Refused at once: the callback never runs (it would throw), the server
  // logs why and keeps serving.
  auto r = get(s.port(), "/t/fetch-bad");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "refused");
  EXPECT_EQ(get(s.port(), "/t/ok")->body, "ok hi");
  const std::string metrics = server::render_metrics(s.app());
  EXPECT_NE(metrics.find(R"(ringshard_plugin_handler_failures_total{plugin="testgood"} 0)"),
            std::string::npos)
      << "no callback of a refused fetch ran";
}

// The request's own timeout_ms ends a fetch the upstream never answers
// (well before the first-byte timeout of 30 s), and the upstream
// connection goes with it.
TEST(PluginFetch, ItsTimeoutEndsAFetchToASilentUpstream) {
  TestServer s(with_plugin({}));
  RawBackend silent(RawBackend::Behavior::kSilent);
  TestConnection c(s.port());
  ASSERT_TRUE(c.send("GET /t/fetch?http://127.0.0.1:" + std::to_string(silent.port()) +
                     "/ HTTP/1.1\r\nHost: x\r\nX-Fetch-Timeout: 200\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "status=0 error=request_timeout x-upstream= body=");
  EXPECT_EQ(silent.requests(), 1u) << "a timed-out fetch is not retried";
}

// The environment's forward proxy (read once at start, through the
// getenv the app is given) carries fetches: absolute-form for http://,
// and a host no_proxy names goes direct.
TestServerOptions with_fetch_env(std::map<std::string, std::string> vars) {
  TestServerOptions opts = with_plugin({});
  opts.setup = [vars = std::move(vars)](server::ServerApp& app) {
    app.set_getenv([vars](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    });
  };
  return opts;
}

TEST(PluginFetch, GoesThroughTheEnvironmentsProxyUnlessNoProxyNamesTheHost) {
  RawBackend proxy(RawBackend::Behavior::kOk);
  RawBackend direct(RawBackend::Behavior::kOk);
  TestServer s(with_fetch_env({{"http_proxy", "http://127.0.0.1:" + std::to_string(proxy.port())},
                               {"no_proxy", "127.0.0.1"}}));
  // origin.invalid never resolves: only the proxy can have answered.
  EXPECT_EQ(fetch_through(s.port(), "http://origin.invalid:8080/x?y=1"),
            "status=200 error= x-upstream= body=ok");
  EXPECT_EQ(proxy.requests(), 1u);
  const std::string head = proxy.last_head();
  EXPECT_TRUE(head.starts_with("GET http://origin.invalid:8080/x?y=1 HTTP/1.1\r\n")) << head;
  EXPECT_NE(head.find("\r\nHost: origin.invalid:8080"), std::string::npos) << head;

  EXPECT_EQ(fetch_through(s.port(), "http://127.0.0.1:" + std::to_string(direct.port()) + "/d"),
            "status=200 error= x-upstream= body=ok");
  EXPECT_EQ(direct.requests(), 1u);
  EXPECT_EQ(proxy.requests(), 1u) << "no_proxy names 127.0.0.1";
}

// A proxy variable that cannot be used refuses every fetch (logged),
// rather than sending it direct past the proxy the operator set; the
// server keeps serving.
TEST(PluginFetch, AnUnusableProxySettingRefusesFetchesInsteadOfGoingDirect) {
  RawBackend direct(RawBackend::Behavior::kOk);
  TestServer s(with_fetch_env({{"https_proxy", "socks5://127.0.0.1:1080"}}));
  auto r = get(s.port(), "/t/fetch?http://127.0.0.1:" + std::to_string(direct.port()) + "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(r->body, "refused");
  EXPECT_EQ(direct.requests(), 0u);
  EXPECT_EQ(get(s.port(), "/t/ok")->body, "ok hi");
}

// A fetch still waiting when the server stops is answered ("shutdown")
// before the plugin's shard_stop, and everything it holds is freed (the
// sanitizer stages check the latter).
TEST(PluginFetch, AFetchPendingAtShutdownIsAnsweredOnce) {
  RawBackend silent(RawBackend::Behavior::kSilent);
  TestServerOptions opts = with_plugin({});
  // The fetch keeps its upstream connection open, which the drain waits
  // for up to its deadline: a short one keeps the test short.
  opts.tweak = [plugin = opts.tweak](server::Options& o) {
    plugin(o);
    o.drain_timeout_ms = 200;
  };
  auto s = std::make_unique<TestServer>(opts);
  TestConnection c(s->port());
  ASSERT_TRUE(c.send("GET /t/fetch?http://127.0.0.1:" + std::to_string(silent.port()) +
                     "/ HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(TestServer::wait_until([&] { return silent.requests() == 1; }));
  // The client goes first, so the drain has no request to wait for: the
  // fetch is what is left when the shard stops.
  c.close();
  s.reset();
  EXPECT_EQ(silent.requests(), 1u);
}

}  // namespace
}  // namespace ringshard::test
