#include "server/server_app.h"

#include <sys/random.h>
#include <time.h>

#include <ctime>
#include <variant>

#include "http/builtin_routes.h"
#include "server/metrics_page.h"
#include "server/middleware_setup.h"
#include "obs/json_escape.h"
#include "tls/certificate.h"
#include "ws/builtin_endpoints.h"
#include "ws/demo_page.h"

#ifndef RINGSHARD_VERSION
#define RINGSHARD_VERSION "unknown"
#endif

namespace ringshard::server {

namespace {

uint64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

ws::WsConfig ws_config(const Options& o) {
  ws::WsConfig c;
  c.max_message_bytes = o.ws_max_message_bytes;
  c.max_frame_bytes = o.ws_max_frame_bytes;
  c.max_send_queue = o.ws_max_send_queue;
  c.ping_interval_ms = o.ws_ping_interval_ms;
  c.pong_timeout_ms = o.ws_pong_timeout_ms;
  c.idle_timeout_ms = o.ws_idle_timeout_ms;
  c.close_timeout_ms = o.ws_close_timeout_ms;
  c.deflate.enabled = o.ws_deflate;
  c.deflate.server_max_window_bits = static_cast<uint8_t>(o.ws_deflate_window_bits);
  c.deflate.client_max_window_bits = static_cast<uint8_t>(o.ws_deflate_window_bits);
  c.deflate.mem_level = static_cast<int>(o.ws_deflate_mem_level);
  c.deflate.min_size = o.ws_deflate_min_size;
  c.deflate.server_no_context_takeover = o.ws_deflate_no_context_takeover;
  c.deflate.client_no_context_takeover = o.ws_deflate_no_context_takeover;
  return c;
}

}  // namespace

ServerApp::ServerApp(const Options& options, const engine::Clock* clock) : options_(options) {
  http_config_.parser.max_head_bytes = options.max_head_bytes;
  http_config_.parser.max_target_bytes = options.max_target_bytes;
  http_config_.parser.max_headers = options.max_headers;
  http_config_.max_body_bytes = options.max_body_bytes;
  http_config_.header_timeout_ms = options.header_timeout_ms;
  http_config_.body_timeout_ms = options.body_timeout_ms;
  http_config_.idle_timeout_ms = options.idle_timeout_ms;
  http_config_.deferred_timeout_ms = options.deferred_timeout_ms;
  http_config_.drain_idle_grace_ms = options.drain_idle_grace_ms;
  health_ = std::make_shared<http::HealthInfo>();
  health_->version = RINGSHARD_VERSION;
  health_->started_ms = monotonic_ms();
  // Read by the shards; plugins_ is set before the engine starts them.
  health_->not_ready = [this] { return plugins_ != nullptr ? plugins_->not_ready() : ""; };
  http::add_builtin_routes(router_, health_);

  engine::EngineConfig ec;
  ec.shards = options.shards;
  ec.listen_host = options.listen.host;
  ec.listen_port = options.listen.port;
  ec.max_connections = options.max_connections;
  ec.send_queue_limit = options.send_queue_limit;
  ec.recv_buffer_size = options.recv_buffer_size;
  ec.recv_buffer_count = options.recv_buffer_count;
  ec.drain_timeout_ms = options.drain_timeout_ms;
  ec.defer_accept = options.defer_accept;
  ec.batch_wait_us = options.batch_wait_us;
  if (options.tls_listen) {
    ec.more_listeners.push_back(engine::ListenSpec{options.tls_listen->host, options.tls_listen->port});
  }
  if (options.admin_listen) {
    admin_listener_ = static_cast<unsigned>(ec.more_listeners.size()) + 1;
    ec.more_listeners.push_back(
        engine::ListenSpec{options.admin_listen->host, options.admin_listen->port});
    add_admin_routes();
    http_config_.admin_router = &admin_router_;
    http_config_.admin_listener = admin_listener_;
  }
  if (options.metrics_on_main) {
    router_.add(http::Method::kGet, "/metrics", [this](http::ServerRequest&, http::Response& res) {
      res.send(200, obs::kPrometheusContentType, render_metrics(*this));
    });
  }
  ec.clock = clock;
  engine_ = std::make_unique<engine::Engine>(std::move(ec));
  servers_.assign(engine_->config().shards, nullptr);
  ws_ = std::make_unique<ws::WsServer>(engine_->config().shards, ws_config(options));
  ws::add_builtin_endpoints(*ws_, router_);
  ws::add_demo_page(router_);
  tls_transports_.assign(engine_->config().shards, nullptr);
}

engine::StartError ServerApp::prepare_tls() {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  tls_options_.allow_tls12 = options_.tls_allow_12;
  // Keys rotate on the millisecond period; BoringSSL's ticket lifetime is
  // in whole seconds, rounded up.
  tls_options_.ticket_rotation_s = (options_.tls_ticket_rotation_ms + 999) / 1000;
  tls_options_.certificates.clear();
  std::string error;
  if (options_.tls_certs.empty()) {
    auto dev = tls::ensure_dev_certificate(options_.data_dir + "/tls", now, error);
    if (!dev) return engine::StartError{78, "ringshard: TLS development certificate: " + error};
    tls_log_.push_back(std::string(dev->generated ? "generated" : "using") +
                       " a self-signed development certificate for localhost: " +
                       dev->cert_path + " (pass --cert/--key for a real one)");
    tls_options_.certificates.push_back({dev->cert_path, dev->key_path});
  } else {
    for (size_t i = 0; i < options_.tls_certs.size() && i < options_.tls_keys.size(); ++i) {
      tls_options_.certificates.push_back({options_.tls_certs[i], options_.tls_keys[i]});
    }
  }
  ticket_keys_ = std::make_shared<tls::TicketKeys>(options_.tls_ticket_rotation_ms);
  tls_context_ = tls::ServerContext::create(tls_options_, ticket_keys_, now, error);
  if (tls_context_ == nullptr) return engine::StartError{78, "ringshard: " + error};
  for (const std::string& line : tls_context_->describe()) tls_log_.push_back("certificate " + line);
  return engine::StartError{};
}

bool ServerApp::reload_tls(std::string& message) {
  if (!tls_enabled() || !engine_->running()) {
    message = "TLS is off: nothing to reload";
    return false;
  }
  std::string error;
  auto next = tls::ServerContext::create(tls_options_, ticket_keys_,
                                         static_cast<int64_t>(std::time(nullptr)), error);
  if (next == nullptr) {
    message = "certificate reload failed, keeping the current certificates: " + error;
    return false;
  }
  for (unsigned i = 0; i < engine_->shard_count(); ++i) {
    engine_->execute(i, [this, next](engine::Shard& shard) {
      if (tls::TlsTransport* t = tls_transports_[shard.index()]) t->set_context(next);
    });
  }
  tls_context_ = next;
  message = "reloaded " + std::to_string(tls_options_.certificates.size()) + " certificate(s)";
  for (const std::string& line : next->describe()) message += "; " + line;
  return true;
}

void ServerApp::add_admin_routes() {
  admin_router_.add(http::Method::kGet, "/metrics", [this](http::ServerRequest&, http::Response& res) {
    res.send(200, obs::kPrometheusContentType, render_metrics(*this));
  });
  admin_router_.add(http::Method::kGet, "/health", [this](http::ServerRequest&, http::Response& res) {
    res.send(200, "application/json", http::health_body(*health_));
  });
  // Ready while serving; 503 once draining, so a balancer stops sending,
  // and while a plugin says it is not ready.
  admin_router_.add(http::Method::kGet, "/ready", [this](http::ServerRequest& req, http::Response& res) {
    if (req.shard().draining()) {
      res.send(503, "application/json", R"({"status":"draining"})");
      return;
    }
    if (const std::string why = health_->not_ready(); !why.empty()) {
      std::string body = R"({"status":"not_ready","reason":)";
      obs::append_json_string(body, why);
      res.send(503, "application/json", body + "}");
      return;
    }
    res.send(200, "application/json", R"({"status":"ready"})");
  });
}

uint64_t ServerApp::connections_refused(unsigned shard) const {
  const http::HttpServer* hs = http_server(shard);
  return hs != nullptr ? hs->metrics().connections_refused.get() : 0;
}

bool ServerApp::build_middleware(const Options& options, MiddlewareSet& out,
                                 std::string& error) const {
  BuiltMiddleware built = server::build_middleware(options, engine_->config().shards, error);
  if (!error.empty()) return false;
  out.owned = std::move(built.owned);
  out.chain = std::move(built.chain);
  out.chain.insert(out.chain.end(), extra_middleware_.begin(), extra_middleware_.end());
  return true;
}

namespace {

// The settings a reload cannot change: where `next` differs from the
// running options, the running value goes back into `next` and the setting
// is named. Putting it back keeps options() true to what runs, so the next
// reload names an unapplied change again instead of taking it as applied.
std::vector<std::string> keep_restart_only(const Options& running, Options& next) {
  std::vector<std::string> out;
  auto keep = [&](const char* name, auto... fields) {
    if (((running.*fields == next.*fields) && ...)) return;
    out.push_back(name);
    ((next.*fields = running.*fields), ...);
  };
  keep("listen", &Options::listen);
  keep("shards", &Options::shards);
  keep("data_dir", &Options::data_dir);
  keep("tls listen", &Options::tls_listen);
  keep("admin listen", &Options::admin_listen);
  keep("access_log", &Options::access_log);
  keep("log format", &Options::log_format);
  keep("max_connections", &Options::max_connections);
  keep("send_queue_limit", &Options::send_queue_limit);
  keep("receive buffers", &Options::recv_buffer_size, &Options::recv_buffer_count);
  keep("drain_timeout", &Options::drain_timeout_ms);
  keep("defer_accept", &Options::defer_accept);
  keep("batch_wait_us", &Options::batch_wait_us);
  keep("tls settings other than certificates", &Options::tls_allow_12,
       &Options::tls_ticket_rotation_ms, &Options::tls_handshake_timeout_ms);
  keep("websocket settings", &Options::ws_max_message_bytes, &Options::ws_max_frame_bytes,
       &Options::ws_max_send_queue, &Options::ws_ping_interval_ms, &Options::ws_pong_timeout_ms,
       &Options::ws_idle_timeout_ms, &Options::ws_close_timeout_ms, &Options::ws_deflate,
       &Options::ws_deflate_window_bits, &Options::ws_deflate_mem_level,
       &Options::ws_deflate_min_size, &Options::ws_deflate_no_context_takeover);
  keep("metrics_on_main", &Options::metrics_on_main);
  keep("connection caps", &Options::max_connections_total, &Options::max_connections_per_ip);
  keep("rate limit table capacity", &Options::rate_limit_table_capacity);
  keep("plugins", &Options::plugins, &Options::plugin_sections);
  keep("upstreams and proxy routes", &Options::upstreams, &Options::proxy_routes);
  return out;
}

}  // namespace

bool ServerApp::reload(int argc, const char* const* argv, std::vector<std::string>& notes) {
  auto parsed = parse_options(argc, argv);
  if (auto* err = std::get_if<OptionsError>(&parsed)) {
    notes.push_back("invalid configuration, keeping the running one: " + err->message);
    return false;
  }
  Options next = std::get<ParsedOptions>(parsed).options;
  auto set = std::make_unique<MiddlewareSet>();
  std::string error;
  if (!build_middleware(next, *set, error)) {
    notes.push_back("invalid configuration, keeping the running one: " + error);
    return false;
  }
  // Plugin routes with a scope check against the server's credentials:
  // they follow the tokens too (the last step that can refuse).
  if (plugins_ != nullptr && !plugins_->reload_credentials(next, error)) {
    notes.push_back("invalid configuration, keeping the running one: " + error);
    return false;
  }
  for (const std::string& name : keep_restart_only(options_, next)) {
    notes.push_back(name + " changed: it needs a restart; keeping the running value");
  }
  // What reloads: a new HTTP configuration (limits, timeouts, middleware)
  // that each shard switches to on its own thread.
  auto cfg = std::make_unique<http::ServerConfig>(*live_config_);
  cfg->parser.max_head_bytes = next.max_head_bytes;
  cfg->parser.max_target_bytes = next.max_target_bytes;
  cfg->parser.max_headers = next.max_headers;
  cfg->max_body_bytes = next.max_body_bytes;
  cfg->header_timeout_ms = next.header_timeout_ms;
  cfg->body_timeout_ms = next.body_timeout_ms;
  cfg->idle_timeout_ms = next.idle_timeout_ms;
  cfg->deferred_timeout_ms = next.deferred_timeout_ms;
  cfg->drain_idle_grace_ms = next.drain_idle_grace_ms;
  cfg->middleware = set->chain;
  const http::ServerConfig* published = cfg.get();
  retired_configs_.push_back(std::move(cfg));
  middleware_sets_.push_back(std::move(set));
  live_config_ = published;
  for (unsigned i = 0; i < engine_->shard_count(); ++i) {
    engine_->execute(i, [this, published](engine::Shard& shard) {
      if (auto* hs = const_cast<http::HttpServer*>(servers_[shard.index()])) hs->set_config(*published);
    });
  }
  const bool certificates_changed =
      next.tls_certs != options_.tls_certs || next.tls_keys != options_.tls_keys;
  options_ = next;  // the restart-only values are the running ones again
  notes.push_back("configuration reloaded");
  if (tls_enabled()) {
    if (certificates_changed) {
      notes.push_back("certificate files changed: new paths need a restart; reloading the running ones");
    }
    std::string message;
    reload_tls(message);
    notes.push_back(message);
  }
  return true;
}

void ServerApp::write_extra_metrics(obs::PrometheusWriter& w) const {
  if (plugins_ != nullptr) plugins_->write_metrics(w);
  if (proxy_ != nullptr) proxy_->write_metrics(w);
  if (connection_caps_ != nullptr) {
    const ratelimit::ConnectionCapsStats st = connection_caps_->stats();
    w.family("ringshard_connection_caps_refused_total", obs::MetricType::kCounter,
             "connections refused by a connection cap, by cap");
    w.sample({{"cap", "total"}}, st.refused_total);
    w.sample({{"cap", "per_ip"}}, st.refused_per_ip);
    w.sample({{"cap", "table_full"}}, st.refused_table_full);
  }
  if (access_log_ == nullptr) return;
  w.family("ringshard_access_log_lines_total", obs::MetricType::kCounter,
           "access log lines, by what became of them");
  w.sample({{"result", "written"}}, access_log_->lines_written());
  w.sample({{"result", "dropped"}}, access_log_->lines_dropped());
}

std::string ServerApp::reopen_logs() {
  if (access_log_ == nullptr) return "no access log to reopen";
  const uint64_t errors = access_log_->write_errors();
  const uint64_t reopens = access_log_->reopens();
  access_log_->reopen();
  access_log_->sync();  // the logger has done it (or failed) when this returns
  if (access_log_->reopens() == reopens || access_log_->write_errors() != errors) {
    return "access log " + options_.access_log + ": reopen failed, still writing to the old file";
  }
  return "access log reopened: " + options_.access_log;
}

void ServerApp::stop_logs() {
  if (access_log_ != nullptr) access_log_->stop();
}

const tls::TlsTransport* ServerApp::tls_transport(unsigned shard) const {
  return shard < tls_transports_.size() ? tls_transports_[shard] : nullptr;
}

ServerApp::~ServerApp() {
  // The plugins' destroy() runs once no shard can call them any more, and
  // before the engine (whose shards their handles point into) goes.
  if (engine_->running()) {
    engine_->drain();
    engine_->wait();
  }
  if (plugins_ != nullptr) plugins_->destroy_plugins();
}

engine::StartError ServerApp::start() {
  {
    // Plugins first: their routes, endpoints and middleware are part of
    // what the chain and the shards are built with.
    PluginHostEnv env;
    env.options = &options_;
    env.router = &router_;
    env.ws = ws_.get();
    env.engine = engine_.get();
    env.log = log_;
    env.add_middleware = [this](const http::Middleware* m) { extra_middleware_.push_back(m); };
    env.version = RINGSHARD_VERSION;
    env.getenv = getenv_;
    plugins_ = std::make_unique<PluginHost>(std::move(env));
    std::string error;
    if (!plugins_->start(error)) return engine::StartError{78, "ringshard: " + error};
  }
  if (!options_.upstreams.empty()) {
    proxy::ReverseProxyOptions po;
    po.upstreams = options_.upstreams;
    po.routes = options_.proxy_routes;
    po.shards = engine_->config().shards;
    po.clock = &engine_->clock();
    po.log = log_;
    std::string error;
    proxy_ = proxy::ReverseProxy::create(std::move(po), error);
    if (proxy_ == nullptr) return engine::StartError{78, "ringshard: " + error};
    proxy_->register_routes(router_);
  }
  if (options_.max_connections_total != 0 || options_.max_connections_per_ip != 0) {
    ratelimit::ConnectionCapsOptions co;
    co.max_total = options_.max_connections_total;
    co.max_per_ip = options_.max_connections_per_ip;
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) seed = static_cast<uint64_t>(std::time(nullptr));
    co.seed = seed;
    connection_caps_ = std::make_unique<ratelimit::ConnectionCaps>(co);
    http_config_.connection_caps = connection_caps_.get();
  }
  if (!options_.access_log.empty()) {
    obs::AccessLogOptions lo;
    lo.path = options_.access_log;
    lo.shards = engine_->config().shards;
    std::string error;
    access_log_ = obs::AccessLog::open(lo, &error);
    if (access_log_ == nullptr) {
      return engine::StartError{78, "ringshard: access log " + options_.access_log + ": " + error};
    }
    http_config_.access_log = access_log_.get();
  }
  if (tls_enabled()) {
    if (auto err = prepare_tls(); !err.ok()) return err;
    const uint32_t timeout = options_.tls_handshake_timeout_ms;
    engine_->set_transport_factory(
        [this, timeout](engine::Shard& shard, unsigned listener) -> std::unique_ptr<engine::Transport> {
          if (listener != 1) return nullptr;
          auto t = std::make_unique<tls::TlsTransport>(shard, tls_context_, timeout);
          tls_transports_[shard.index()] = t.get();
          return t;
        });
  }
  {
    auto set = std::make_unique<MiddlewareSet>();
    std::string error;
    if (!build_middleware(options_, *set, error)) {
      return engine::StartError{78, "ringshard: " + error};
    }
    http_config_.middleware = set->chain;
    middleware_sets_.push_back(std::move(set));
  }
  // The factory runs on each shard's thread, before the shard serves
  // anything: the plugins' shard_start() runs there, so no request reaches
  // a plugin route on a shard before it. Each writes only its own slot.
  engine_->set_handler_factory(
      [this](engine::Shard& shard) -> std::unique_ptr<engine::ConnectionHandler> {
        auto h = http::make_http_handler(shard, http_config_, router_);
        servers_[shard.index()] = static_cast<const http::HttpServer*>(h.get());
        if (proxy_ != nullptr) proxy_->shard_started(shard);
        plugins_->shard_started(shard);
        return h;
      });
  engine_->set_shard_exit_hook([this](engine::Shard& shard) {
    plugins_->shard_stopped(shard);
    if (proxy_ != nullptr) proxy_->shard_stopped(shard);
  });
  engine_->set_shard_drain_hook([this](engine::Shard& shard) {
    if (proxy_ != nullptr) proxy_->shard_draining(shard);
    plugins_->shard_draining(shard);
  });
  return engine_->start();
}

const http::HttpServer* ServerApp::http_server(unsigned shard) const {
  return shard < servers_.size() ? servers_[shard] : nullptr;
}

}  // namespace ringshard::server
