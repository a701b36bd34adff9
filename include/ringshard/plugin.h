/* ringshard/plugin.h: the C ABI between ringshard and its plugins.
 *
 * A plugin is a shared object (or a library linked into the binary) that
 * exports one function:
 *
 *   const rs_plugin_v1* ringshard_plugin_v1(uint32_t host_abi_version);
 *
 * It returns a static descriptor (name, version, callbacks) or NULL when it
 * cannot serve a host of that ABI version. The host refuses a descriptor
 * whose abi_version differs from RS_PLUGIN_ABI_VERSION or whose struct_size
 * is smaller than the host's (a plugin built against an older header), and
 * says so naming the plugin (exit 78).
 *
 * LIFECYCLE (host calls, in order):
 *   1. validate(config): the plugin's [plugins.NAME] section, read through
 *      the rs_config accessors. Also run by `ringshard --check-config`.
 *      Non-zero: a configuration error (exit 78), the message in `error`.
 *   2. init(host, api, config, &state): control plane, main thread, before
 *      the engine starts. Registers routes, WebSocket endpoints,
 *      middleware, metrics. Non-zero: startup fails (exit 78).
 *   3. shard_start(state, shard): once per shard, on that shard's thread,
 *      before it serves anything. Per-shard state goes in
 *      api->shard_set_user(shard, ...).
 *   4. the server runs: handlers, timers, posted tasks, WebSocket callbacks
 *      on shard threads.
 *   4b. shard_drain(state, shard): SIGTERM, on each shard's thread, when
 *      it starts draining (see rs_plugin_v1::shard_drain).
 *   5. shard_stop(state, shard): on each shard's thread once it has drained
 *      (no more requests), before it exits. Every shard has left its loop
 *      by then: release per-shard state, do not post or publish.
 *   6. destroy(state): main thread, after every shard has exited. Join the
 *      plugin's own threads here: nothing may call the host afterwards.
 * A plugin whose init() failed gets no destroy(); one whose init() ran gets
 * destroy() even when a later step of the start failed (then without
 * shard_start/shard_stop on shards that never started).
 *
 * THREADS. Unless a function says "any thread", call it from the shard
 * thread that handed you the object (request, response, websocket, shard),
 * or from init() for registration functions. No callback may block: disk,
 * DNS and blocking libraries go to a thread the plugin owns, whose result
 * comes back with api->post(shard, ...), which any thread may call.
 *
 * ERRORS. A request handler returns 0, or non-zero when it failed: the
 * host then answers 500 with the standard error body (unless an answer
 * went out already), logs the plugin and route, and counts
 * ringshard_plugin_handler_failures_total{plugin}. Middleware before()
 * fails by returning a negative value, and the callbacks without a return
 * value report a failure with api->callback_failed (a WebSocket callback
 * then closes its socket with 1011). The C++ header turns a thrown
 * exception into these; the host also catches what a plugin throws through
 * the C frames. Nothing a plugin returns or throws crashes the server.
 *
 * STRINGS. rs_str is a view (pointer + size, not NUL terminated). A view
 * handed to a callback is valid during that callback only. Strings passed
 * to the host are copied before the call returns.
 */
#ifndef RINGSHARD_PLUGIN_H
#define RINGSHARD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RS_PLUGIN_ABI_VERSION 1u
#define RS_PLUGIN_ENTRY "ringshard_plugin_v1"

typedef struct rs_str {
  const char* data;
  size_t size;
} rs_str;

/* Opaque handles, owned by the host. */
typedef struct rs_host rs_host;           /* one per loaded plugin */
typedef struct rs_config rs_config;       /* the [plugins.NAME] section */
typedef struct rs_shard rs_shard;         /* a shard: valid until shard_stop */
typedef struct rs_request rs_request;     /* during a handler call only */
typedef struct rs_response rs_response;   /* during a handler call only */
typedef struct rs_async rs_async;         /* a deferred answer, see defer */
typedef struct rs_websocket rs_websocket; /* valid until on_close returns */
typedef struct rs_upgrade rs_upgrade;     /* during on_upgrade only */
typedef struct rs_timer rs_timer;         /* see timer_start */
typedef struct rs_metric rs_metric;       /* valid for the process */

enum rs_log_level { RS_LOG_DEBUG = 0, RS_LOG_INFO = 1, RS_LOG_WARN = 2, RS_LOG_ERROR = 3 };

/* Why a deferred request ended without the plugin's answer. */
enum rs_abort_reason {
  RS_ABORT_TIMEOUT = 0, /* its deadline passed: the host answered 504 */
  RS_ABORT_CLOSED = 1   /* the connection went away */
};

