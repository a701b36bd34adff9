// sdk/host.cc: ringshard::plugin::Host's registrations and the C
// trampolines they hand the host.
//
// A trampoline wraps the C handles in the C++ views and catches everything:
// a handler's or a before()'s exception becomes its failure return (the
// host answers 500 and counts it), after a log line with the message; any
// other callback's becomes api->callback_failed (and, for a WebSocket, a
// 1011 close).
#include <string>

#include "ringshard/plugin.hpp"
#include "sdk/boxes.h"

namespace ringshard::plugin {

namespace {

using detail::current_exception_message;
using detail::report_failure;

rs_route_options c_options(const RouteOptions& o) {
  rs_route_options c{};
  c.struct_size = sizeof(c);
  c.max_body = o.max_body;
  c.scope = o.scope;
  c.rate_limit = o.rate_limit;
  c.deprecated_at = o.deprecated_at;
  c.sunset_at = o.sunset_at;
  c.deprecation_link = o.deprecation_link;
  return c;
}

[[noreturn]] void refused(const char* what, const char* detail) {
  throw std::runtime_error(std::string(what) + " " + detail +
                           ": refused by the host (see the log)");
}

void log_exception(const rs_host_api* api, rs_host* host, const std::string& what) {
  const std::string line = what + " threw: " + current_exception_message();
  api->log(host, RS_LOG_ERROR, to_rs(line));
}

int route_trampoline(void* user, rs_request* r, rs_response* s) {
  auto* box = static_cast<detail::RouteBox*>(user);
  try {
    Request req(box->api, r);
    Response res(box->api, s);
    box->fn(req, res);
    return 0;
  } catch (...) {
    log_exception(box->api, box->host, box->what);
    return 1;
  }
}

// --- WebSocket endpoints ---------------------------------------------------

void ws_failed(detail::WsBox* box, rs_websocket* ws, const char* callback) {
  const std::string what = "websocket " + box->pattern + " " + callback;
  report_failure(box->api, box->host, ws != nullptr ? box->api->ws_shard(ws) : nullptr, what,
                 current_exception_message());
  if (ws != nullptr) box->api->ws_close(ws, 1011, to_rs("internal error"));
}

void ws_on_upgrade(void* user, rs_request* r, rs_upgrade* d) {
  auto* box = static_cast<detail::WsBox*>(user);
  try {
    Request req(box->api, r);
    Upgrade decision(box->api, d);
    box->endpoint->on_upgrade(req, decision);
  } catch (...) {
    report_failure(box->api, box->host, box->api->request_shard(r),
                   "websocket " + box->pattern + " on_upgrade", current_exception_message());
    box->api->upgrade_refuse(d, 500, to_rs("internal error"));
  }
}

void ws_on_open(void* user, rs_websocket* ws) {
  auto* box = static_cast<detail::WsBox*>(user);
  try {
    WebSocket w(box->api, ws);
    box->endpoint->on_open(w);
  } catch (...) {
    ws_failed(box, ws, "on_open");
  }
}

void ws_on_message(void* user, rs_websocket* ws, rs_str message, int text) {
  auto* box = static_cast<detail::WsBox*>(user);
  try {
    WebSocket w(box->api, ws);
    box->endpoint->on_message(w, to_sv(message), text != 0);
  } catch (...) {
    ws_failed(box, ws, "on_message");
  }
}

void ws_on_writable(void* user, rs_websocket* ws) {
  auto* box = static_cast<detail::WsBox*>(user);
  try {
    WebSocket w(box->api, ws);
    box->endpoint->on_writable(w);
  } catch (...) {
    ws_failed(box, ws, "on_writable");
  }
}

void ws_on_close(void* user, rs_websocket* ws, uint16_t code, rs_str reason) {
  auto* box = static_cast<detail::WsBox*>(user);
  try {
    WebSocket w(box->api, ws);
    box->endpoint->on_close(w, code, to_sv(reason));
  } catch (...) {
    // Closed already: report only.
    report_failure(box->api, box->host, box->api->ws_shard(ws),
                   "websocket " + box->pattern + " on_close", current_exception_message());
  }
}

// --- middleware ------------------------------------------------------------

int mw_before(void* user, rs_request* r, rs_response* s) {
  auto* box = static_cast<detail::MiddlewareBox*>(user);
  try {
    Request req(box->api, r);
    Response res(box->api, s);
    return box->middleware->before(req, res) ? 1 : 0;
  } catch (...) {
    log_exception(box->api, box->host, "middleware before()");
    return -1;
  }
}

void mw_on_response(void* user, rs_request* r, rs_response* s, uint16_t status) {
  auto* box = static_cast<detail::MiddlewareBox*>(user);
  try {
    Response res(box->api, s);
    if (r == nullptr) {
      box->middleware->on_response(nullptr, res, status);
    } else {
      Request req(box->api, r);
      box->middleware->on_response(&req, res, status);
    }
  } catch (...) {
    report_failure(box->api, box->host, nullptr, "middleware on_response",
                   current_exception_message());
  }
}

void topic_trampoline(void* user, rs_shard* s, rs_str /*topic*/, rs_str message) {
  auto* box = static_cast<detail::ListenerBox*>(user);
  try {
    Shard shard(box->api, s);
    box->fn(shard, to_sv(message));
  } catch (...) {
    report_failure(box->api, box->host, s, "topic listener " + box->topic,
                   current_exception_message());
  }
}

}  // namespace

Host::Host(rs_host* h, const rs_host_api* api)
    : h_(h), api_(api), boxes_(std::make_unique<detail::HostBoxes>()) {}

Host::~Host() = default;

void Host::route(const char* method, const char* pattern, Handler fn, RouteOptions o) {
  auto box = std::make_unique<detail::RouteBox>(
      detail::RouteBox{api_, h_, std::move(fn), std::string(method) + " " + pattern});
  const rs_route_options c = c_options(o);
  if (api_->add_route(h_, method, pattern, &route_trampoline, box.get(), &c) != 0) {
    refused("route", box->what.c_str());
  }
  boxes_->routes.push_back(std::move(box));
}

void Host::websocket(const char* pattern, std::shared_ptr<WsEndpoint> ep, RouteOptions o) {
  auto box =
      std::make_unique<detail::WsBox>(detail::WsBox{api_, h_, std::move(ep), pattern});
  rs_ws_callbacks cb{};
  cb.struct_size = sizeof(cb);
  cb.on_upgrade = &ws_on_upgrade;
  cb.on_open = &ws_on_open;
  cb.on_message = &ws_on_message;
  cb.on_writable = &ws_on_writable;
  cb.on_close = &ws_on_close;
  const rs_route_options c = c_options(o);
  if (api_->add_websocket(h_, pattern, &cb, box.get(), &c) != 0) refused("websocket", pattern);
  boxes_->websockets.push_back(std::move(box));
}

void Host::middleware(std::shared_ptr<Middleware> m) {
  auto box = std::make_unique<detail::MiddlewareBox>(detail::MiddlewareBox{api_, h_, std::move(m)});
  rs_middleware c{};
  c.struct_size = sizeof(c);
  c.before = &mw_before;
  c.on_response = &mw_on_response;
  if (api_->add_middleware(h_, &c, box.get()) != 0) refused("middleware", "");
  boxes_->middleware.push_back(std::move(box));
}

void Host::topic_listener(const char* topic,
                          std::function<void(Shard&, std::string_view message)> fn) {
  auto box = std::make_unique<detail::ListenerBox>(
      detail::ListenerBox{api_, h_, std::move(fn), topic});
  if (api_->add_topic_listener(h_, topic, &topic_trampoline, box.get()) != 0) {
    refused("topic listener", topic);
  }
  boxes_->listeners.push_back(std::move(box));
}

void Host::rate_limit(const char* name, const char* key, uint64_t burst, double per_second) {
  rs_rate_limit_options c{};
  c.struct_size = sizeof(c);
  c.name = name;
  c.key = key;
  c.burst = burst;
  c.per_second = per_second;
  if (api_->add_rate_limit(h_, &c) != 0) refused("rate limit", name);
}

rs_metric* Host::metric(const char* name, const char* help, rs_metric_kind kind) {
  rs_metric* m = api_->add_metric(h_, name, help, kind);
  if (m == nullptr) refused("metric", name);
  return m;
}

}  // namespace ringshard::plugin
