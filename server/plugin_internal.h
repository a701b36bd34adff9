// server/plugin_internal.h: the plugin host's own types, shared by its
// files (plugin_host.cc: lifecycle; plugin_api.cc: the function table and
// the environment, shard, task, timer and metric calls; plugin_http.cc:
// routes, middleware, requests, responses; plugin_ws.cc: WebSockets and
// topics; plugin_auth.cc: scopes and the development token). Nothing
// outside server/plugin_*.cc includes it.
//
// The opaque handles of plugin.h are defined here, in the global namespace
// where plugin.h declares them:
//   rs_host       one per loaded plugin: its descriptor, state, section,
//                 per-shard handles, limits, failure count. Lives until
//                 the host is destroyed (after dlclose's caller is done).
//   rs_shard      one per (plugin, shard): shard_set_user is per plugin.
//   rs_request, rs_response, rs_upgrade
//                 on the stack of the adapter that calls the plugin,
//                 valid during that call.
//   rs_async      heap, owned by the plugin from defer() to async_send or
//                 async_release.
//   rs_timer      heap, from timer_start until it fires or is cancelled.
//   rs_metric     owned by the runtime, for the process.
//   rs_websocket  is a ws::WebSocket* (cast), its endpoint a
//                 PluginWsEndpoint.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/http_client.h"
#include "client/resolver.h"
#include "engine/shard.h"
#include "engine/shard_task.h"
#include "engine/timer_wheel.h"
#include "http/mw_rate_limit.h"
#include "http/server.h"
#include "ringshard/plugin.h"
#include "server/plugin_config.h"
#include "server/plugin_host.h"
#include "server/plugin_loader.h"
#include "ws/websocket.h"

namespace ringshard::server {
struct PluginRuntime;
class PluginAuth;
}  // namespace ringshard::server

struct rs_timer {
  ringshard::engine::TimerEntry entry;  // context: this
  rs_timer_fn fn = nullptr;
  void* user = nullptr;
  rs_shard* shard = nullptr;
  rs_timer* prev = nullptr;  // the shard's list of armed plugin timers
  rs_timer* next = nullptr;
};

// A task a plugin posted (Shard::post_task owns it while queued).
struct PluginTask : ringshard::engine::ShardTask {
  rs_task_fn fn = nullptr;
  void* user = nullptr;
  rs_shard* shard = nullptr;
};

struct rs_shard {
  rs_host* plugin = nullptr;
  unsigned index = 0;
  // Set on the shard's thread by shard_started (before it serves), with
  // `thread`; read by post() from any thread.
  std::atomic<ringshard::engine::Shard*> shard{nullptr};
  std::thread::id thread;
  std::atomic<bool> stopped{false};  // shard_stopped ran: posts are refused
  void* user = nullptr;              // shard_set_user (this shard's thread)
  // Tasks posted before the shard was bound, run once it is (or cancelled
  // if it never is). Guarded by pending_mu with `bound`.
  std::mutex pending_mu;
  bool bound = false;
  std::vector<PluginTask*> pending;
  rs_timer* timers = nullptr;  // armed plugin timers (this shard's thread)
};

struct rs_metric {
  std::string name;
  std::string help;
  rs_metric_kind kind = RS_METRIC_COUNTER;
  std::string plugin;
  struct alignas(64) Slot {
    std::atomic<int64_t> v{0};
  };
  // One per shard (single writer), then one for any thread (atomic add).
  std::unique_ptr<Slot[]> slots;
  unsigned shards = 0;
};

struct rs_host {
  ringshard::server::PluginRuntime* rt = nullptr;
  std::string ref;  // as Options::plugins names it
  std::string name;
  std::string version;
  ringshard::server::LoadedPlugin lib;
  ringshard::server::PluginConfigPtr config;
  void* state = nullptr;
  bool initialising = false;  // registrations allowed (inside init())
  bool inited = false;        // init() returned 0: destroy() is owed
  bool destroyed = false;
  std::string registration_error;  // the first refused registration
  std::vector<std::unique_ptr<rs_shard>> shards;
  std::atomic<bool> ready{true};
  std::atomic<uint64_t> failures{0};
  // add_rate_limit: by name, shared by the plugin's routes naming it.
  std::map<std::string, std::unique_ptr<ringshard::http::RateLimitMiddleware>, std::less<>> limits;
};

struct rs_request {
  const ringshard::http::ServerRequest* req = nullptr;
  rs_host* plugin = nullptr;
  ringshard::http::RequestContext* ctx = nullptr;  // may be null
  bool websocket = false;  // an upgrade: access_token counts as a credential
  // The request's credential, looked up on first use (has_scope, principal).
  bool identified = false;
  std::string_view principal;
  const std::vector<std::string>* scopes = nullptr;
  bool auth_off = false;
};

struct rs_response {
  enum class Phase : uint8_t { kHandler, kBefore, kOnResponse };
  ringshard::http::Response* res = nullptr;
  rs_host* plugin = nullptr;
  rs_shard* shard = nullptr;  // the plugin's handle of the request's shard
  Phase phase = Phase::kHandler;
  // defer(): a copy of the handle, to answer 500 if the handler then fails.
  std::optional<ringshard::http::AsyncResponse> deferred;
};

struct rs_upgrade {
  ringshard::ws::UpgradeDecision* decision = nullptr;
};

