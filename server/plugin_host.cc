// server/plugin_host.cc: the plugins' lifecycle (see plugin_host.h for the
// order), their readiness, failures and metrics.
#include "server/plugin_host.h"

#include <algorithm>
#include <cstdlib>
#include <exception>

#include "server/plugin_auth.h"
#include "server/plugin_internal.h"

namespace ringshard::server {

std::string exception_text() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

namespace {

constexpr size_t kErrorSize = 1024;

std::string who(const rs_host& h) { return "plugin '" + h.name + "'"; }

std::string c_error(const char* buf) {
  std::string e(buf, strnlen(buf, kErrorSize));
  return e.empty() ? "no reason given" : e;
}

// Loads every plugin Options names and matches the sections to them.
bool load_all(PluginRuntime& rt, std::string& error) {
  for (const std::string& ref : rt.env.options->plugins) {
    std::optional<LoadedPlugin> lib = load_plugin(ref, error);
    if (!lib) return false;
    auto h = std::make_unique<rs_host>();
    h->rt = &rt;
    h->ref = ref;
    h->name = lib->desc->name;
    h->version = lib->desc->version != nullptr ? lib->desc->version : "";
    h->lib = std::move(*lib);
    for (const auto& other : rt.plugins) {
      if (other->name == h->name) {
        error = "plugins '" + other->ref + "' and '" + ref + "' are both named '" + h->name +
                "': load one of them";
        unload_plugin(h->lib);
        return false;
      }
    }
    for (unsigned i = 0; i < rt.shards; ++i) {
      auto s = std::make_unique<rs_shard>();
      s->plugin = h.get();
      s->index = i;
      h->shards.push_back(std::move(s));
    }
    rt.plugins.push_back(std::move(h));
  }
  for (const PluginSection& section : rt.env.options->plugin_sections) {
    const bool loaded = std::any_of(rt.plugins.begin(), rt.plugins.end(),
                                    [&](const auto& h) { return h->name == section.name; });
    if (!loaded) {
      std::string names;
      for (const auto& h : rt.plugins) names += (names.empty() ? "" : ", ") + h->name;
      error = "[plugins." + section.name + "]: no plugin named '" + section.name +
              "' is loaded (loaded: " + (names.empty() ? "none" : names) + ")";
      return false;
    }
  }
  for (auto& h : rt.plugins) {
    const PluginSection* section = nullptr;
    for (const PluginSection& s : rt.env.options->plugin_sections) {
      if (s.name == h->name) section = &s;
    }
    h->config = make_plugin_config(h->name, section, error);
    if (h->config == nullptr) {
      error = who(*h) + ": " + error;
      return false;
    }
  }
  return true;
}

bool validate_all(PluginRuntime& rt, std::string& error) {
  for (auto& h : rt.plugins) {
    if (h->lib.desc->validate == nullptr) continue;
    char buf[kErrorSize] = {};
    int rc = 0;
    try {
      rc = h->lib.desc->validate(rt.api, h->config.get(), buf, sizeof buf);
    } catch (...) {
      rc = 1;
      std::snprintf(buf, sizeof buf, "validate() threw: %s", exception_text().c_str());
    }
    if (rc != 0) {
      error = who(*h) + ": invalid [plugins." + h->name + "]: " + c_error(buf);
      return false;
    }
  }
  return true;
}

}  // namespace

void PluginRuntime::log_line(obs::LogLevel level, int shard, const rs_host* plugin,
                             std::string_view message) {
  if (!log->enabled(level)) return;
  std::string line = plugin != nullptr ? "plugin " + plugin->name + ": " : std::string();
  line += message;
  log->log(level, shard, line);
}

void PluginRuntime::failure(rs_host* plugin, int shard, std::string_view what,
                            std::string_view detail) {
  plugin->failures.fetch_add(1, std::memory_order_relaxed);
  log_line(obs::LogLevel::kError, shard < 0 ? obs::kMainShard : shard, plugin,
           std::string(what) + " failed: " + std::string(detail));
}

int PluginRuntime::refuse(rs_host* plugin, std::string message) {
  log_line(obs::LogLevel::kError, obs::kMainShard, plugin, message);
  if (plugin->registration_error.empty()) plugin->registration_error = std::move(message);
  return -1;
}

namespace {

// http_fetch's forward proxies, from the environment, said once at start
// when plugins are loaded (the password never logged).
void read_fetch_proxy(PluginRuntime& rt) {
  if (rt.plugins.empty()) return;  // nobody can fetch
  client::Getenv getenv = rt.env.getenv;
  if (!getenv) getenv = [](const char* name) -> const char* { return ::getenv(name); };
  auto env = std::make_shared<client::ProxyEnv>();
  std::string error;
  if (!client::read_proxy_env(getenv, *env, error)) {
    rt.fetch_proxy_error = error;
    rt.log_line(obs::LogLevel::kError, obs::kMainShard, nullptr,
                "http_fetch: " + error + ": every fetch is refused until it is fixed or unset");
    return;
  }
  if (!env->http && !env->https) return;
  std::string line = "http_fetch: forward proxies from the environment:";
  if (env->http) line += " http -> " + client::format_proxy_url(*env->http, true);
  if (env->https) line += " https -> " + client::format_proxy_url(*env->https, true);
  if (env->no_proxy.all) {
    line += " (no_proxy: every host)";
  } else if (!env->no_proxy.entries.empty()) {
    line += " (no_proxy: " + std::to_string(env->no_proxy.entries.size()) + " entries)";
  }
  rt.log_line(obs::LogLevel::kInfo, obs::kMainShard, nullptr, line);
  rt.fetch_proxy = std::move(env);
}

}  // namespace

PluginHost::PluginHost(PluginHostEnv env) : rt_(std::make_unique<PluginRuntime>()) {
  rt_->env = std::move(env);
  rt_->shards = rt_->env.engine->config().shards;
  rt_->fetch.resize(rt_->shards);
  rt_->api = host_api();
  if (rt_->env.log == nullptr) {
    rt_->own_log = std::make_unique<obs::Logger>(obs::LogOptions{});
    rt_->log = rt_->own_log.get();
  } else {
    rt_->log = rt_->env.log;
  }
  rt_->auth = std::make_unique<PluginAuth>(rt_->shards);
}

PluginHost::~PluginHost() {
  destroy_plugins();
  for (auto it = rt_->plugins.rbegin(); it != rt_->plugins.rend(); ++it) {
    // Whatever still points into the plugin's code or data goes first.
    (*it)->config.reset();
    unload_plugin((*it)->lib);
  }
}

bool PluginHost::start(std::string& error) {
  PluginRuntime& rt = *rt_;
  if (!load_all(rt, error) || !validate_all(rt, error)) return false;
  read_fetch_proxy(rt);
  for (auto& h : rt.plugins) {
    char buf[kErrorSize] = {};
    int rc = 0;
    h->initialising = true;
    try {
      rc = h->lib.desc->init(h.get(), rt.api, h->config.get(), &h->state, buf, sizeof buf);
    } catch (...) {
      rc = 1;
      std::snprintf(buf, sizeof buf, "init() threw: %s", exception_text().c_str());
    }
    h->initialising = false;
    if (rc != 0) {
      error = who(*h) + ": init failed: " + c_error(buf);
      return false;
    }
    h->inited = true;
    if (!h->registration_error.empty()) {
      error = who(*h) + ": " + h->registration_error;
      return false;
    }
    rt.log_line(obs::LogLevel::kInfo, obs::kMainShard, h.get(),
                "version " + h->version + " (" + h->lib.origin + ") started");
  }
  if (!rt.auth->configure(*rt.env.options, &rt.notes, error)) return false;
  for (const std::string& note : rt.notes) rt.log_line(obs::LogLevel::kWarn, obs::kMainShard, nullptr, note);
  return true;
}

void PluginHost::shard_started(engine::Shard& shard) {
  for (auto& h : rt_->plugins) {
    rs_shard* s = h->shards[shard.index()].get();
    s->thread = std::this_thread::get_id();
    flush_pending(s, &shard);
  }
  for (auto& h : rt_->plugins) {
    if (h->lib.desc->shard_start == nullptr) continue;
    try {
      h->lib.desc->shard_start(h->state, h->shards[shard.index()].get());
    } catch (...) {
      rt_->failure(h.get(), static_cast<int>(shard.index()), "shard_start",
                   "threw: " + exception_text());
    }
  }
}

void PluginHost::shard_draining(engine::Shard& shard) {
  for (auto& h : rt_->plugins) {
    const rs_plugin_v1* d = h->lib.desc;
    if (d->struct_size < offsetof(rs_plugin_v1, shard_drain) + sizeof(d->shard_drain) ||
        d->shard_drain == nullptr) {
      continue;
    }
    try {
      d->shard_drain(h->state, h->shards[shard.index()].get());
    } catch (...) {
      rt_->failure(h.get(), static_cast<int>(shard.index()), "shard_drain",
                   "threw: " + exception_text());
    }
  }
}

void PluginHost::shard_stopped(engine::Shard& shard) {
  // Fetches still out are answered ("shutdown") before any shard_stop.
  stop_fetches(*rt_, shard.index());
  for (auto it = rt_->plugins.rbegin(); it != rt_->plugins.rend(); ++it) {
    rs_host* h = it->get();
    rs_shard* s = h->shards[shard.index()].get();
    // The plugin may still cancel its own timers here (their handles are
    // valid until then); whatever it leaves armed is cancelled after.
    if (h->lib.desc->shard_stop != nullptr) {
      try {
        h->lib.desc->shard_stop(h->state, s);
      } catch (...) {
        rt_->failure(h, static_cast<int>(shard.index()), "shard_stop",
                     "threw: " + exception_text());
      }
    }
    cancel_timers(s);
    s->stopped.store(true, std::memory_order_release);
  }
}

void PluginHost::destroy_plugins() {
  if (rt_->destroyed) return;
  rt_->destroyed = true;
  for (auto it = rt_->plugins.rbegin(); it != rt_->plugins.rend(); ++it) {
    rs_host* h = it->get();
    // Shards that never ran: what was posted to them is cancelled now.
    for (auto& s : h->shards) {
      s->stopped.store(true, std::memory_order_release);
      bool bound = false;
      {
        std::lock_guard lock(s->pending_mu);
        bound = s->bound;
      }
      if (!bound) flush_pending(s.get(), nullptr);
    }
    if (!h->inited || h->destroyed) continue;
    h->destroyed = true;
    if (h->lib.desc->destroy == nullptr) continue;
    try {
      h->lib.desc->destroy(h->state);
    } catch (...) {
      rt_->log_line(obs::LogLevel::kError, obs::kMainShard, h,
                    "destroy() threw: " + exception_text());
    }
  }
}

std::string PluginHost::not_ready() const {
  for (const auto& h : rt_->plugins) {
    if (!h->ready.load(std::memory_order_relaxed)) return "plugin " + h->name + " is not ready";
  }
  return "";
}

void PluginHost::write_metrics(obs::PrometheusWriter& w) const {
  if (rt_->plugins.empty()) return;
  w.family("ringshard_plugin_handler_failures_total", obs::MetricType::kCounter,
           "plugin callbacks that failed (a handler or middleware answered 500, a WebSocket "
           "closed 1011, a timer, task or listener that threw), by plugin");
  for (const auto& h : rt_->plugins) {
    w.sample({{"plugin", h->name}}, h->failures.load(std::memory_order_relaxed));
  }
  w.family("ringshard_plugin_ready", obs::MetricType::kGauge,
           "1 while the plugin says it is ready (set_ready), by plugin");
  for (const auto& h : rt_->plugins) {
    w.sample({{"plugin", h->name}}, uint64_t{h->ready.load(std::memory_order_relaxed) ? 1u : 0u});
  }
  bool limits = false;
  for (const auto& h : rt_->plugins) limits = limits || !h->limits.empty();
  if (limits) {
    w.family("ringshard_plugin_rate_limit_decisions_total", obs::MetricType::kCounter,
             "decisions of the rate limits plugins declared, by plugin, limit and result");
    for (const auto& h : rt_->plugins) {
      for (const auto& [name, m] : h->limits) {
        w.sample({{"plugin", h->name}, {"limit", name}, {"result", "admitted"}}, m->admitted(0));
        w.sample({{"plugin", h->name}, {"limit", name}, {"result", "refused"}}, m->refused(0));
      }
    }
  }
  for (const auto& m : rt_->metrics) {
    w.family(m->name,
             m->kind == RS_METRIC_GAUGE ? obs::MetricType::kGauge : obs::MetricType::kCounter,
             m->help);
    int64_t sum = 0;
    for (unsigned i = 0; i <= m->shards; ++i) sum += m->slots[i].v.load(std::memory_order_relaxed);
    w.sample({}, sum);
  }
}

bool PluginHost::reload_credentials(const Options& next, std::string& error) {
  if (rt_->plugins.empty()) return true;
  std::vector<std::string> notes;
  if (!rt_->auth->configure(next, &notes, error)) return false;
  for (const std::string& note : notes) rt_->log_line(obs::LogLevel::kWarn, obs::kMainShard, nullptr, note);
  return true;
}

size_t PluginHost::plugin_count() const { return rt_->plugins.size(); }
const std::vector<std::string>& PluginHost::notes() const { return rt_->notes; }

uint64_t PluginHost::failures(std::string_view name) const {
  for (const auto& h : rt_->plugins) {
    if (h->name == name) return h->failures.load(std::memory_order_relaxed);
  }
  return 0;
}

bool check_plugins(const Options& options, std::vector<std::string>& lines, std::string& error) {
  // The engine is only asked for its shard count and clock: never started.
  engine::EngineConfig ec;
  ec.shards = options.shards;
  ec.listen = false;
  engine::Engine engine(std::move(ec));
  obs::Logger quiet(obs::LogOptions{.min_level = obs::LogLevel::kError});
  http::Router router;
  ws::WsServer ws(engine.config().shards, ws::WsConfig{});
  PluginHostEnv env;
  env.options = &options;
  env.router = &router;
  env.ws = &ws;
  env.engine = &engine;
  env.log = &quiet;
  env.add_middleware = [](const http::Middleware*) {};
  PluginHost host(std::move(env));
  PluginRuntime& rt = *host.rt_;
  if (!load_all(rt, error) || !validate_all(rt, error)) return false;
  for (const auto& h : rt.plugins) {
    bool has_section = false;
    for (const PluginSection& s : options.plugin_sections) has_section = has_section || s.name == h->name;
    lines.push_back("plugin " + h->name + " " + h->version + " (" + h->lib.origin + "): " +
                    (has_section ? "[plugins." + h->name + "] OK" : "no [plugins." + h->name +
                                                                        "] section, defaults OK"));
  }
  return true;
}

}  // namespace ringshard::server
