#include "ws/server.h"

#include <exception>
#include <string>

#include "engine/connection.h"
#include "engine/shard.h"
#include "http/server.h"
#include "ws/driver.h"
#include "ws/handshake.h"

namespace ringshard::ws {

namespace {

// Runs on each target shard: fans the publication out, then lets go of it
// (the last shard frees it).
void deliver_publication(engine::Shard& target, const engine::ShardMessage& msg) {
  auto* pub = static_cast<Publication*>(msg.ptr);
  auto* driver = reinterpret_cast<Driver*>(static_cast<uintptr_t>(msg.a));
  driver->deliver(target, *pub);
  if (pub->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete pub;
}

void upgrade(WsServer& server, Driver& driver, const Endpoint& endpoint,
             http::ServerRequest& req, http::Response& res) {
  WsMetrics& m = driver.metrics();
  const http::Request& head = req.head();
  const HandshakeCheck check = check_upgrade(head);
  if (check.status != 0) {
    m.refused.add();
    if (check.status == 426) res.header("Sec-WebSocket-Version", "13");
    res.send_error(check.status, check.reason);
    return;
  }
  if (req.shard().draining()) {
    m.refused.add();
    res.send_error(503, "server is shutting down");
    return;
  }
  const std::vector<std::string> protocols = endpoint.protocols();
  UpgradeDecision decision;
  decision.protocol = std::string(select_subprotocol(head, protocols));
  endpoint.on_upgrade(req, decision);  // a throw becomes the router's 500
  if (decision.refuse_status != 0) {
    m.refused.add();
    res.send_error(decision.refuse_status,
                   decision.refuse_reason.empty() ? "WebSocket upgrade refused"
                                                  : decision.refuse_reason);
    return;
  }
  DeflateOffer offer;
  if (server.config().deflate.enabled) {
    const std::string offers = extension_offers(head);
    if (!offers.empty()) {
      offer = negotiate_deflate(offers, server.config().deflate);
      if (offer.error) {
        m.refused.add();
        res.send_error(400, offer.reason.empty() ? "malformed Sec-WebSocket-Extensions"
                                                 : offer.reason);
        return;
      }
    }
  }
  WebSocket* ws = driver.make_socket(endpoint, decision.user_data, decision.protocol,
                                     offer.accepted ? &offer.params : nullptr);
  std::string head101;
  write_101(head101, check.key, decision.protocol,
            offer.accepted ? std::string_view(offer.response) : std::string_view());
  // Refused (the response was already answered): the socket goes back.
  if (!res.upgrade(head101, driver, ws)) driver.discard_socket(ws);
}

}  // namespace

WsServer::WsServer(unsigned shards, const WsConfig& config) : config_(config) {
  drivers_.reserve(shards);
  for (unsigned i = 0; i < shards; ++i) drivers_.push_back(std::make_unique<Driver>(*this, i));
}

WsServer::~WsServer() = default;

void WsServer::add_endpoint(http::Router& router, std::string_view path,
                            std::shared_ptr<const Endpoint> endpoint, http::RouteOptions options) {
  const Endpoint* ep = endpoint.get();
  router.add(
      http::Method::kGet, path,
      [this, ep](http::ServerRequest& req, http::Response& res) {
        upgrade(*this, *drivers_[req.shard().index()], *ep, req, res);
      },
      std::move(options));
  endpoints_.push_back(std::move(endpoint));
}

void WsServer::publish(engine::Shard& from, std::string_view topic, std::string_view message,
                       bool text) {
  drivers_[from.index()]->metrics().published.add();
  auto* pub = new Publication{};
  pub->refs.store(static_cast<uint32_t>(drivers_.size()), std::memory_order_relaxed);
  pub->text = text;
  pub->topic.assign(topic);
  pub->payload.assign(message);
  // Found once here rather than on every shard; no lookup at all while no
  // listener exists (the common case).
  if (!listeners_.empty()) {
    if (auto it = listeners_.find(topic); it != listeners_.end()) pub->listeners = &it->second;
  }
  for (unsigned i = 0; i < drivers_.size(); ++i) {
    engine::ShardMessage msg;
    msg.fn = &deliver_publication;
    msg.ptr = pub;
    msg.a = reinterpret_cast<uintptr_t>(drivers_[i].get());
    from.post(i, msg);
  }
}

void WsServer::add_topic_listener(
    std::string topic, std::function<void(engine::Shard& shard, std::string_view payload)> fn) {
  listeners_[std::move(topic)].push_back(std::move(fn));
}

WebSocket* WsServer::find(engine::Shard& shard, WebSocketHandle h) {
  engine::Connection* c = shard.find_connection(h.slot, h.generation);
  if (c == nullptr || c->handler() != drivers_[shard.index()].get()) return nullptr;
  return static_cast<WebSocket*>(c->context());
}

size_t WsServer::subscribers(unsigned shard, std::string_view topic) const {
  Topic* t = drivers_[shard]->topics().find(topic);
  return t == nullptr ? 0 : t->subscribers.size();
}

const WsMetrics& WsServer::metrics(unsigned shard) const { return drivers_[shard]->metrics(); }

// --- WebSocket ----------------------------------------------------------------

SendStatus WebSocket::send(std::string_view message, bool text) {
  return driver_->send(*this, message, text);
}

void WebSocket::close(uint16_t code, std::string_view reason) { driver_->close(*this, code, reason); }

bool WebSocket::subscribe(std::string_view topic) {
  if (conn_ == nullptr) return false;
  return driver_->topics().subscribe(*this, topic);
}

bool WebSocket::unsubscribe(std::string_view topic) {
  return driver_->topics().unsubscribe(*this, topic);
}

bool WebSocket::subscribed(std::string_view topic) const {
  return driver_->topics().subscribed(*this, topic);
}

void WebSocket::publish(std::string_view topic, std::string_view message, bool text) {
  driver_->server().publish(conn_->shard(), topic, message, text);
}

size_t WebSocket::buffered() const { return conn_ == nullptr ? 0 : conn_->queued_bytes(); }

WebSocketHandle WebSocket::handle() const {
  return conn_ == nullptr ? WebSocketHandle{} : WebSocketHandle{conn_->slot(), conn_->generation()};
}

engine::Shard& WebSocket::shard() const { return conn_->shard(); }

WsServer& WebSocket::server() const { return driver_->server(); }

size_t WebSocket::deflate_memory() const {
  size_t n = 0;
  if (deflater_ != nullptr) n += deflater_->memory();
  if (inflater_ != nullptr) n += inflater_->memory();
  return n;
}

}  // namespace ringshard::ws
