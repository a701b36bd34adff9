// ringshard/plugin.hpp: a thin C++20 layer over the C ABI of
// ringshard/plugin.h. Nothing here crosses the ABI but C types: the
// wrappers are views of the host's handles, and callbacks are C
// trampolines that catch every exception (a handler that throws becomes a
// 500 with the standard error body, a log line and a metric).
//
//   class Hello final : public ringshard::plugin::Plugin {
//    public:
//     void init(ringshard::plugin::Host& host, const ringshard::plugin::Config& cfg) override {
//       greeting_ = std::string(cfg.string("greeting").value_or("Hello"));
//       host.route("GET", "/hello/{name}", [this](Request& req, Response& res) {
//         res.send(200, "text/plain", greeting_ + ", " + std::string(req.param("name")));
//       });
//     }
//    private:
//     std::string greeting_;
//   };
//   RINGSHARD_PLUGIN(Hello, "hello", "1.0.0")
//
// RINGSHARD_PLUGIN defines the exported ringshard_plugin_v1 entry point;
// RINGSHARD_PLUGIN_AS(Type, NAME, VERSION, fn) defines the same entry
// under another, hidden name, for a plugin linked into the binary (a
// built-in plugin, see server/builtin_plugins.h). Link the
// ringshard_plugin library (CMake: ringshard::plugin) into the plugin.
// Exceptions thrown by the constructor, init() or validate() become a
// startup error naming the plugin (exit 78); thrown by a handler or a
// middleware's before(), a 500; thrown by any other callback, a log line
// and a failure count (a WebSocket callback also closes its socket, 1011).
//
// Threads: as plugin.h. Handlers, WebSocket callbacks, timers and posted
// tasks run on shard threads, possibly several at once: per-shard state
// belongs in Shard::user(), never in unguarded members.
#pragma once

#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <vector>

#include "ringshard/plugin.h"

namespace ringshard::plugin {

inline rs_str to_rs(std::string_view s) { return rs_str{s.data(), s.size()}; }
inline std::string_view to_sv(rs_str s) { return {s.data, s.size}; }

class Config {
 public:
  Config(const rs_host_api* api, const rs_config* cfg) : api_(api), cfg_(cfg) {}
  // Absent: nullopt. Present with another type: throws std::invalid_argument
  // naming the key.
  std::optional<std::string_view> string(const char* key) const {
    rs_str out{};
    return get(api_->config_string(cfg_, key, &out), key, "a string") ? std::optional(to_sv(out))
                                                                      : std::nullopt;
  }
  std::optional<int64_t> integer(const char* key) const {
    int64_t out = 0;
    return get(api_->config_int(cfg_, key, &out), key, "an integer") ? std::optional(out)
                                                                     : std::nullopt;
  }
  std::optional<double> number(const char* key) const {
    double out = 0;
    return get(api_->config_double(cfg_, key, &out), key, "a number") ? std::optional(out)
                                                                      : std::nullopt;
  }
  std::optional<bool> boolean(const char* key) const {
    int out = 0;
    return get(api_->config_bool(cfg_, key, &out), key, "a boolean") ? std::optional(out != 0)
                                                                     : std::nullopt;
  }
  // The keys of the table at `table` ("" for the section itself).
  std::vector<std::string_view> keys(const char* table = "") const {
    std::vector<std::string_view> out;
    rs_str k{};
    for (size_t i = 0; api_->config_key(cfg_, table, i, &k) == 1; ++i) out.push_back(to_sv(k));
    return out;
  }
  const rs_config* raw() const { return cfg_; }

