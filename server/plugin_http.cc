// server/plugin_http.cc: plugin routes and middleware on the server's
// router and chain, and the request, response and deferred-answer members
// of the host API.
//
// A plugin route is an ordinary router entry whose handler wraps the C
// call: rs_request and rs_response live on the stack for that call (no
// allocation per request), a non-zero return or an exception becomes a 500
// (unless an answer went out), a log line naming the plugin and route and
// a count in the plugin's failures. Route options become route middleware,
// in this order: deprecation headers (on every answer, refusals too), the
// plugin's rate limit (failed credential attempts are limited too, as with
// the global chain), the scope check.
#include <time.h>

#include <cmath>
#include <cstring>
#include <exception>
#include <limits>

#include "http/mw_rate_limit.h"
#include "ratelimit/gcra.h"
#include "ratelimit/headers.h"
#include "ratelimit/rate_spec.h"
#include "server/plugin_auth.h"
#include "server/plugin_internal.h"

namespace ringshard::server {

namespace {

// Deprecation (RFC 9745), Sunset (RFC 8594) and the deprecation link on
// every response of a route, added before anything can answer.
class DeprecationMiddleware final : public http::Middleware {
 public:
  DeprecationMiddleware(std::string deprecation, std::string sunset, std::string link)
      : deprecation_(std::move(deprecation)), sunset_(std::move(sunset)), link_(std::move(link)) {}
  bool before(http::ServerRequest&, http::Response& res, http::RequestContext&) const override {
    if (!deprecation_.empty()) res.trusted_header("Deprecation", deprecation_);
    if (!sunset_.empty()) res.trusted_header("Sunset", sunset_);
    if (!link_.empty()) res.trusted_header("Link", link_);
    return true;
  }

 private:
  std::string deprecation_, sunset_, link_;
};

// RFC 9110 5.6.7 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string imf_fixdate(int64_t unix_seconds) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const time_t t = static_cast<time_t>(unix_seconds);
  tm g{};
  gmtime_r(&t, &g);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[g.tm_wday % 7],
                g.tm_mday, kMonths[g.tm_mon % 12], g.tm_year + 1900, g.tm_hour, g.tm_min,
                g.tm_sec);
  return buf;
}

// A URI for Link: <...>: visible ASCII, none of the characters that would
// end the angle brackets or the field.
bool valid_link(std::string_view url) {
  if (url.empty() || url.size() > 2048) return false;
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '<' || c == '>' || c == '"') return false;
  }
  return true;
}

