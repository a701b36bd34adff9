#include "proxy/tunnel.h"

#include <algorithm>

namespace ringshard::proxy {

class Tunnel {
 public:
  engine::Connection* conn[2] = {nullptr, nullptr};
  // Bytes read from side i while the other side was not attached yet.
  std::string pending[2];
  bool attached[2] = {false, false};
  bool closed[2] = {false, false};
  bool counted_open = false;
  uint32_t idle_ms = 0;
  size_t live_index = 0;
};

namespace {
TunnelHandler::Side other(TunnelHandler::Side s) {
  return s == TunnelHandler::kClient ? TunnelHandler::kUpstream : TunnelHandler::kClient;
}
}  // namespace

TunnelHandler::~TunnelHandler() {
  // The shard is exiting: its connections are gone without further
  // callbacks; free what is left.
  for (Tunnel* t : live_) delete t;
}

Tunnel* TunnelHandler::create(uint32_t idle_timeout_ms) {
  auto* t = new Tunnel();
  t->idle_ms = idle_timeout_ms;
  t->live_index = live_.size();
  live_.push_back(t);
  return t;
}

void TunnelHandler::release_side(Tunnel& t, Side side) {
  t.closed[side] = true;
  t.conn[side] = nullptr;
  t.pending[side].clear();
  if (!t.closed[other(side)]) return;
  if (t.counted_open) metrics_.closed.add();
  // Unlink (swap with the last) and free.
  Tunnel* last = live_.back();
  live_[t.live_index] = last;
  last->live_index = t.live_index;
  live_.pop_back();
  delete &t;
}

void TunnelHandler::abandon(Tunnel* t) {
  if (t == nullptr) return;
  for (Side s : {kClient, kUpstream}) {
    if (!t->attached[s]) t->closed[s] = true;
  }
  // Copied first: a close can complete at once and free the tunnel.
  engine::Connection* sides[2] = {t->conn[kClient], t->conn[kUpstream]};
  if (sides[0] == nullptr && sides[1] == nullptr) {
    t->closed[kClient] = false;  // release_side() frees once both are closed
    release_side(*t, kClient);
    return;
  }
  for (engine::Connection* c : sides) {
    if (c != nullptr) c->close();  // on_close() releases the side (maybe at once)
  }
}

void TunnelHandler::attach(Tunnel& t, engine::Connection& conn, Side side,
                           std::string_view pending) {
  conn.set_handler(this);
  conn.set_context(&t);
  t.attached[side] = true;
  t.conn[side] = &conn;
  if (!conn.is_open() || t.closed[other(side)]) {
    // Too late: the other side is gone already (or this one is).
    conn.close();
    return;
  }
  if (t.attached[other(side)] && !t.counted_open) {
    t.counted_open = true;
    metrics_.opened.add();
  }
  touch(t);
  // What the other side sent before this one was here.
  std::string& waiting = t.pending[other(side)];
  if (!waiting.empty()) {
    conn.write(waiting);
    std::string().swap(waiting);
    if (engine::Connection* o = t.conn[other(side)]; o != nullptr) o->resume_reading();
  }
  if (!pending.empty()) forward(t, side, pending);
}

void TunnelHandler::on_open(engine::Connection& conn) {
  // The client side, handed over by Response::upgrade().
  auto* t = static_cast<Tunnel*>(conn.context());
  attach(*t, conn, kClient, {});
}

void TunnelHandler::touch(Tunnel& t) {
  if (t.idle_ms == 0) return;
  for (engine::Connection* c : t.conn) {
    if (c != nullptr && c->is_open()) c->set_timeout(t.idle_ms);
  }
}

void TunnelHandler::forward(Tunnel& t, Side from, std::string_view data) {
  engine::Connection* src = t.conn[from];
  engine::Connection* dst = t.conn[other(from)];
  (from == kClient ? metrics_.bytes_to_upstream : metrics_.bytes_to_client).add(data.size());
  if (dst == nullptr) {
    if (t.closed[other(from)]) return;  // nobody to hear it
    t.pending[from].append(data);
    if (src != nullptr && t.pending[from].size() > shard_.send_queue_limit()) {
      src->pause_reading();  // resumed by attach()
    }
    return;
  }
  dst->write(data);
  if (dst->over_send_limit() && src != nullptr) {
    src->pause_reading();
    dst->request_writable();
  }
  touch(t);
}

void TunnelHandler::on_data(engine::Connection& conn, std::span<const char> data) {
  auto* t = static_cast<Tunnel*>(conn.context());
  const Side from = t->conn[kClient] == &conn ? kClient : kUpstream;
  forward(*t, from, std::string_view(data.data(), data.size()));
}

void TunnelHandler::on_writable(engine::Connection& conn) {
  auto* t = static_cast<Tunnel*>(conn.context());
  const Side to = t->conn[kClient] == &conn ? kClient : kUpstream;
  if (engine::Connection* src = t->conn[other(to)]; src != nullptr) src->resume_reading();
}

void TunnelHandler::end(Tunnel& t, Side from) {
  // One side is done: the other gets what is queued for it, then closes.
  if (engine::Connection* dst = t.conn[other(from)]; dst != nullptr) {
    dst->close_after_flush(/*linger=*/false);
  }
  if (engine::Connection* src = t.conn[from]; src != nullptr) src->close_after_flush(false);
}

void TunnelHandler::on_peer_closed(engine::Connection& conn) {
  auto* t = static_cast<Tunnel*>(conn.context());
  end(*t, t->conn[kClient] == &conn ? kClient : kUpstream);
}

void TunnelHandler::on_timeout(engine::Connection& conn) {
  auto* t = static_cast<Tunnel*>(conn.context());
  metrics_.idle_closes.add();
  // Copied first: a close can complete at once and free the tunnel.
  engine::Connection* sides[2] = {t->conn[kClient], t->conn[kUpstream]};
  for (engine::Connection* c : sides) {
    if (c != nullptr) c->close();
  }
}

void TunnelHandler::on_drain(engine::Connection& conn) {
  auto* t = static_cast<Tunnel*>(conn.context());
  end(*t, t->conn[kClient] == &conn ? kClient : kUpstream);
}

void TunnelHandler::on_close(engine::Connection& conn) {
  auto* t = static_cast<Tunnel*>(conn.context());
  conn.set_context(nullptr);
  if (t == nullptr) return;
  // Response::upgrade() calls on_close() without on_open() when the client
  // left before the hand-over: that side was never attached.
  const Side side = t->conn[kUpstream] == &conn ? kUpstream : kClient;
  if (engine::Connection* o = t->conn[other(side)]; o != nullptr) o->close_after_flush(false);
  if (!t->attached[other(side)]) t->closed[other(side)] = true;
  release_side(*t, side);
}

}  // namespace ringshard::proxy