namespace ringshard::server {

// What the abort notice of a deferred request and the plugin's rs_async
// share: whichever is done last frees it.
struct AsyncShared {
  rs_abort_fn on_abort = nullptr;
  void* abort_user = nullptr;
  rs_host* plugin = nullptr;
  bool plugin_done = false;  // async_send or async_release ran: no more on_abort
};

}  // namespace ringshard::server

struct rs_async {
  ringshard::http::AsyncResponse async;
  std::shared_ptr<ringshard::server::AsyncShared> shared;
  std::vector<std::pair<std::string, std::string>> headers;
  rs_host* plugin = nullptr;
  rs_shard* shard = nullptr;  // the request's
};

namespace ringshard::server {

// A plugin's route as the router calls it.
struct PluginRoute {
  rs_host* plugin = nullptr;
  rs_handler_fn fn = nullptr;
  void* user = nullptr;
  std::string what;  // "GET /hello/{name}"
};

// One shard's HTTP client for plugins (http_fetch), made on its first use
// there and shared by every plugin on the shard (plugin_fetch.cc).
struct PluginFetchShard {
  struct Pending {
    rs_http_fn fn = nullptr;
    void* user = nullptr;
    rs_shard* shard = nullptr;
  };
  // Destroyed in reverse: the client before the resolver cache it uses.
  std::unique_ptr<client::ShardResolver> resolver;  // null: literals only
  std::unique_ptr<client::HttpClient> client;
  std::list<Pending> pending;  // fetches whose fn has not run
};

struct PluginRuntime {
  PluginHostEnv env;
  unsigned shards = 0;
  const rs_host_api* api = nullptr;
  std::unique_ptr<obs::Logger> own_log;  // when env.log is null
  const obs::Logger* log = nullptr;
  std::vector<std::unique_ptr<rs_host>> plugins;  // load order
  std::vector<std::unique_ptr<PluginRoute>> routes;
  std::vector<std::unique_ptr<http::Middleware>> middleware;  // plugin and route middleware
  std::vector<std::unique_ptr<rs_metric>> metrics;
  std::unique_ptr<PluginAuth> auth;
  std::vector<std::string> notes;
  bool destroyed = false;
  // http_fetch: one slot per shard (sized at start, each filled on its
  // shard's thread), and the resolver thread they share, started by the
  // first fetch of any shard.
  std::vector<std::unique_ptr<PluginFetchShard>> fetch;
  std::once_flag resolver_once;
  std::unique_ptr<client::Resolver> resolver;
  std::string resolver_error;
  // The environment's forward proxies, read at start (null: none set), or
  // why they are unusable: then every fetch is refused rather than sent
  // direct past a proxy the operator asked for.
  std::shared_ptr<const client::ProxyEnv> fetch_proxy;
  std::string fetch_proxy_error;

  // A failed plugin callback: an error log line naming the plugin, and the
  // plugin's failure count. `shard` -1: not known / not a shard thread.
  void failure(rs_host* plugin, int shard, std::string_view what, std::string_view detail);
  void log_line(obs::LogLevel level, int shard, const rs_host* plugin, std::string_view message);
  // A refused registration: logged, and kept as the plugin's start error.
  int refuse(rs_host* plugin, std::string message);
};

// The function table (plugin_api.cc).
const rs_host_api* host_api();

// plugin_http.cc: the registration, request and response members.
int api_add_route(rs_host* h, const char* method, const char* pattern, rs_handler_fn fn,
                  void* user, const rs_route_options* options);
int api_add_middleware(rs_host* h, const rs_middleware* middleware, void* user);
int api_add_rate_limit(rs_host* h, const rs_rate_limit_options* options);
// The route middleware a plugin route's options ask for (deprecation, rate
// limit, scope), in that order; false after h->rt->refuse().
bool route_middleware(rs_host* h, const char* what, const rs_route_options& o, bool websocket,
                      http::RouteOptions& out);
// Copies a plugin's options struct into a zeroed host-sized one: fields
// past the plugin's struct_size stay zero.
rs_route_options copy_route_options(const rs_route_options* o);
void fill_http_api(rs_host_api& api);

// plugin_ws.cc.
void fill_ws_api(rs_host_api& api);
int api_add_websocket(rs_host* h, const char* pattern, const rs_ws_callbacks* callbacks,
                      void* user, const rs_route_options* options);
int api_add_topic_listener(rs_host* h, const char* topic,
                           void (*fn)(void*, rs_shard*, rs_str, rs_str), void* user);

// plugin_api.cc: on the shard's thread, bound and not stopped.
bool on_shard_thread(const rs_shard* s);

// plugin_fetch.cc: the http_fetch member; and, on shard `index`'s thread
// as it stops, every fetch still pending there answered "shutdown" and the
// shard's client closed.
void fill_fetch_api(rs_host_api& api);
void stop_fetches(PluginRuntime& rt, unsigned index);

// plugin_api.cc: cancels the plugin timers armed on `s` (fn(user, NULL)).
void cancel_timers(rs_shard* s);
// Runs tasks queued before the shard was bound: posted for real once bound
// (`shard` set), cancelled (fn(user, NULL)) when it never will be.
void flush_pending(rs_shard* s, engine::Shard* shard);

// Inside a catch block: what the exception in flight says ("unknown
// exception" for one that is not a std::exception). plugin_host.cc.
std::string exception_text();

inline std::string_view sv(rs_str s) { return {s.data != nullptr ? s.data : "", s.size}; }
inline rs_str rs(std::string_view s) { return rs_str{s.data(), s.size()}; }

}  // namespace ringshard::server
