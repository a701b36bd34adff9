// server/plugin_api.cc: the rs_host_api function table, and its members
// about the environment, shards, tasks, timers, metrics and failures (the
// HTTP ones are in plugin_http.cc, the WebSocket ones in plugin_ws.cc).
//
// Every member checks what a plugin could get wrong cheaply (null handles,
// the wrong phase, the wrong thread for timers) and refuses instead of
// crashing; what it cannot check (a handle used after it was freed) is the
// plugin's contract in plugin.h.
#include <exception>

#include "engine/engine.h"
#include "server/plugin_config.h"
#include "server/plugin_internal.h"

namespace ringshard::server {

namespace {

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// --- environment -------------------------------------------------------------

rs_str api_data_dir(const rs_host* h) { return rs(h->rt->env.options->data_dir); }
rs_str api_server_version(const rs_host* h) { return rs(h->rt->env.version); }
unsigned api_shard_count(const rs_host* h) { return h->rt->shards; }

void api_log(rs_host* h, rs_log_level level, rs_str message) {
  if (h == nullptr) return;
  obs::LogLevel l = obs::LogLevel::kInfo;
  switch (level) {
    case RS_LOG_DEBUG: l = obs::LogLevel::kDebug; break;
    case RS_LOG_INFO: l = obs::LogLevel::kInfo; break;
    case RS_LOG_WARN: l = obs::LogLevel::kWarn; break;
    case RS_LOG_ERROR: l = obs::LogLevel::kError; break;
  }
  h->rt->log_line(l, obs::kMainShard, h, sv(message));
}

void api_set_ready(rs_host* h, int ready) {
  if (h != nullptr) h->ready.store(ready != 0, std::memory_order_relaxed);
}

void api_callback_failed(rs_host* h, const rs_shard* s, rs_str callback, rs_str message) {
  if (h == nullptr && s != nullptr) h = s->plugin;
  if (h == nullptr) return;
  h->rt->failure(h, s != nullptr ? static_cast<int>(s->index) : -1, sv(callback), sv(message));
}

// --- shards ------------------------------------------------------------------

rs_shard* api_shard(rs_host* h, unsigned index) {
  if (h == nullptr || index >= h->shards.size()) return nullptr;
  return h->shards[index].get();
}

unsigned api_shard_index(const rs_shard* s) { return s->index; }
void* api_shard_user(const rs_shard* s) { return s->user; }
void api_shard_set_user(rs_shard* s, void* user) { s->user = user; }

uint64_t api_now_ms(const rs_shard* s) {
  if (const engine::Shard* shard = s->shard.load(std::memory_order_acquire)) return shard->now_ms();
  return s->plugin->rt->env.engine->clock().now_ms();
}

// --- tasks -------------------------------------------------------------------

void run_task(engine::ShardTask* self, engine::Shard* shard) {
  std::unique_ptr<PluginTask> task(static_cast<PluginTask*>(self));
  rs_shard* s = task->shard;
  try {
    task->fn(task->user, shard != nullptr ? s : nullptr);
  } catch (...) {
    const std::string why = [] {
      try {
        throw;
      } catch (const std::exception& e) {
        return std::string(e.what());
      } catch (...) {
        return std::string("unknown exception");
      }
    }();
    s->plugin->rt->failure(s->plugin, shard != nullptr ? static_cast<int>(s->index) : -1,
                           "posted task", "threw: " + why);
  }
}

int api_post(rs_shard* s, rs_task_fn fn, void* user) {
  if (s == nullptr || fn == nullptr) return -1;
  if (s->stopped.load(std::memory_order_acquire)) {
    fn(user, nullptr);
    return -1;
  }
  auto* task = new PluginTask;
  task->run = &run_task;
  task->fn = fn;
  task->user = user;
  task->shard = s;
  engine::Shard* shard = s->shard.load(std::memory_order_acquire);
  if (shard == nullptr) {
    std::unique_lock lock(s->pending_mu);
    if (!s->bound) {
      s->pending.push_back(task);
      return 0;
    }
    shard = s->shard.load(std::memory_order_acquire);
    if (shard == nullptr) {  // bound to nothing: the shard never ran
      lock.unlock();
      delete task;
      fn(user, nullptr);
      return -1;
    }
  }
  shard->post_task(task);
  return 0;
}

// --- timers ------------------------------------------------------------------

void unlink_timer(rs_timer* t) {
  rs_shard* s = t->shard;
  if (t->prev != nullptr) t->prev->next = t->next;
  if (t->next != nullptr) t->next->prev = t->prev;
  if (s->timers == t) s->timers = t->next;
  t->prev = t->next = nullptr;
}

void timer_fired(engine::TimerEntry& e) {
  auto* t = static_cast<rs_timer*>(e.context);
  unlink_timer(t);
  std::unique_ptr<rs_timer> owned(t);
  rs_shard* s = t->shard;
  try {
    t->fn(t->user, s);
  } catch (...) {
    s->plugin->rt->failure(s->plugin, static_cast<int>(s->index), "timer", "threw");
  }
}

}  // namespace

bool on_shard_thread(const rs_shard* s) {
  return s->shard.load(std::memory_order_acquire) != nullptr &&
         !s->stopped.load(std::memory_order_acquire) && s->thread == std::this_thread::get_id();
}

namespace {

rs_timer* api_timer_start(rs_shard* s, uint64_t delay_ms, rs_timer_fn fn, void* user) {
  if (s == nullptr || fn == nullptr) return nullptr;
  if (!on_shard_thread(s)) {
    s->plugin->rt->log_line(obs::LogLevel::kError, -1, s->plugin,
                            "timer_start off its shard's thread (or after shard_stop): refused");
    fn(user, nullptr);
    return nullptr;
  }
  auto* t = new rs_timer;
  t->fn = fn;
  t->user = user;
  t->shard = s;
  t->entry.callback = &timer_fired;
  t->entry.context = t;
  t->next = s->timers;
  if (s->timers != nullptr) s->timers->prev = t;
  s->timers = t;
  engine::Shard& shard = *s->shard.load(std::memory_order_relaxed);
  shard.timers().arm(t->entry, shard.now_ms() + delay_ms);
  return t;
}

void api_timer_cancel(rs_timer* t) {
  if (t == nullptr) return;
  rs_shard* s = t->shard;
  if (engine::Shard* shard = s->shard.load(std::memory_order_relaxed)) shard->timers().disarm(t->entry);
  unlink_timer(t);
  std::unique_ptr<rs_timer> owned(t);
  try {
    t->fn(t->user, nullptr);
  } catch (...) {
    s->plugin->rt->failure(s->plugin, static_cast<int>(s->index), "timer (cancelled)", "threw");
  }
}

// --- metrics -----------------------------------------------------------------

rs_metric* api_add_metric(rs_host* h, const char* name, const char* help, rs_metric_kind kind) {
  if (h == nullptr || !h->initialising) return nullptr;
  const std::string n = name != nullptr ? name : "";
  if (!valid_metric_name(n) || (kind != RS_METRIC_COUNTER && kind != RS_METRIC_GAUGE)) {
    h->rt->refuse(h, "add_metric '" + n.substr(0, 100) +
                         "': invalid name ([a-zA-Z_:][a-zA-Z0-9_:]*) or kind");
    return nullptr;
  }
  // The families the plugin host writes itself (by plugin).
  if (n.starts_with("ringshard_plugin_")) {
    h->rt->refuse(h, "add_metric '" + n + "': the ringshard_plugin_ prefix is the host's");
    return nullptr;
  }
  for (const auto& m : h->rt->metrics) {
    if (m->name == n) {
      h->rt->refuse(h, "add_metric '" + n + "': the name is taken (by plugin " + m->plugin + ")");
      return nullptr;
    }
  }
  auto m = std::make_unique<rs_metric>();
  m->name = n;
  m->help = help != nullptr ? help : "";
  m->kind = kind;
  m->plugin = h->name;
  m->shards = h->rt->shards;
  m->slots = std::make_unique<rs_metric::Slot[]>(m->shards + 1);
  rs_metric* out = m.get();
  h->rt->metrics.push_back(std::move(m));
  return out;
}

void api_metric_add(rs_metric* m, const rs_shard* s, int64_t delta) {
  if (m == nullptr) return;
  if (s == nullptr || s->index >= m->shards) {
    m->slots[m->shards].v.fetch_add(delta, std::memory_order_relaxed);
    return;
  }
  std::atomic<int64_t>& v = m->slots[s->index].v;
  v.store(v.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

void api_metric_set(rs_metric* m, const rs_shard* s, int64_t value) {
  if (m == nullptr) return;
  const unsigned slot = s == nullptr || s->index >= m->shards ? m->shards : s->index;
  m->slots[slot].v.store(value, std::memory_order_relaxed);
}

const rs_host_api kApi = [] {
  rs_host_api a{};
  a.struct_size = sizeof(rs_host_api);
  a.abi_version = RS_PLUGIN_ABI_VERSION;
  a.config_string = &plugin_config_string;
  a.config_int = &plugin_config_int;
  a.config_double = &plugin_config_double;
  a.config_bool = &plugin_config_bool;
  a.config_key = &plugin_config_key;
  a.add_route = &api_add_route;
  a.add_websocket = &api_add_websocket;
  a.add_middleware = &api_add_middleware;
  a.add_rate_limit = &api_add_rate_limit;
  a.add_metric = &api_add_metric;
  a.data_dir = &api_data_dir;
  a.server_version = &api_server_version;
  a.shard_count = &api_shard_count;
  a.log = &api_log;
  a.set_ready = &api_set_ready;
  a.shard = &api_shard;
  a.shard_index = &api_shard_index;
  a.shard_user = &api_shard_user;
  a.shard_set_user = &api_shard_set_user;
  a.now_ms = &api_now_ms;
  a.post = &api_post;
  a.timer_start = &api_timer_start;
  a.timer_cancel = &api_timer_cancel;
  a.metric_add = &api_metric_add;
  a.metric_set = &api_metric_set;
  fill_http_api(a);
  fill_ws_api(a);
  fill_fetch_api(a);
  a.add_topic_listener = &api_add_topic_listener;
  a.callback_failed = &api_callback_failed;
  return a;
}();

}  // namespace

const rs_host_api* host_api() { return &kApi; }

void cancel_timers(rs_shard* s) {
  while (s->timers != nullptr) api_timer_cancel(s->timers);
}

void flush_pending(rs_shard* s, engine::Shard* shard) {
  std::vector<PluginTask*> tasks;
  {
    std::lock_guard lock(s->pending_mu);
    s->bound = true;
    if (shard != nullptr) s->shard.store(shard, std::memory_order_release);
    tasks.swap(s->pending);
  }
  for (PluginTask* t : tasks) {
    if (shard != nullptr) {
      shard->post_task(t);
    } else {
      t->run(t, nullptr);
    }
  }
}

}  // namespace ringshard::server