/* ws_send results */
enum rs_send_status {
  RS_SEND_OK = 0,
  RS_SEND_BACKPRESSURED = 1, /* queued; wait for on_writable before more */
  RS_SEND_DROPPED = 2        /* not queued: the connection is closing */
};

enum rs_metric_kind { RS_METRIC_COUNTER = 0, RS_METRIC_GAUGE = 1 };

/* Returns 0, or non-zero when it failed without answering (500). */
typedef int (*rs_handler_fn)(void* user, rs_request* req, rs_response* res);
/* A task posted to a shard. `shard` is NULL when the shard is gone (the
 * server stopped before the task could run): release what `user` holds,
 * touch nothing else. */
typedef void (*rs_task_fn)(void* user, rs_shard* shard);
typedef void (*rs_timer_fn)(void* user, rs_shard* shard);
typedef void (*rs_abort_fn)(void* user, enum rs_abort_reason reason);

typedef struct rs_route_options {
  uint32_t struct_size;      /* sizeof(rs_route_options) */
  uint64_t max_body;         /* 0: the server's default body limit */
  /* Auth: a scope the request's credential must carry ("deployments:read");
   * NULL: the route is open (the server's own [auth] rules still apply).
   * When any route names a scope and no credential is configured, the host
   * generates a development token carrying every scope that any plugin
   * named, stores it under the data directory and prints it at start. */
  const char* scope;
  /* Rate limit: the name of a limit declared with add_rate_limit; NULL:
   * none beyond the server's own [[rate_limit]] rules. */
  const char* rate_limit;
  /* Deprecation (RFC 9745) and sunset (RFC 8594), Unix seconds; 0: not
   * deprecated. A deprecated route's responses carry Deprecation: @T,
   * Sunset: <HTTP date> (when set) and Link: <deprecation_link>;
   * rel="deprecation" (when set). */
  int64_t deprecated_at;
  int64_t sunset_at;
  const char* deprecation_link;
} rs_route_options;

typedef struct rs_ws_callbacks {
  uint32_t struct_size; /* sizeof(rs_ws_callbacks) */
  /* Before the 101. May refuse with api->upgrade_refuse, and attach
   * per-connection data with api->upgrade_set_user. Optional. */
  void (*on_upgrade)(void* user, rs_request* req, rs_upgrade* decision);
  void (*on_open)(void* user, rs_websocket* ws);
  void (*on_message)(void* user, rs_websocket* ws, rs_str message, int text);
  void (*on_writable)(void* user, rs_websocket* ws); /* optional */
  /* The connection is gone; release the per-connection data here. */
  void (*on_close)(void* user, rs_websocket* ws, uint16_t code, rs_str reason);
} rs_ws_callbacks;

/* Middleware around every request of the main listener (plugin routes and
 * others), after the server's own middleware. */
typedef struct rs_middleware {
  uint32_t struct_size; /* sizeof(rs_middleware) */
  /* Return 1 to go on, 0 after answering through `res` (0 without an
   * answer: the host answers 500), negative when it failed (as a handler's
   * non-zero: 500, log line, failure metric). */
  int (*before)(void* user, rs_request* req, rs_response* res);
  /* The response head is about to be written: add headers with
   * api->header (optional). `req` may be NULL. */
  void (*on_response)(void* user, rs_request* req, rs_response* res, uint16_t status);
} rs_middleware;

typedef struct rs_rate_limit_options {
  uint32_t struct_size; /* sizeof(rs_rate_limit_options) */
  const char* name;     /* referred to by rs_route_options::rate_limit */
  /* "bearer", "ip", "ip/24", "api_key", "header:NAME" (as [[rate_limit]]) */
  const char* key;
  uint64_t burst;
  double per_second;
} rs_rate_limit_options;

/* An outbound HTTP request (http_fetch). Views, copied before
 * http_fetch returns. */
typedef struct rs_http_request {
  rs_str method;          /* a token: "GET", "POST"...; empty: GET */
  rs_str url;             /* http:// or https://, see http_fetch */
  const rs_str* headers;  /* name, value, name, value... (2 * header_count) */
  size_t header_count;    /* pairs; Host, Content-Length, Transfer-Encoding
                           * and Connection are the client's */
  rs_str body;            /* sent with Content-Length when non-empty */
  uint32_t max_body;      /* response bytes kept; 0: 8 MiB (more: error
                           * "bad_response") */
  uint32_t timeout_ms;    /* the whole fetch, retries included (error
                           * "request_timeout"); 0: 60 s */
} rs_http_request;