// RFC 6750 scope-token, as AuthStore requires, at most 128 bytes.
bool valid_scope(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

// --- requests ----------------------------------------------------------------

rs_str api_method(const rs_request* r) { return rs(r->req->head().method_text); }
rs_str api_path(const rs_request* r) { return rs(r->req->path()); }
rs_str api_query(const rs_request* r) { return rs(r->req->query()); }
rs_str api_header(const rs_request* r, rs_str name) { return rs(r->req->header(sv(name))); }

size_t api_header_count(const rs_request* r, rs_str name) {
  const http::Request& head = r->req->head();
  size_t n = 0;
  for (size_t i = 0; i < head.header_count; ++i) {
    if (http::iequals(head.headers[i].name, sv(name))) ++n;
  }
  return n;
}

rs_str api_body(const rs_request* r) { return rs(r->req->body()); }
rs_str api_param(const rs_request* r, rs_str name) { return rs(r->req->param(sv(name))); }
rs_str api_route_pattern(const rs_request* r) { return rs(r->req->route_pattern()); }

rs_str api_request_id(const rs_request* r) {
  return r->ctx != nullptr ? rs(r->ctx->request_id_view()) : rs_str{"", 0};
}

rs_shard* api_request_shard(const rs_request* r) {
  return r->plugin->shards[r->req->shard().index()].get();
}

void identify(const rs_request* r) {
  if (r->identified) return;
  auto* m = const_cast<rs_request*>(r);  // a cache of what the request carries
  m->identified = true;
  PluginAuth* auth = r->plugin->rt->auth.get();
  if (auth == nullptr) return;
  const PluginIdentity id = auth->identify(*r->req, r->websocket);
  m->auth_off = id.auth_off;
  m->principal = id.principal;
  m->scopes = id.scopes;
}

int api_has_scope(const rs_request* r, const char* scope) {
  identify(r);
  if (r->plugin->rt->auth == nullptr || r->auth_off) return 1;
  if (r->scopes == nullptr || scope == nullptr) return 0;
  for (const std::string& s : *r->scopes) {
    if (s == scope) return 1;
  }
  return 0;
}

rs_str api_principal(const rs_request* r) {
  identify(r);
  return rs(r->principal);
}

int api_is_tls(const rs_request* r) { return r->req->tls() ? 1 : 0; }

// --- responses ---------------------------------------------------------------

void api_header_add(rs_response* s, rs_str name, rs_str value) {
  if (s == nullptr) return;
  s->res->header(sv(name), sv(value));
}

void api_send(rs_response* s, uint16_t status, rs_str content_type, rs_str body) {
  if (s == nullptr || s->phase == rs_response::Phase::kOnResponse) return;
  s->res->send(status, sv(content_type), sv(body));
}

void api_send_error(rs_response* s, uint16_t status, rs_str message) {
  if (s == nullptr || s->phase == rs_response::Phase::kOnResponse) return;
  s->res->send_error(status, sv(message));
}

int api_sent(const rs_response* s) {
  return s != nullptr && (s->res->sent() || s->deferred.has_value()) ? 1 : 0;
}

rs_async* api_defer(rs_response* s, uint32_t timeout_ms, rs_abort_fn on_abort, void* abort_user) {
  if (s == nullptr || s->phase != rs_response::Phase::kHandler || s->res->sent() ||
      s->deferred.has_value()) {
    return nullptr;
  }
  auto shared = std::make_shared<AsyncShared>();
  shared->on_abort = on_abort;
  shared->abort_user = abort_user;
  shared->plugin = s->plugin;
  http::DeferOptions options;
  options.timeout_ms = timeout_ms;
  options.on_abort = [shared](http::AbortReason reason) {
    if (shared->plugin_done || shared->on_abort == nullptr) return;
    try {
      shared->on_abort(shared->abort_user,
                       reason == http::AbortReason::kTimeout ? RS_ABORT_TIMEOUT : RS_ABORT_CLOSED);
    } catch (...) {
      shared->plugin->rt->failure(shared->plugin, -1, "on_abort", "threw: " + exception_text());
    }
  };
  auto* a = new rs_async;
  a->async = s->res->defer(std::move(options));
  a->shared = std::move(shared);
  a->plugin = s->plugin;
  a->shard = s->shard;
  s->deferred = a->async;
  return a;
}

void api_async_header(rs_async* a, rs_str name, rs_str value) {
  if (a != nullptr) a->headers.emplace_back(std::string(sv(name)), std::string(sv(value)));
}

// The request can only still be waiting while its shard runs, and then
// the plugin calls from that shard's thread. A call from elsewhere is a task
// cancelled because the shard is gone (plugin.h): the handle is freed
// without touching the server.
bool request_reachable(const rs_async* a) {
  return !a->shard->stopped.load(std::memory_order_acquire) &&
         a->shard->thread == std::this_thread::get_id();
}

int api_async_send(rs_async* a, uint16_t status, rs_str content_type, rs_str body) {
  if (a == nullptr) return -1;
  std::unique_ptr<rs_async> owned(a);
  a->shared->plugin_done = true;
  if (!request_reachable(a)) return -1;
  const bool ok = a->async.answer([&](http::Response& res) {
    for (const auto& [name, value] : a->headers) res.header(name, value);
    res.send(status, sv(content_type), sv(body));
  });
  return ok ? 0 : -1;
}

void api_async_release(rs_async* a) {
  if (a == nullptr) return;
  std::unique_ptr<rs_async> owned(a);
  a->shared->plugin_done = true;
  if (request_reachable(a) && a->async.valid()) {
    a->async.send_error(500, "internal error");
    a->plugin->rt->failure(a->plugin, static_cast<int>(a->shard->index), "deferred request",
                           "released without an answer (answered 500)");
  }
}

// --- the adapters --------------------------------------------------------------

// What a handler's failure leaves to the host: the 500, the log line and
// the count. `deferred`: the handle the handler took, if any.
void handler_failed(rs_host* h, const std::string& what, rs_response& s, http::Response& res,
                    unsigned shard, const std::string& why) {
  if (!res.sent()) {
    if (s.deferred.has_value()) {
      s.deferred->send_error(500, "internal error");
    } else {
      res.send_error(500, "internal error");
    }
  }
  h->rt->failure(h, static_cast<int>(shard), what, why);
}

class PluginMiddleware final : public http::Middleware {
 public:
  PluginMiddleware(rs_host* h, const rs_middleware& m, void* user) : h_(h), m_(m), user_(user) {}

  bool before(http::ServerRequest& req, http::Response& res,
              http::RequestContext& ctx) const override {
    if (m_.before == nullptr) return true;
    rs_request r;
    r.req = &req;
    r.plugin = h_;
    r.ctx = &ctx;
    rs_response s;
    s.res = &res;
    s.plugin = h_;
    s.shard = h_->shards[ctx.shard].get();
    s.phase = rs_response::Phase::kBefore;
    int rc = 0;
    std::string why;
    try {
      rc = m_.before(user_, &r, &s);
    } catch (...) {
      rc = -1;
      why = "threw: " + exception_text();
    }
    if (rc > 0) return true;
    if (rc == 0 && res.sent()) return false;
    if (why.empty()) {
      why = rc == 0 ? "before() returned 0 without answering"
                    : "before() returned " + std::to_string(rc);
    }
    handler_failed(h_, "middleware", s, res, ctx.shard, why);
    return false;
  }

  void on_response(const http::ServerRequest* req, http::Response& res, http::ResponseInfo& info,
                   http::RequestContext& ctx) const override {
    if (m_.on_response == nullptr) return;
    rs_request r;
    r.req = req;
    r.plugin = h_;
    r.ctx = &ctx;
    rs_response s;
    s.res = &res;
    s.plugin = h_;
    s.shard = h_->shards[ctx.shard].get();
    s.phase = rs_response::Phase::kOnResponse;
    try {
      m_.on_response(user_, req != nullptr ? &r : nullptr, &s, info.status);
    } catch (...) {
      h_->rt->failure(h_, static_cast<int>(ctx.shard), "middleware on_response",
                      "threw: " + exception_text());
    }
  }

 private:
  rs_host* h_;
  rs_middleware m_;
  void* user_;
};

}  // namespace