 private:
  static bool get(int rc, const char* key, const char* type) {
    if (rc < 0) throw std::invalid_argument(std::string(key) + " must be " + type);
    return rc == 1;
  }
  const rs_host_api* api_;
  const rs_config* cfg_;
};

// An outbound request (Shard::fetch): rs_host_api::http_fetch in C++.
struct HttpRequest {
  std::string method = "GET";
  std::string url;  // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  uint32_t max_body = 0;  // response bytes kept; 0: 8 MiB
  uint32_t timeout_ms = 0;  // the whole fetch, retries included; 0: 60 s
};

// Its outcome. Views, valid during the callback only.
struct HttpResponse {
  uint16_t status = 0;  // 0 on a failure
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;
  std::string_view error;   // empty on success; see rs_http_response
  std::string_view detail;  // for logs
  bool ok() const { return error.empty(); }
  // The first field named `name` (case-insensitive); empty when absent.
  std::string_view header(std::string_view name) const;
};

class Shard {
 public:
  Shard(const rs_host_api* api, rs_shard* s) : api_(api), s_(s) {}
  unsigned index() const { return api_->shard_index(s_); }
  void* user() const { return api_->shard_user(s_); }
  template <typename T>
  T* user_as() const { return static_cast<T*>(user()); }
  void set_user(void* p) { api_->shard_set_user(s_, p); }
  uint64_t now_ms() const { return api_->now_ms(s_); }
  // Any thread: runs `fn` on this shard. `fn` gets a null Shard* when the
  // server stopped first (release only). False in that case (`fn` has run).
  bool post(std::function<void(Shard*)> fn) const {
    auto* box = new TaskBox{api_, std::move(fn)};
    return api_->post(s_, &Shard::run_task, box) == 0;
  }
  // This shard's thread: `fn` once after delay_ms; returns a handle for
  // cancel() valid until it fires. A cancelled timer's `fn` is destroyed
  // without running (so is that of a timer still armed when the shard
  // stops). Null when the host refused (off the shard's thread).
  rs_timer* after(uint64_t delay_ms, std::function<void(Shard&)> fn) const {
    auto* box = new TimerBox{api_, std::move(fn)};
    return api_->timer_start(s_, delay_ms, &Shard::run_timer, box);
  }
  void cancel(rs_timer* t) const { api_->timer_cancel(t); }
  // This shard's thread: sends `request` with the shard's pooled HTTP
  // client; `fn` runs later on this shard exactly once, with the response
  // or the failure ("shutdown" when the shard stops first). False when
  // refused at once (a bad URL, off the shard's thread, a host without
  // http_fetch): `fn` never runs, and the host logged why.
  bool fetch(const HttpRequest& request,
             std::function<void(Shard&, const HttpResponse&)> fn) const;
  void publish(std::string_view topic, std::string_view message, bool text = true) const {
    api_->publish(s_, to_rs(topic), to_rs(message), text ? 1 : 0);
  }
  void metric_add(rs_metric* m, int64_t d) const { api_->metric_add(m, s_, d); }
  void metric_set(rs_metric* m, int64_t v) const { api_->metric_set(m, s_, v); }
  rs_shard* raw() const { return s_; }
  const rs_host_api* api() const { return api_; }

 private:
  struct TaskBox {
    const rs_host_api* api;
    std::function<void(Shard*)> fn;
  };
  struct TimerBox {
    const rs_host_api* api;
    std::function<void(Shard&)> fn;
  };
  struct FetchBox {
    const rs_host_api* api;
    std::function<void(Shard&, const HttpResponse&)> fn;
  };
  static void run_fetch(void* user, rs_shard* s, const rs_http_response* r);
  static void run_task(void* user, rs_shard* s);
  static void run_timer(void* user, rs_shard* s);
  const rs_host_api* api_;
  rs_shard* s_;
};

class Request {
 public:
  Request(const rs_host_api* api, rs_request* r) : api_(api), r_(r) {}
  std::string_view method() const { return to_sv(api_->method(r_)); }
  std::string_view path() const { return to_sv(api_->path(r_)); }
  std::string_view query() const { return to_sv(api_->query(r_)); }
  std::string_view header(std::string_view name) const {
    return to_sv(api_->header(r_, to_rs(name)));
  }
  size_t header_count(std::string_view name) const { return api_->header_count(r_, to_rs(name)); }
  std::string_view body() const { return to_sv(api_->body(r_)); }
  std::string_view param(std::string_view name) const {
    return to_sv(api_->param(r_, to_rs(name)));
  }
  std::string_view route_pattern() const { return to_sv(api_->route_pattern(r_)); }
  std::string_view request_id() const { return to_sv(api_->request_id(r_)); }
  bool has_scope(const char* scope) const { return api_->has_scope(r_, scope) != 0; }
  std::string_view principal() const { return to_sv(api_->principal(r_)); }
  bool tls() const { return api_->is_tls(r_) != 0; }
  Shard shard() const { return Shard(api_, api_->request_shard(r_)); }
  rs_request* raw() const { return r_; }