/* Its outcome: a response (error empty), or a failure (status 0, error
 * one of "resolve_failed", "connect_failed", "connect_timeout",
 * "tls_failed", "pool_full", "pool_timeout", "first_byte_timeout",
 * "idle_timeout", "request_timeout", "bad_response", "reset",
 * "invalid_request", "shutdown"; detail says more, for logs). Views
 * valid during the callback only. */
typedef struct rs_http_response {
  uint16_t status;
  const rs_str* headers; /* name, value pairs, as received */
  size_t header_count;
  rs_str body;
  rs_str error;
  rs_str detail;
} rs_http_response;

typedef void (*rs_http_fn)(void* user, rs_shard* shard, const rs_http_response* response);

/* The host's functions. Every member exists in every host of this ABI
 * version; later versions only append (check struct_size first). */
typedef struct rs_host_api {
  uint32_t struct_size;
  uint32_t abi_version;

  /* --- configuration (validate and init; the rs_config lives as long as
   * the plugin). Keys are dotted paths into the section ("executor.delay_ms").
   * A getter returns 1 and sets *out when the key exists with that type, 0
   * when absent, -1 when present with another type. */
  int (*config_string)(const rs_config* c, const char* key, rs_str* out);
  int (*config_int)(const rs_config* c, const char* key, int64_t* out);
  int (*config_double)(const rs_config* c, const char* key, double* out);
  int (*config_bool)(const rs_config* c, const char* key, int* out);
  /* The i-th key of the table at `table` ("" for the section itself), in
   * sorted order: 1 and *out set, 0 past the end (or when `table` is not a
   * table). Lets a plugin refuse unknown keys. config_double also reads an
   * integer. Views stay valid as long as the rs_config. */
  int (*config_key)(const rs_config* c, const char* table, size_t i, rs_str* out);

  /* --- registration (init only; 0 or -1 with a message in the log). A
   * refused registration also fails the plugin's start (exit 78), even
   * when init() ignores the -1 and returns 0: a server never runs with
   * half of a plugin's routes. add_rate_limit must come before the routes
   * that name the limit. */
  int (*add_route)(rs_host* h, const char* method, const char* pattern, rs_handler_fn fn,
                   void* user, const rs_route_options* options);
  int (*add_websocket)(rs_host* h, const char* pattern, const rs_ws_callbacks* callbacks,
                       void* user, const rs_route_options* options);
  int (*add_middleware)(rs_host* h, const rs_middleware* middleware, void* user);
  int (*add_rate_limit)(rs_host* h, const rs_rate_limit_options* options);
  /* A metric rendered on /metrics as `name` (must match
   * [a-zA-Z_:][a-zA-Z0-9_:]*, not start with "ringshard_plugin_", the
   * host's own families; pick one no server metric has, such as
   * "ringshard_<plugin>_...") with `help`; per shard, summed on scrape.
   * NULL when the name is invalid or taken. */
  rs_metric* (*add_metric)(rs_host* h, const char* name, const char* help,
                           enum rs_metric_kind kind);

  /* --- environment (any thread) */
  rs_str (*data_dir)(const rs_host* h);      /* --data-dir */
  rs_str (*server_version)(const rs_host* h);
  unsigned (*shard_count)(const rs_host* h);
  void (*log)(rs_host* h, enum rs_log_level level, rs_str message);
  /* Readiness: /ready answers 503 while any plugin says not ready.
   * Plugins start ready. */
  void (*set_ready)(rs_host* h, int ready);

  /* --- shards */
  rs_shard* (*shard)(rs_host* h, unsigned index);  /* any thread, after init */
  unsigned (*shard_index)(const rs_shard* s);      /* any thread */
  void* (*shard_user)(const rs_shard* s);          /* the shard's thread */
  void (*shard_set_user)(rs_shard* s, void* user);
  uint64_t (*now_ms)(const rs_shard* s);           /* the shard's clock, ms */
  /* Any thread: runs fn(user, shard) on the shard's thread in a coming loop
   * turn (multi-producer, lock-free on the shard's side, wake-ups
   * coalesced; posted before the engine runs, it runs in the shard's first
   * turn, after shard_start). Returns 0; -1 when the server has stopped (fn
   * is then called at once with shard NULL). A task still queued when the
   * shard exits is called with shard NULL too: exactly one call per post. */
  int (*post)(rs_shard* s, rs_task_fn fn, void* user);
  /* The shard's thread: fn(user, shard) once, after delay_ms (1 ms
   * resolution). The handle is valid until fn runs or timer_cancel;
   * timer_cancel calls fn(user, NULL) at once so that `user` can be
   * released (as for a task whose shard is gone). Timers still armed when
   * shard_stop returns get fn(user, NULL) then. NULL (after
   * calling fn(user, NULL)) when called off the shard's thread or after
   * the shard stopped. */
  rs_timer* (*timer_start)(rs_shard* s, uint64_t delay_ms, rs_timer_fn fn, void* user);
  void (*timer_cancel)(rs_timer* t);
  /* The shard's thread (one writer per shard, no locked instruction); with
   * s NULL from any thread (an atomic add into a shared slot). */
  void (*metric_add)(rs_metric* m, const rs_shard* s, int64_t delta);
  void (*metric_set)(rs_metric* m, const rs_shard* s, int64_t value); /* gauges */

  /* --- requests (during the handler call) */
  rs_str (*method)(const rs_request* r);
  rs_str (*path)(const rs_request* r);
  rs_str (*query)(const rs_request* r); /* without '?', empty if none */
  rs_str (*header)(const rs_request* r, rs_str name); /* first field; empty if absent */
  /* How many fields named `name` the request has. */
  size_t (*header_count)(const rs_request* r, rs_str name);
  rs_str (*body)(const rs_request* r);
  rs_str (*param)(const rs_request* r, rs_str name); /* {name} of the pattern */
  rs_str (*route_pattern)(const rs_request* r);
  rs_str (*request_id)(const rs_request* r); /* X-Request-ID; empty when off */
  rs_shard* (*request_shard)(const rs_request* r);
  /* 1 when the request's credential carries `scope` (or the route's
   * credentials are not checked at all: auth off), else 0. The credential
   * is the request's Authorization: Bearer token or X-API-Key, checked
   * against [[auth.token]] / [[auth.api_key]] (and the development token);
   * on a WebSocket route also an access_token query parameter. */
  int (*has_scope)(const rs_request* r, const char* scope);
  /* The credential's configured name ("dev" for the development token);
   * empty when none was presented or auth is off. */
  rs_str (*principal)(const rs_request* r);
  int (*is_tls)(const rs_request* r);

  /* --- responses (during the handler or middleware call) */
  void (*header_add)(rs_response* res, rs_str name, rs_str value);
  void (*send)(rs_response* res, uint16_t status, rs_str content_type, rs_str body);
  /* The standard error body {"error":{"code","message","details"}} with
   * the code the server uses for `status`. */
  void (*send_error)(rs_response* res, uint16_t status, rs_str message);
  int (*sent)(const rs_response* res);
  /* Answer later: returns a handle the plugin owns until it passes it to
   * async_send or async_release (exactly one of them, on this shard's
   * thread). timeout_ms 0: the server's deferred timeout. on_abort (may be
   * NULL) hears at most once that the request ended without the answer
   * (timeout: the client got 504; closed); the handle must still be
   * released or sent (the send then does nothing and returns -1). Once
   * async_send or async_release returned, on_abort is never called. NULL
   * when the response was already sent or deferred. A task called with
   * shard NULL (its shard is gone) may still send or release a handle it
   * holds, from whatever thread it runs on: the host then only frees it. Headers added with
   * header_add before defer go out with the deferred answer. */
  rs_async* (*defer)(rs_response* res, uint32_t timeout_ms, rs_abort_fn on_abort,
                     void* abort_user);
  /* Headers for the deferred answer (before async_send). */
  void (*async_header)(rs_async* a, rs_str name, rs_str value);
  /* Sends and frees the handle: 0, or -1 when the request is gone. */
  int (*async_send)(rs_async* a, uint16_t status, rs_str content_type, rs_str body);
  /* Frees the handle without an answer: a request still waiting then gets
   * 500 at once (logged and counted as a plugin failure), instead of
   * holding its connection until the deadline. */
  void (*async_release)(rs_async* a);

  /* --- WebSocket upgrade (on_upgrade only) */
  void (*upgrade_refuse)(rs_upgrade* d, uint16_t status, rs_str message);
  void (*upgrade_set_user)(rs_upgrade* d, void* user);

  /* --- WebSockets (the connection's shard thread). on_close runs only for
   * a connection whose on_open ran. */
  enum rs_send_status (*ws_send)(rs_websocket* ws, rs_str message, int text);
  void (*ws_close)(rs_websocket* ws, uint16_t code, rs_str reason);
  void* (*ws_user)(const rs_websocket* ws);
  void (*ws_set_user)(rs_websocket* ws, void* user);
  rs_shard* (*ws_shard)(const rs_websocket* ws);
  /* A handle that outlives the connection, and the lookup (NULL once it
   * has closed), on the same shard. */
  uint64_t (*ws_handle)(const rs_websocket* ws);
  rs_websocket* (*ws_find)(rs_shard* s, uint64_t handle);
  size_t (*ws_buffered)(const rs_websocket* ws);
  int (*ws_subscribe)(rs_websocket* ws, rs_str topic);
  int (*ws_unsubscribe)(rs_websocket* ws, rs_str topic);
  /* From a shard's thread: every subscriber of `topic` on every shard
   * receives `message` (in publish order per publishing shard), and so
   * does every topic listener (add_topic_listener) on every shard. */
  void (*publish)(rs_shard* from, rs_str topic, rs_str message, int text);

  /* --- appended after the first draft; still ABI version 1 */
  /* init only: fn(user, shard, topic, message) runs on every shard's thread
   * for each message published to exactly `topic`, in the same order as
   * WebSocket subscribers get it. Lets a plugin filter or buffer before it
   * sends (ws_send) instead of having the topic write to sockets itself. */
  int (*add_topic_listener)(rs_host* h, const char* topic,
                            void (*fn)(void* user, rs_shard* shard, rs_str topic, rs_str message),
                            void* user);
  /* Any thread: a callback without a failure return (a WebSocket callback,
   * on_response, a timer, a task, a topic listener) failed; `callback`
   * names it ("websocket /v1/stream on_message"). The host logs it naming
   * the plugin and counts it in ringshard_plugin_handler_failures_total.
   * `h` or `s` names the plugin (either may be NULL, not both). A WebSocket
   * callback that fails should then close its socket with 1011. */
  void (*callback_failed)(rs_host* h, const rs_shard* s, rs_str callback, rs_str message);

  /* --- appended: the HTTP client (present when struct_size covers it) */
  /* The shard's thread: sends `request` with that shard's HTTP client,
   * the one the reverse proxy is built on: keep-alive connections pooled
   * per upstream (scheme, host, port) and shared by every plugin on the
   * shard, names resolved off the shard (c-ares, honouring TTLs), https
   * verified against the system's roots with SNI, responses held to the
   * server's parser rules, idempotent requests retried with backoff.
   * Limits: connect 2 s, first response byte 30 s, the whole exchange
   * 60 s or request->timeout_ms. The environment's forward proxies
   * (https_proxy, http_proxy, all_proxy, no_proxy, read as curl reads
   * them, once at start) carry fetches; when one is set but unusable,
   * every fetch is refused (-1, logged) rather than sent direct.
   * `fn` runs later on the same shard, exactly once: with the response,
   * or the failure (also "shutdown" when the shard stops first, before the
   * plugin's shard_stop). Returns 0; -1 when the request is refused at
   * once (a bad URL or method, off the shard's thread, an unusable proxy
   * variable), and then `fn`
   * never runs and the reason is logged. */
  int (*http_fetch)(rs_shard* s, const rs_http_request* request, rs_http_fn fn, void* user);
} rs_host_api;

