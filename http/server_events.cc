// http/server_events.cc: the HTTP driver after a request is dispatched:
// resuming once it is answered (deferred to a shard task when the answer
// comes from another connection's handler), handing an upgraded
// connection over, writable and half-close notices, timeouts, drain, the
// streamed-response producer, and the handler factory. server.cc has the
// connection's open/close and request processing; server_output.cc the
// response side.
#include <functional>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "http/http_connection.h"
#include "http/server.h"
#include "http/status.h"

namespace ringshard::http {

void HttpServer::resume(engine::Connection& conn, HttpConnection& hc) {
  // Answered from inside a handler (defer() then send() at once): the
  // process() loop on the stack picks up the next request itself.
  if (hc.in_process) return;
  if (processing_ != 0) {
    defer_resume(conn, hc);  // answered from another connection's handler
    return;
  }
  if (!hc.carry.empty() || hc.io_active) {
    const size_t used = process(conn, hc, hc.carry.view());
    if (hc.phase == HttpConnection::Phase::kUpgraded) {
      complete_upgrade(conn, hc, hc.carry.view().substr(used));
      return;
    }
    if (!conn.is_open()) return;
    if (hc.phase != HttpConnection::Phase::kDone) hc.carry.consume(shard_.buffers(), used);
  }
  if (!conn.is_open()) return;
  if (hc.io_active) {
    sync_reading(conn, hc);
  } else if (hc.phase != HttpConnection::Phase::kWaiting &&
             hc.phase != HttpConnection::Phase::kStreaming) {
    conn.resume_reading();
  }
  arm_idle_or_header(conn, hc);
}

void HttpServer::complete_upgrade(engine::Connection& conn, HttpConnection& hc,
                                  std::string_view rest) {
  engine::ConnectionHandler& next = *hc.upgrade_handler;
  if (!conn.is_open()) {
    // Closed while upgrading: the new owner never got the connection, but
    // it owns the context it prepared (a pooled WebSocket): its on_close
    // releases that, without on_open having run. HTTP keeps the rest.
    void* context = std::exchange(hc.upgrade_context, nullptr);
    hc.upgrade_handler = nullptr;
    hc.phase = HttpConnection::Phase::kDone;
    if (context != nullptr) {
      conn.set_context(context);
      next.on_close(conn);
      conn.set_context(&hc);
    }
    return;
  }
  metrics_.upgrades.add();
  conn.clear_timeout();
  conn.set_handler(&next);
  conn.set_context(hc.upgrade_context);
  conn.resume_reading();
  next.on_open(conn);
  // `rest` may live in hc.carry: hand it over before releasing the state.
  if (!rest.empty() && conn.is_open()) next.on_data(conn, std::span<const char>(rest.data(), rest.size()));
  release_state(&hc);
}

void HttpServer::on_writable(engine::Connection& conn) {
  HttpConnection& hc = *state(conn);
  if (hc.phase == HttpConnection::Phase::kStreaming) {
    if (hc.io_active && hc.io->writer) {
      writer_writable(conn, hc);
      if (!conn.is_open()) return;
    } else {
      run_producer(conn, hc);
    }
    if (hc.phase == HttpConnection::Phase::kStreaming) {
      arm_idle_or_header(conn, hc);
      return;
    }
  }
  if (conn.is_open()) resume(conn, hc);
}

void HttpServer::defer_resume(engine::Connection& conn, HttpConnection& hc) {
  deferred_.conns.push_back({conn.slot(), conn.generation(), &hc});
  if (!deferred_.posted) {
    deferred_.posted = true;
    shard_.post_task(&deferred_);  // runs at the start of the next loop turn
  }
}

void HttpServer::run_deferred_resumes(engine::ShardTask* task, engine::Shard* shard) {
  auto& d = *static_cast<DeferredResumes*>(task);
  d.posted = false;
  std::vector<DeferredResumes::Entry> conns;
  conns.swap(d.conns);
  if (shard == nullptr) return;  // the shard has stopped
  for (const DeferredResumes::Entry& e : conns) {
    // Closed, or handed to another protocol since: nothing to resume.
    engine::Connection* c = shard->find_connection(e.slot, e.generation);
    if (c == nullptr || c->context() != e.state) continue;
    d.server->resume(*c, *e.state);
  }
  conns.clear();
  if (d.conns.empty()) d.conns.swap(conns);  // keeps the storage for next time
}

void HttpServer::on_peer_closed(engine::Connection& conn) {
  HttpConnection& hc = *state(conn);
  using P = HttpConnection::Phase;
  if (hc.io_active && hc.body_open) {
    // The body may be whole in the input buffer already (a client that
    // half-closes after sending): pump_body fails it only when it runs
    // out of bytes.
    hc.io->peer_eof = true;
    hc.close_after = true;
    if (!hc.in_process) resume(conn, hc);
    return;
  }
  if (hc.phase == P::kWaiting || hc.phase == P::kStreaming ||
      (!hc.carry.empty() && hc.phase == P::kIdle)) {
    // A client may half-close after its last request: answer, then close.
    hc.close_after = true;
    if (hc.phase == P::kIdle) resume(conn, hc);
    return;
  }
  // Not close(): under TLS the flush sends our close_notify first. With an
  // empty queue this closes at the end of the loop turn.
  conn.close_after_flush(/*linger=*/false);
}

void HttpServer::on_timeout(engine::Connection& conn) {
  HttpConnection& hc = *state(conn);
  using T = HttpConnection::Timer;
  const T kind = hc.timer;
  hc.timer = T::kNone;
  switch (kind) {
    case T::kHeader:
      metrics_.header_timeouts.add();
      if (hc.carry.empty() && hc.phase == HttpConnection::Phase::kIdle) {
        conn.close();  // never sent a byte
      } else {
        refuse(conn, hc, 408, "request head not received in time");
      }
      break;
    case T::kBody:
      metrics_.body_timeouts.add();
      refuse(conn, hc, 408, "request body stalled");
      break;
    case T::kIdle:
      metrics_.idle_closes.add();
      conn.close();
      break;
    case T::kDrainGrace:
      // Idle through the grace: close carefully (a request that crosses
      // our FIN is read and dropped, not answered with a reset).
      metrics_.drain_idle_closes.add();
      hc.phase = HttpConnection::Phase::kDone;
      conn.close_after_flush();
      break;
    case T::kDeferred:
      if (hc.phase == HttpConnection::Phase::kWaiting) {
        deferred_timed_out(conn, hc);
      } else {
        conn.close();
      }
      break;
    case T::kStream:
      if (hc.io_active && hc.io->writer && hc.phase == HttpConnection::Phase::kStreaming) {
        writer_stalled(conn, hc);
        break;
      }
      conn.close();
      break;
    case T::kNone:
      conn.close();
      break;
  }
}

void HttpServer::on_drain(engine::Connection& conn) {
  HttpConnection& hc = *state(conn);
  // An idle keep-alive connection is not closed at once: its client may
  // have a request on the wire already, which would be lost. It gets the
  // grace period; a request that arrives meanwhile is served with
  // "Connection: close". A busy connection finishes what it has read; its
  // last response says close (write_head) and the connection closes after.
  if (hc.phase == HttpConnection::Phase::kIdle && hc.carry.empty()) arm_drain_grace(conn, hc);
}

void HttpServer::arm_drain_grace(engine::Connection& conn, HttpConnection& hc) {
  if (hc.timer == HttpConnection::Timer::kDrainGrace) return;  // idle since
  uint64_t grace = config_->drain_idle_grace_ms;
  const uint64_t now = shard_.now_ms();
  const uint64_t deadline = shard_.drain_deadline_ms();
  // Never past the drain deadline: leave the last moments to a careful
  // close rather than the deadline's hard one.
  if (deadline > now && now + grace > deadline) grace = deadline - now;
  conn.set_timeout(grace);
  hc.timer = HttpConnection::Timer::kDrainGrace;
}

void HttpServer::deferred_timed_out(engine::Connection& conn, HttpConnection& hc) {
  metrics_.deferred_timeouts.add();
  // The handle dies first (the phase moves on), so an application that
  // tries to answer from inside its abort notice gets false, not a second
  // response.
  hc.phase = HttpConnection::Phase::kIdle;
  hc.more_behind = !hc.carry.empty();
  std::function<void(AbortReason)> notify = std::move(hc.on_abort);
  hc.on_abort = nullptr;
  Response res;
  res.bind(this, &hc, &conn);
  res.ctx_ = hc.ctx;
  for (const auto& [name, value] : hc.held_headers) res.header(name, value);
  hc.held_headers.clear();
  res.send_error(504, "the application did not answer in time");
  if (notify) notify(AbortReason::kTimeout);
  if (conn.is_open()) resume(conn, hc);
}

void HttpServer::run_producer(engine::Connection& conn, HttpConnection& hc) {
  if (hc.in_producer || !hc.producer) return;
  BodyStream stream;
  stream.server_ = this;
  stream.hc_ = &hc;
  stream.conn_ = &conn;
  hc.in_producer = true;
  // Keep the callable alive across the call even if it ends the stream.
  Producer producer = hc.producer;
  try {
    producer(stream);
  } catch (...) {
    metrics_.handler_exceptions.add();
    hc.in_producer = false;
    conn.close();  // the head is out: the only honest signal left
    return;
  }
  hc.in_producer = false;
  if (!stream.ended_ && conn.is_open()) conn.request_writable();
}


}  // namespace ringshard::http

namespace ringshard::http {

std::unique_ptr<engine::ConnectionHandler> make_http_handler(engine::Shard& shard,
                                                             const ServerConfig& config,
                                                             const Router& router) {
  return std::make_unique<HttpServer>(shard, config, router);
}

}  // namespace ringshard::http