 private:
  const rs_host_api* api_;
  rs_request* r_;
};

// A deferred answer (Response::defer): movable, sends or releases once, on
// the request's shard thread. Dropping it unsent releases it: the client
// then gets 500 at once (see async_release in plugin.h).
class Async {
 public:
  using AbortFn = std::function<void(rs_abort_reason)>;
  Async() = default;
  Async(const rs_host_api* api, rs_async* a, std::unique_ptr<AbortFn> on_abort = nullptr)
      : api_(api), a_(a), on_abort_(std::move(on_abort)) {}
  Async(Async&& o) noexcept
      : api_(o.api_), a_(std::exchange(o.a_, nullptr)), on_abort_(std::move(o.on_abort_)) {}
  Async& operator=(Async&& o) noexcept {
    if (this != &o) {
      release();
      api_ = o.api_;
      a_ = std::exchange(o.a_, nullptr);
      on_abort_ = std::move(o.on_abort_);
    }
    return *this;
  }
  ~Async() { release(); }
  Async& header(std::string_view name, std::string_view value) {
    if (a_ != nullptr) api_->async_header(a_, to_rs(name), to_rs(value));
    return *this;
  }
  // False when the request is gone (timed out or closed). Either way the
  // handle is spent.
  bool send(uint16_t status, std::string_view content_type, std::string_view body) {
    if (a_ == nullptr) return false;
    const bool ok = api_->async_send(std::exchange(a_, nullptr), status, to_rs(content_type),
                                     to_rs(body)) == 0;
    on_abort_.reset();  // the host calls it no more
    return ok;
  }
  void release() {
    if (a_ != nullptr) api_->async_release(std::exchange(a_, nullptr));
    on_abort_.reset();
  }
  explicit operator bool() const { return a_ != nullptr; }

 private:
  const rs_host_api* api_ = nullptr;
  rs_async* a_ = nullptr;
  // What Response::defer's on_abort trampoline calls; owned here because
  // the host may call it until send() or release().
  std::unique_ptr<AbortFn> on_abort_;
};

class Response {
 public:
  Response(const rs_host_api* api, rs_response* r) : api_(api), r_(r) {}
  Response& header(std::string_view name, std::string_view value) {
    api_->header_add(r_, to_rs(name), to_rs(value));
    return *this;
  }
  void send(uint16_t status, std::string_view content_type, std::string_view body) {
    api_->send(r_, status, to_rs(content_type), to_rs(body));
  }
  void send_error(uint16_t status, std::string_view message) {
    api_->send_error(r_, status, to_rs(message));
  }
  bool sent() const { return api_->sent(r_) != 0; }
  // `on_abort` runs at most once on the shard (timeout: the client got
  // 504; closed); the Async must still be sent or dropped.
  Async defer(uint32_t timeout_ms = 0, std::function<void(rs_abort_reason)> on_abort = {});
  rs_response* raw() const { return r_; }

 private:
  const rs_host_api* api_;
  rs_response* r_;
};

class WebSocket {
 public:
  WebSocket(const rs_host_api* api, rs_websocket* ws) : api_(api), ws_(ws) {}
  rs_send_status send(std::string_view m, bool text = true) {
    return api_->ws_send(ws_, to_rs(m), text ? 1 : 0);
  }
  void close(uint16_t code, std::string_view reason = {}) {
    api_->ws_close(ws_, code, to_rs(reason));
  }
  void* user() const { return api_->ws_user(ws_); }
  template <typename T>
  T* user_as() const { return static_cast<T*>(user()); }
  void set_user(void* p) { api_->ws_set_user(ws_, p); }
  Shard shard() const { return Shard(api_, api_->ws_shard(ws_)); }
  uint64_t handle() const { return api_->ws_handle(ws_); }
  size_t buffered() const { return api_->ws_buffered(ws_); }
  bool subscribe(std::string_view topic) { return api_->ws_subscribe(ws_, to_rs(topic)) != 0; }
  bool unsubscribe(std::string_view topic) {
    return api_->ws_unsubscribe(ws_, to_rs(topic)) != 0;
  }
  rs_websocket* raw() const { return ws_; }

