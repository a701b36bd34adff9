// server/plugin_ws.cc: plugin WebSocket endpoints, the upgrade and
// WebSocket members of the host API, publish and topic listeners.
//
// An rs_websocket* is the ws::WebSocket* itself (no allocation per
// connection); its endpoint is a PluginWsEndpoint, which knows the plugin
// (for ws_shard) and catches what the plugin's callbacks throw: a failed
// callback is logged, counted, and its socket closed with 1011.
#include <cstring>
#include <exception>

#include "server/plugin_internal.h"
#include "ws/frame.h"
#include "ws/server.h"

namespace ringshard::server {

namespace {

rs_websocket* c_socket(ws::WebSocket& ws) { return reinterpret_cast<rs_websocket*>(&ws); }
ws::WebSocket& socket_of(const rs_websocket* ws) {
  return *reinterpret_cast<ws::WebSocket*>(const_cast<rs_websocket*>(ws));
}

class PluginWsEndpoint final : public ws::Endpoint {
 public:
  PluginWsEndpoint(rs_host* h, const rs_ws_callbacks& cb, void* user, std::string pattern)
      : h_(h), cb_(cb), user_(user), pattern_(std::move(pattern)) {}

  rs_host* plugin() const { return h_; }

  void on_upgrade(const http::ServerRequest& req, ws::UpgradeDecision& d) const override {
    if (cb_.on_upgrade == nullptr) return;
    rs_request r;
    r.req = &req;
    r.plugin = h_;
    r.websocket = true;
    rs_upgrade u;
    u.decision = &d;
    try {
      cb_.on_upgrade(user_, &r, &u);
    } catch (...) {
      d.refuse_status = 500;
      d.refuse_reason = "internal error";
      h_->rt->failure(h_, static_cast<int>(req.shard().index()), what("on_upgrade"),
                      "threw: " + exception_text());
    }
  }

  void on_open(ws::WebSocket& ws) const override {
    if (cb_.on_open == nullptr) return;
    try {
      cb_.on_open(user_, c_socket(ws));
    } catch (...) {
      failed(ws, "on_open");
    }
  }

  void on_message(ws::WebSocket& ws, std::string_view message, bool text) const override {
    if (cb_.on_message == nullptr) return;
    try {
      cb_.on_message(user_, c_socket(ws), rs(message), text ? 1 : 0);
    } catch (...) {
      failed(ws, "on_message");
    }
  }

  void on_writable(ws::WebSocket& ws) const override {
    if (cb_.on_writable == nullptr) return;
    try {
      cb_.on_writable(user_, c_socket(ws));
    } catch (...) {
      failed(ws, "on_writable");
    }
  }

  void on_close(ws::WebSocket& ws, uint16_t code, std::string_view reason) const override {
    if (cb_.on_close == nullptr) return;
    try {
      cb_.on_close(user_, c_socket(ws), code, rs(reason));
    } catch (...) {
      h_->rt->failure(h_, static_cast<int>(ws.shard().index()), what("on_close"),
                      "threw: " + exception_text());
    }
  }

 private:
  std::string what(const char* callback) const { return "websocket " + pattern_ + " " + callback; }
  void failed(ws::WebSocket& ws, const char* callback) const {
    h_->rt->failure(h_, static_cast<int>(ws.shard().index()), what(callback),
                    "threw: " + exception_text());
    ws.close(ws::close_code::kInternalError, "internal error");
  }

