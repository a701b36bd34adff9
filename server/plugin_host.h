// server/plugin_host.h: the plugins of one server (include/ringshard/plugin.h
// is the contract): loading them, their configuration sections, their
// lifecycle on the control plane and on the shards, and what they add to
// the server (routes, WebSocket endpoints, middleware, topic listeners,
// metrics, readiness).
//
//   PluginHost plugins(env);                 // before the engine starts
//   if (!plugins.start(error)) exit(78);     // load, validate, init
//   // engine handler factory, on each shard:  plugins.shard_started(shard)
//   // engine exit hook, on each shard:        plugins.shard_stopped(shard)
//   engine.wait();
//   plugins.destroy_plugins();               // destroy(), before the engine goes
//   // ~PluginHost: dlclose, last
//
// start() runs, in this order and stopping at the first error (a message
// naming the plugin; the binary exits 78): resolve and load each plugin of
// Options::plugins (built in, or a .so: dlopen RTLD_NOW | RTLD_LOCAL, dlsym
// ringshard_plugin_v1), check the descriptor (ABI version, struct size,
// name, no two with one name), match every [plugins.NAME] section to a
// loaded plugin, validate() each on its section, then init() each (its
// registrations must all succeed), then settle authentication (the
// development token when a route names a scope and no credential is
// configured).
//
// Threads: start(), destroy_plugins(), reload_credentials() and the
// destructor on the control plane (main thread); shard_started() and
// shard_stopped() on each shard's thread (engine hooks); not_ready() and
// write_metrics() from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/proxy_env.h"
#include "engine/engine.h"
#include "http/middleware.h"
#include "http/router.h"
#include "obs/log.h"
#include "obs/prometheus.h"
#include "server/options.h"
#include "ws/server.h"

namespace ringshard::server {

struct PluginRuntime;  // server/plugin_internal.h

struct PluginHostEnv {
  const Options* options = nullptr;  // must outlive the host
  http::Router* router = nullptr;    // plugin routes go here
  ws::WsServer* ws = nullptr;        // WebSocket endpoints, topics
  engine::Engine* engine = nullptr;  // shard count and clock (not started yet)
  const obs::Logger* log = nullptr;  // null: the host logs to stderr itself
  // Adds a plugin middleware to the global chain (after the server's own).
  std::function<void(const http::Middleware*)> add_middleware;
  std::string version;               // server_version()
  // What http_fetch reads its forward proxies through (https_proxy,
  // http_proxy, all_proxy, no_proxy: client/proxy_env.h), once, at
  // start(); null: the process environment. Tests pass their own.
  client::Getenv getenv;
};

class PluginHost {
 public:
  explicit PluginHost(PluginHostEnv env);
  ~PluginHost();  // destroy_plugins() if not done yet, then unloads (dlclose)
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // Loads, validates and initialises the plugins. False with `error` set
  // on the first failure; plugins whose init() ran still get destroy().
  bool start(std::string& error);
  // The engine's handler factory, on `shard`'s thread before it serves:
  // binds the plugins' handles of this shard, runs tasks posted so far,
  // then each plugin's shard_start().
  void shard_started(engine::Shard& shard);
  // The engine's exit hook, on `shard`'s thread: runs shard_stop(), then
  // cancels the plugins' timers left there, and refuses posts from then on.
  void shard_stopped(engine::Shard& shard);
  // The engine's drain hook, on `shard`'s thread: each plugin's
  // shard_drain() (SIGTERM; long-polls are answered now).
  void shard_draining(engine::Shard& shard);
  // destroy() for each plugin whose init() ran, in reverse load order
  // (tasks never run are cancelled first). Once the engine has stopped.
  void destroy_plugins();

  // "" when every plugin is ready, else "plugin NAME is not ready".
  std::string not_ready() const;
  // Plugin metrics, handler failures, plugin rate limits (a scrape).
  void write_metrics(obs::PrometheusWriter& w) const;
  // SIGHUP: the credentials plugin routes with a scope check against.
  // Keeps the running ones (and says why in `error`) when they are invalid.
  bool reload_credentials(const Options& next, std::string& error);

  size_t plugin_count() const;
  // Log lines start() produced for the operator (the development token).
  const std::vector<std::string>& notes() const;
  // For tests and diagnostics: total failures counted for plugin `name`.
  uint64_t failures(std::string_view name) const;

 private:
  friend bool check_plugins(const Options&, std::vector<std::string>&, std::string&);
  std::unique_ptr<PluginRuntime> rt_;
};

// --check-config: loads the plugins Options name, checks their sections
// and runs each validate(), then unloads them. On success `lines` gets one
// line per plugin ("plugin hello 1.0.0 (built-in): [plugins.hello] OK").
bool check_plugins(const Options& options, std::vector<std::string>& lines, std::string& error);

}  // namespace ringshard::server