 private:
  const rs_host_api* api_;
  rs_websocket* ws_;
};

class Upgrade {
 public:
  Upgrade(const rs_host_api* api, rs_upgrade* d) : api_(api), d_(d) {}
  void refuse(uint16_t status, std::string_view message) {
    api_->upgrade_refuse(d_, status, to_rs(message));
  }
  void set_user(void* p) { api_->upgrade_set_user(d_, p); }

 private:
  const rs_host_api* api_;
  rs_upgrade* d_;
};

// A WebSocket endpoint. One object serves every shard: callbacks may run
// concurrently; keep per-connection state in WebSocket::user().
class WsEndpoint {
 public:
  virtual ~WsEndpoint() = default;
  virtual void on_upgrade(Request& /*req*/, Upgrade& /*decision*/) {}
  virtual void on_open(WebSocket& /*ws*/) {}
  virtual void on_message(WebSocket& ws, std::string_view message, bool text) = 0;
  virtual void on_writable(WebSocket& /*ws*/) {}
  virtual void on_close(WebSocket& /*ws*/, uint16_t /*code*/, std::string_view /*reason*/) {}
};

// Middleware over every request of the main listener.
class Middleware {
 public:
  virtual ~Middleware() = default;
  // True to go on; false after answering through `res`.
  virtual bool before(Request& /*req*/, Response& /*res*/) { return true; }
  virtual void on_response(Request* /*req*/, Response& /*res*/, uint16_t /*status*/) {}
};

using Handler = std::function<void(Request&, Response&)>;

namespace detail {
struct HostBoxes;  // what the trampolines point at (defined in the SDK)
}  // namespace detail

struct RouteOptions {
  uint64_t max_body = 0;
  const char* scope = nullptr;
  const char* rate_limit = nullptr;
  int64_t deprecated_at = 0;
  int64_t sunset_at = 0;
  const char* deprecation_link = nullptr;
};

// Registration and environment, valid from init() to destroy.
class Host {
 public:
  Host(rs_host* h, const rs_host_api* api);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;
  // Each throws std::runtime_error when the host refuses (bad pattern, an
  // unknown rate limit, a name taken...).
  void route(const char* method, const char* pattern, Handler fn, RouteOptions o = {});
  void websocket(const char* pattern, std::shared_ptr<WsEndpoint> ep, RouteOptions o = {});
  void middleware(std::shared_ptr<Middleware> m);
  // `fn` runs on every shard for each message published to `topic`.
  void topic_listener(const char* topic,
                      std::function<void(Shard&, std::string_view message)> fn);
  // Declare before the routes that name it.
  void rate_limit(const char* name, const char* key, uint64_t burst, double per_second);
  rs_metric* metric(const char* name, const char* help,
                    rs_metric_kind kind = RS_METRIC_COUNTER);
  std::string_view data_dir() const { return to_sv(api_->data_dir(h_)); }
  std::string_view server_version() const { return to_sv(api_->server_version(h_)); }
  unsigned shard_count() const { return api_->shard_count(h_); }
  Shard shard(unsigned i) const { return Shard(api_, api_->shard(h_, i)); }
  void log(rs_log_level level, std::string_view message) const {
    api_->log(h_, level, to_rs(message));
  }
  void set_ready(bool ready) const { api_->set_ready(h_, ready ? 1 : 0); }
  rs_host* raw() const { return h_; }
  const rs_host_api* api() const { return api_; }