typedef struct rs_plugin_v1 {
  uint32_t struct_size; /* sizeof(rs_plugin_v1) */
  uint32_t abi_version; /* RS_PLUGIN_ABI_VERSION */
  const char* name;     /* [a-z0-9_-]+, names the [plugins.NAME] section */
  const char* version;
  /* Each returns 0, or non-zero with a message (NUL-terminated) in
   * error[0..error_size). Optional (NULL: nothing to check). */
  int (*validate)(const rs_host_api* api, const rs_config* config, char* error,
                  size_t error_size);
  int (*init)(rs_host* host, const rs_host_api* api, const rs_config* config, void** state,
              char* error, size_t error_size);
  void (*shard_start)(void* state, rs_shard* shard); /* optional */
  void (*shard_stop)(void* state, rs_shard* shard);  /* optional */
  void (*destroy)(void* state);                      /* optional */
  /* Appended within ABI version 1 (read only when struct_size covers it):
   * the shard starts draining (SIGTERM), on its thread, before its
   * connections are told. Answer what would otherwise wait for the drain
   * deadline (long-polls); requests still arrive until each connection has
   * its last answer. Optional. */
  void (*shard_drain)(void* state, rs_shard* shard);
} rs_plugin_v1;

/* The smallest descriptor a host of this ABI version accepts (a plugin
 * built before shard_drain was appended). */
#define RS_PLUGIN_V1_MIN_SIZE offsetof(rs_plugin_v1, shard_drain)

typedef const rs_plugin_v1* (*rs_plugin_entry_fn)(uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* RINGSHARD_PLUGIN_H */
