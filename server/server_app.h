// server/server_app.h: assembles a ringshard server from Options: the
// router with the built-in routes, the HTTP configuration, the plugins
// (server/plugin_host.h) and the engine.
//
// Tests build servers in-process with it (port 0, a ManualClock), which is
// why nothing here is global: two ServerApps can run in one process.
//
//   ServerApp app(options);
//   app.router().add(...);            // optional extra routes, before start()
//   if (auto e = app.start(); !e.ok()) { ... }
//   app.engine().drain(); app.engine().wait();
//   // ~ServerApp: the plugins' destroy(), then the engine, then dlclose
//
// start() loads Options::plugins first (validate, init: they register
// routes and middleware), then builds the middleware chain and starts the
// engine; each shard runs the plugins' shard_start before it serves and
// shard_stop after it drained.
// Control plane only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "http/router.h"
#include "http/server.h"
#include "http/builtin_routes.h"
#include "obs/access_log.h"
#include "obs/log.h"
#include "obs/prometheus.h"
#include "proxy/reverse_proxy.h"
#include "server/options.h"
#include "server/plugin_host.h"
#include "tls/server_context.h"
#include "tls/transport.h"
#include "ws/server.h"

namespace ringshard::server {

class ServerApp {
 public:
  explicit ServerApp(const Options& options, const engine::Clock* clock = nullptr);
  ~ServerApp();
  ServerApp(const ServerApp&) = delete;
  ServerApp& operator=(const ServerApp&) = delete;

  // The log plugins write to (their log lines, failures, the development
  // token), before start(); null: stderr, text. Must outlive the app.
  void set_logger(const obs::Logger* log) { log_ = log; }
  // What plugins' http_fetch reads its forward proxies through
  // (https_proxy, http_proxy, no_proxy), before start(); unset: the
  // process environment.
  void set_getenv(client::Getenv getenv) { getenv_ = std::move(getenv); }

  http::Router& router() { return router_; }
  // Adds global middleware (outermost first), before start(); the app
  // does not own it. The middleware the options ask for come first.
  void add_middleware(const http::Middleware* m) { extra_middleware_.push_back(m); }
  const http::ServerConfig& http_config() const { return http_config_; }
  engine::Engine& engine() { return *engine_; }
  // WebSocket endpoints (/ws/echo, /ws/chat built in), topics, metrics.
  ws::WsServer& ws() { return *ws_; }

  // Exit codes as the engine's, plus 78 when a TLS certificate or key
  // cannot be loaded (or the development certificate cannot be written),
  // or a plugin cannot be loaded, refuses its section or fails its init().
  engine::StartError start();
  // The plugins (null before start()).
  const PluginHost* plugins() const { return plugins_.get(); }
  // The reverse proxy ([[upstream]] and [[route]]); null when none is
  // configured or before start().
  const proxy::ReverseProxy* reverse_proxy() const { return proxy_.get(); }
  // The HttpServer of shard i (its metrics), valid while the app runs.
  const http::HttpServer* http_server(unsigned shard) const;

  // HTTPS: the bound port (0 when off), shard i's TLS transport (metrics),
  // what start() said about the certificates (log lines).
  bool tls_enabled() const { return options_.tls_listen.has_value(); }
  uint16_t tls_port() const { return tls_enabled() ? engine_->port(1) : 0; }
  const tls::TlsTransport* tls_transport(unsigned shard) const;
  const std::vector<std::string>& tls_log() const { return tls_log_; }