 private:
  rs_host* h_;
  const rs_host_api* api_;
  // What the trampolines point at; lives as long as the plugin.
  std::unique_ptr<detail::HostBoxes> boxes_;
};

// A plugin: derive, override, and name it with RINGSHARD_PLUGIN.
class Plugin {
 public:
  virtual ~Plugin() = default;
  // Throw std::invalid_argument (or any exception) for a bad section.
  virtual void validate(const Config& /*config*/) {}
  virtual void init(Host& host, const Config& config) = 0;
  virtual void shard_start(Shard& /*shard*/) {}
  virtual void shard_stop(Shard& /*shard*/) {}
  // SIGTERM: the shard starts draining; answer long-polls now.
  virtual void shard_drain(Shard& /*shard*/) {}
};

// The glue between a Plugin subclass and the C descriptor (used by
// RINGSHARD_PLUGIN; defined in the ringshard_plugin library). `make`
// constructs the plugin inside the glue's try block, so that a throwing
// constructor is a startup error too.
class PluginGlue {
 public:
  using Factory = std::unique_ptr<Plugin> (*)();
  static int validate(Factory make, const rs_host_api* api, const rs_config* cfg, char* error,
                      size_t size);
  // Owns the plugin it makes; *state gets the glue's own state.
  static int init(Factory make, rs_host* host, const rs_host_api* api, const rs_config* cfg,
                  void** state, char* error, size_t size);
  static void shard_start(void* state, rs_shard* s);
  static void shard_stop(void* state, rs_shard* s);
  static void shard_drain(void* state, rs_shard* s);
  static void destroy(void* state);
};

}  // namespace ringshard::plugin

// Defines the plugin's entry point. `Type` must be default-constructible.
#define RINGSHARD_PLUGIN(Type, NAME, VERSION)                                  \
  RINGSHARD_PLUGIN_DESCRIPTOR_(Type, NAME, VERSION, ringshard_plugin_v1,       \
                               __attribute__((visibility("default"))))
// The same entry under the name `Fn`, not exported: a built-in plugin.
#define RINGSHARD_PLUGIN_AS(Type, NAME, VERSION, Fn)                           \
  RINGSHARD_PLUGIN_DESCRIPTOR_(Type, NAME, VERSION, Fn, __attribute__((visibility("hidden"))))

#define RINGSHARD_PLUGIN_DESCRIPTOR_(Type, NAME, VERSION, Fn, VISIBILITY)                   \
  extern "C" VISIBILITY const rs_plugin_v1* Fn(uint32_t host_abi_version) {                 \
    if (host_abi_version != RS_PLUGIN_ABI_VERSION) return nullptr;                           \
    static const rs_plugin_v1 descriptor = {                                                 \
        sizeof(rs_plugin_v1),                                                                \
        RS_PLUGIN_ABI_VERSION,                                                               \
        NAME,                                                                                \
        VERSION,                                                                             \
        [](const rs_host_api* api, const rs_config* cfg, char* error, size_t size) {         \
          return ::ringshard::plugin::PluginGlue::validate(                                  \
              []() -> std::unique_ptr<::ringshard::plugin::Plugin> {                         \
                return std::make_unique<Type>();                                             \
              },                                                                             \
              api, cfg, error, size);                                                        \
        },                                                                                   \
        [](rs_host* host, const rs_host_api* api, const rs_config* cfg, void** state,        \
           char* error, size_t size) {                                                       \
          return ::ringshard::plugin::PluginGlue::init(                                      \
              []() -> std::unique_ptr<::ringshard::plugin::Plugin> {                         \
                return std::make_unique<Type>();                                             \
              },                                                                             \
              host, api, cfg, state, error, size);                                           \
        },                                                                                   \
        &::ringshard::plugin::PluginGlue::shard_start,                                       \
        &::ringshard::plugin::PluginGlue::shard_stop,                                        \
        &::ringshard::plugin::PluginGlue::destroy,                                           \
        &::ringshard::plugin::PluginGlue::shard_drain,                                       \
    };                                                                                       \
    return &descriptor;                                                                      \
  }