  rs_host* h_;
  rs_ws_callbacks cb_;
  void* user_;
  std::string pattern_;
};

const PluginWsEndpoint* plugin_endpoint(const ws::WebSocket& ws) {
  return dynamic_cast<const PluginWsEndpoint*>(&ws.endpoint());
}

// --- upgrade -----------------------------------------------------------------

void api_upgrade_refuse(rs_upgrade* d, uint16_t status, rs_str message) {
  if (d == nullptr) return;
  d->decision->refuse_status = status >= 400 && status <= 599 ? status : 403;
  d->decision->refuse_reason = std::string(sv(message));
}

void api_upgrade_set_user(rs_upgrade* d, void* user) {
  if (d != nullptr) d->decision->user_data = user;
}

// --- WebSockets --------------------------------------------------------------

rs_send_status api_ws_send(rs_websocket* w, rs_str message, int text) {
  switch (socket_of(w).send(sv(message), text != 0)) {
    case ws::SendStatus::kSent: return RS_SEND_OK;
    case ws::SendStatus::kBackpressured: return RS_SEND_BACKPRESSURED;
    case ws::SendStatus::kDropped: return RS_SEND_DROPPED;
  }
  return RS_SEND_DROPPED;
}

void api_ws_close(rs_websocket* w, uint16_t code, rs_str reason) {
  ws::WebSocket& s = socket_of(w);
  // 1000..4999 less what may not be sent; anything else is the plugin's
  // bug, and the peer still gets a valid close.
  if (!ws::valid_close_code(code)) code = ws::close_code::kInternalError;
  s.close(code, sv(reason));
}

void* api_ws_user(const rs_websocket* w) { return socket_of(w).user_data(); }
void api_ws_set_user(rs_websocket* w, void* user) { socket_of(w).set_user_data(user); }

rs_shard* api_ws_shard(const rs_websocket* w) {
  const ws::WebSocket& s = socket_of(w);
  const PluginWsEndpoint* ep = plugin_endpoint(s);
  if (ep == nullptr) return nullptr;
  return ep->plugin()->shards[s.shard().index()].get();
}

uint64_t api_ws_handle(const rs_websocket* w) {
  const ws::WebSocketHandle h = socket_of(w).handle();
  return uint64_t{h.slot} << 32 | h.generation;
}

rs_websocket* api_ws_find(rs_shard* s, uint64_t handle) {
  engine::Shard* shard = s != nullptr ? s->shard.load(std::memory_order_acquire) : nullptr;
  if (shard == nullptr) return nullptr;
  const ws::WebSocketHandle h{static_cast<uint32_t>(handle >> 32), static_cast<uint32_t>(handle)};
  ws::WebSocket* found = s->plugin->rt->env.ws->find(*shard, h);
  if (found == nullptr) return nullptr;
  // Only this plugin's sockets: a handle of another endpoint finds nothing.
  const PluginWsEndpoint* ep = plugin_endpoint(*found);
  if (ep == nullptr || ep->plugin() != s->plugin) return nullptr;
  return c_socket(*found);
}

size_t api_ws_buffered(const rs_websocket* w) { return socket_of(w).buffered(); }

int api_ws_subscribe(rs_websocket* w, rs_str topic) {
  return socket_of(w).subscribe(sv(topic)) ? 1 : 0;
}

int api_ws_unsubscribe(rs_websocket* w, rs_str topic) {
  return socket_of(w).unsubscribe(sv(topic)) ? 1 : 0;
}

void api_publish(rs_shard* from, rs_str topic, rs_str message, int text) {
  if (from == nullptr) return;
  engine::Shard* shard = from->shard.load(std::memory_order_acquire);
  if (shard == nullptr || from->stopped.load(std::memory_order_acquire) ||
      from->thread != std::this_thread::get_id()) {
    from->plugin->rt->log_line(obs::LogLevel::kError, -1, from->plugin,
                               "publish off its shard's thread: dropped");
    return;
  }
  from->plugin->rt->env.ws->publish(*shard, sv(topic), sv(message), text != 0);
}

}  // namespace

int api_add_websocket(rs_host* h, const char* pattern, const rs_ws_callbacks* callbacks,
                      void* user, const rs_route_options* options) {
  if (h == nullptr) return -1;
  const std::string what = "websocket " + std::string(pattern != nullptr ? pattern : "(null)");
  if (!h->initialising) return h->rt->refuse(h, "add_" + what + ": only during init()");
  if (pattern == nullptr || callbacks == nullptr) {
    return h->rt->refuse(h, "add_" + what + ": null pattern or callbacks");
  }
  rs_ws_callbacks cb{};
  std::memcpy(&cb, callbacks, std::min<size_t>(callbacks->struct_size, sizeof cb));
  if (cb.on_message == nullptr) return h->rt->refuse(h, "add_" + what + ": no on_message");
  const rs_route_options o = copy_route_options(options);
  http::RouteOptions ro;
  if (!route_middleware(h, what.c_str(), o, true, ro)) return -1;
  try {
    h->rt->env.ws->add_endpoint(*h->rt->env.router, pattern,
                                std::make_shared<PluginWsEndpoint>(h, cb, user, pattern),
                                std::move(ro));
  } catch (const std::exception& e) {
    return h->rt->refuse(h, "add_" + what + ": " + e.what());
  }
  return 0;
}

int api_add_topic_listener(rs_host* h, const char* topic,
                           void (*fn)(void*, rs_shard*, rs_str, rs_str), void* user) {
  if (h == nullptr) return -1;
  if (!h->initialising) return h->rt->refuse(h, "add_topic_listener: only during init()");
  if (topic == nullptr || fn == nullptr) return h->rt->refuse(h, "add_topic_listener: null");
  std::string name(topic);
  h->rt->env.ws->add_topic_listener(
      name, [h, fn, user, name](engine::Shard& shard, std::string_view payload) {
        rs_shard* s = h->shards[shard.index()].get();
        try {
          fn(user, s, rs(name), rs(payload));
        } catch (...) {
          h->rt->failure(h, static_cast<int>(shard.index()), "topic listener " + name,
                         "threw: " + exception_text());
        }
      });
  return 0;
}

void fill_ws_api(rs_host_api& a) {
  a.upgrade_refuse = &api_upgrade_refuse;
  a.upgrade_set_user = &api_upgrade_set_user;
  a.ws_send = &api_ws_send;
  a.ws_close = &api_ws_close;
  a.ws_user = &api_ws_user;
  a.ws_set_user = &api_ws_set_user;
  a.ws_shard = &api_ws_shard;
  a.ws_handle = &api_ws_handle;
  a.ws_find = &api_ws_find;
  a.ws_buffered = &api_ws_buffered;
  a.ws_subscribe = &api_ws_subscribe;
  a.ws_unsubscribe = &api_ws_unsubscribe;
  a.publish = &api_publish;
}

}  // namespace ringshard::server