rs_route_options copy_route_options(const rs_route_options* o) {
  rs_route_options out{};
  if (o != nullptr) {
    std::memcpy(&out, o, std::min<size_t>(o->struct_size, sizeof out));
  }
  out.struct_size = sizeof out;
  return out;
}

bool route_middleware(rs_host* h, const char* what, const rs_route_options& o, bool websocket,
                      http::RouteOptions& out) {
  out.max_body = o.max_body;
  if (o.deprecated_at != 0 || o.sunset_at != 0) {
    std::string deprecation, sunset, link;
    if (o.deprecated_at != 0) deprecation = "@" + std::to_string(o.deprecated_at);
    if (o.sunset_at != 0) sunset = imf_fixdate(o.sunset_at);
    if (o.deprecation_link != nullptr) {
      if (!valid_link(o.deprecation_link)) {
        h->rt->refuse(h, std::string(what) + ": invalid deprecation_link");
        return false;
      }
      if (o.deprecated_at != 0) {
        link = "<" + std::string(o.deprecation_link) + ">; rel=\"deprecation\"";
      }
    }
    auto m = std::make_unique<DeprecationMiddleware>(deprecation, sunset, link);
    out.middleware.push_back(m.get());
    h->rt->middleware.push_back(std::move(m));
  }
  if (o.rate_limit != nullptr) {
    auto it = h->limits.find(std::string_view(o.rate_limit));
    if (it == h->limits.end()) {
      h->rt->refuse(h, std::string(what) + ": rate limit '" + o.rate_limit +
                           "' is not declared (add_rate_limit before the route)");
      return false;
    }
    out.middleware.push_back(it->second.get());
  }
  if (o.scope != nullptr) {
    if (!valid_scope(o.scope)) {
      h->rt->refuse(h, std::string(what) + ": invalid scope '" +
                           std::string(o.scope).substr(0, 130) + "'");
      return false;
    }
    out.middleware.push_back(h->rt->auth->gate(o.scope, websocket));
  }
  return true;
}

int api_add_route(rs_host* h, const char* method, const char* pattern, rs_handler_fn fn,
                  void* user, const rs_route_options* options) {
  if (h == nullptr) return -1;
  const std::string what = std::string(method != nullptr ? method : "(null)") + " " +
                           (pattern != nullptr ? pattern : "(null)");
  if (!h->initialising) return h->rt->refuse(h, "add_route " + what + ": only during init()");
  if (method == nullptr || pattern == nullptr || fn == nullptr) {
    return h->rt->refuse(h, "add_route " + what + ": null method, pattern or handler");
  }
  const rs_route_options o = copy_route_options(options);
  http::RouteOptions ro;
  if (!route_middleware(h, what.c_str(), o, false, ro)) return -1;
  auto route = std::make_unique<PluginRoute>();
  route->plugin = h;
  route->fn = fn;
  route->user = user;
  route->what = what;
  const PluginRoute* pr = route.get();
  try {
    h->rt->env.router->add(
        std::string_view(method), pattern,
        [pr](http::ServerRequest& req, http::Response& res) {
          rs_request r;
          r.req = &req;
          r.plugin = pr->plugin;
          r.ctx = res.context();
          rs_response s;
          s.res = &res;
          s.plugin = pr->plugin;
          s.shard = pr->plugin->shards[req.shard().index()].get();
          int rc = 0;
          std::string why;
          try {
            rc = pr->fn(pr->user, &r, &s);
          } catch (...) {
            rc = -1;
            why = "threw: " + exception_text();
          }
          if (rc == 0) {
            if (res.sent() || s.deferred.has_value()) return;
            why = "returned 0 without answering";
          }
          if (why.empty()) why = "returned " + std::to_string(rc);
          handler_failed(pr->plugin, pr->what, s, res, req.shard().index(), why);
        },
        std::move(ro));
  } catch (const std::exception& e) {
    return h->rt->refuse(h, "add_route " + what + ": " + e.what());
  }
  h->rt->routes.push_back(std::move(route));
  return 0;
}