  // The admin listener (/metrics, /health, /ready): its bound port, 0 when
  // off.
  uint16_t admin_port() const {
    return admin_listener_ != ~0u ? engine_->port(admin_listener_) : 0;
  }
  const http::Router* admin_router() const { return admin_listener_ != ~0u ? &admin_router_ : nullptr; }
  const http::Router& router() const { return router_; }
  const Options& options() const { return options_; }
  // What render_metrics() reads (any thread; relaxed loads).
  unsigned shard_count() const { return engine_->shard_count(); }
  const engine::ShardMetrics& shard_metrics(unsigned shard) const {
    return engine_->shard(shard).metrics();
  }
  const ws::WsMetrics& ws_metrics(unsigned shard) const { return ws_->metrics(shard); }
  const char* ring_mode() const { return engine_->ring_mode(); }
  const std::vector<const http::Middleware*>& middleware() const { return live_config_->middleware; }
  uint64_t connections_refused(unsigned shard) const;
  void write_extra_metrics(obs::PrometheusWriter& w) const;
  // The access log (null when off). reopen_logs() reopens its file
  // (SIGUSR1, for logrotate); control plane, any thread.
  obs::AccessLog* access_log() const { return access_log_.get(); }
  // Returns what happened, for the log.
  std::string reopen_logs();
  // Flushes and closes the access log after the engine has stopped.
  void stop_logs();
  // Reloads the certificates and keys from their files (SIGHUP): new
  // handshakes use them, established connections keep theirs. On failure
  // the old ones stay and `message` says why. Control plane; any thread.
  bool reload_tls(std::string& message);
  // SIGHUP: parses argv again (re-reading the --config file) and applies
  // what can change at runtime: HTTP limits and timeouts, middleware
  // settings (request id, trace context, CORS, security headers, auth
  // tokens and rules, rate-limit rules, compression), the log level (the
  // caller applies it from options()) and the certificates. Settings that
  // need a restart (listen addresses, shards, engine buffers, WebSocket,
  // admin listener, access log path) keep their running values and are
  // named in `notes`. An invalid file changes nothing: false, and `notes`
  // says why. Control plane (the main thread).
  bool reload(int argc, const char* const* argv, std::vector<std::string>& notes);

 private:
  Options options_;
  // Declared first, so destroyed last: the plugins' code (dlclose) must
  // outlive everything that may still point into it.
  std::unique_ptr<PluginHost> plugins_;
  const obs::Logger* log_ = nullptr;
  client::Getenv getenv_;
  std::shared_ptr<http::HealthInfo> health_;
  http::Router router_;
  std::vector<const http::Middleware*> extra_middleware_;
  http::ServerConfig http_config_;
  std::vector<const http::HttpServer*> servers_;
  // TLS: the certificate files in use (the dev certificate's when none was
  // given), the shared ticket keys, the current context, per-shard transports.
  tls::ServerOptions tls_options_;
  std::shared_ptr<const tls::TicketKeys> ticket_keys_;
  std::shared_ptr<const tls::ServerContext> tls_context_;
  std::vector<tls::TlsTransport*> tls_transports_;
  std::vector<std::string> tls_log_;
  engine::StartError prepare_tls();
  void add_admin_routes();
  // Admin listener: engine listener index (~0u: off) and its router.
  unsigned admin_listener_ = ~0u;
  http::Router admin_router_;
  std::unique_ptr<obs::AccessLog> access_log_;
  std::unique_ptr<ratelimit::ConnectionCaps> connection_caps_;
  // The middleware the options ask for, built by build_middleware(); every
  // generation is kept (a request that began under an older one may still
  // be answered through it), as is every HTTP configuration handed out.
  struct MiddlewareSet {
    std::vector<std::unique_ptr<http::Middleware>> owned;
    std::vector<const http::Middleware*> chain;
  };
  bool build_middleware(const Options& options, MiddlewareSet& out, std::string& error) const;
  std::vector<std::unique_ptr<MiddlewareSet>> middleware_sets_;
  std::vector<std::unique_ptr<http::ServerConfig>> retired_configs_;
  const http::ServerConfig* live_config_ = &http_config_;
  // Declared before the engine so that they outlive it: the engine's
  // destructor drains the shards, whose WebSocket drivers live in ws_ and
  // whose forwarded requests live in proxy_ (its per-shard state is freed
  // by each shard as it exits).
  std::unique_ptr<proxy::ReverseProxy> proxy_;
  std::unique_ptr<ws::WsServer> ws_;
  std::unique_ptr<engine::Engine> engine_;
};

}  // namespace ringshard::server