int api_add_middleware(rs_host* h, const rs_middleware* middleware, void* user) {
  if (h == nullptr) return -1;
  if (!h->initialising) return h->rt->refuse(h, "add_middleware: only during init()");
  if (middleware == nullptr) return h->rt->refuse(h, "add_middleware: null");
  rs_middleware m{};
  std::memcpy(&m, middleware, std::min<size_t>(middleware->struct_size, sizeof m));
  auto mw = std::make_unique<PluginMiddleware>(h, m, user);
  h->rt->env.add_middleware(mw.get());
  h->rt->middleware.push_back(std::move(mw));
  return 0;
}

int api_add_rate_limit(rs_host* h, const rs_rate_limit_options* options) {
  if (h == nullptr) return -1;
  if (!h->initialising) return h->rt->refuse(h, "add_rate_limit: only during init()");
  if (options == nullptr) return h->rt->refuse(h, "add_rate_limit: null");
  rs_rate_limit_options o{};
  std::memcpy(&o, options, std::min<size_t>(options->struct_size, sizeof o));
  const std::string name = o.name != nullptr ? o.name : "";
  const std::string where = "add_rate_limit '" + name.substr(0, 80) + "'";
  if (!ratelimit::is_valid_policy_name(name)) return h->rt->refuse(h, where + ": invalid name");
  if (h->limits.contains(name)) return h->rt->refuse(h, where + ": declared twice");
  auto key = ratelimit::parse_key_spec(o.key != nullptr ? o.key : "");
  if (!key.ok()) return h->rt->refuse(h, where + ": " + key.error);
  // per_second as count per period: whole numbers exactly (N per second),
  // anything else as one request per interval (0.5/s: one per 2 s).
  const double rate = o.per_second;
  std::optional<ratelimit::Limit> limit;
  if (std::isfinite(rate) && rate > 0 && rate <= 1e9) {
    if (rate >= 1 && std::floor(rate) == rate) {
      limit = ratelimit::make_limit(static_cast<uint64_t>(rate), ratelimit::kNsPerSecond, o.burst);
    } else {
      const double interval = std::ceil(1e9 / rate);
      if (interval < 1e18) {
        limit = ratelimit::make_limit(1, static_cast<uint64_t>(interval), o.burst);
      }
    }
  }
  if (!limit) {
    return h->rt->refuse(h, where + ": burst 1..1000000000 and per_second > 0, with the bucket "
                                    "refilled within 52 days");
  }
  http::RateLimitConfig cfg;
  cfg.rules.push_back({name, "/", std::move(*key.value), *limit});
  cfg.table_capacity = h->rt->env.options->rate_limit_table_capacity;
  cfg.shards = h->rt->shards;
  h->limits.emplace(name, std::make_unique<http::RateLimitMiddleware>(std::move(cfg)));
  return 0;
}

void fill_http_api(rs_host_api& a) {
  a.method = &api_method;
  a.path = &api_path;
  a.query = &api_query;
  a.header = &api_header;
  a.header_count = &api_header_count;
  a.body = &api_body;
  a.param = &api_param;
  a.route_pattern = &api_route_pattern;
  a.request_id = &api_request_id;
  a.request_shard = &api_request_shard;
  a.has_scope = &api_has_scope;
  a.principal = &api_principal;
  a.is_tls = &api_is_tls;
  a.header_add = &api_header_add;
  a.send = &api_send;
  a.send_error = &api_send_error;
  a.sent = &api_sent;
  a.defer = &api_defer;
  a.async_header = &api_async_header;
  a.async_send = &api_async_send;
  a.async_release = &api_async_release;
}

}  // namespace ringshard::server
