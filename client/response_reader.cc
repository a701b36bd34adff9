// The response side of HttpClient: reading a response off a pooled
// connection (head through http::ResponseParser, then the body by
// Content-Length, chunked coding or until close), handing a 101's
// connection over, pausing delivery for a slow sink and resuming it.
#include <algorithm>

#include "client/exchange.h"
#include "client/http_client.h"
#include "client/pool.h"

namespace ringshard::client {

namespace {

Framing framing_of(http::ResponseBodyKind k) {
  switch (k) {
    case http::ResponseBodyKind::kNone: return Framing::kNone;
    case http::ResponseBodyKind::kContentLength: return Framing::kContentLength;
    case http::ResponseBodyKind::kChunked: return Framing::kChunked;
    case http::ResponseBodyKind::kUntilClose: return Framing::kUntilClose;
  }
  return Framing::kNone;
}

}  // namespace

void HttpClient::leave(UpstreamConnection& uc) {
  if (--uc.in_handler == 0 && uc.dead) {
    uc.dead = false;
    forget(uc);
  }
}

void HttpClient::on_response_data(UpstreamConnection& uc, std::string_view data) {
  Exchange* exp = uc.ex;
  if (uc.state != ConnState::kBusy || exp == nullptr || uc.phase == ReadPhase::kDone) {
    // Bytes nobody asked for (an idle connection, a response already
    // complete): the connection is out of sync and must not carry another
    // request.
    if (uc.state == ConnState::kIdle) uc.up->metrics_.idle_closed.add();
    if (uc.ex != nullptr) uc.keep_alive = false;
    if (uc.ex == nullptr) drop(uc);
    return;
  }
  Exchange& ex = *exp;
  const uint32_t gen = ex.generation;
  const UpstreamOptions& o = ex.up->options_;
  ++uc.in_handler;
  ex.got_byte = true;
  uc.conn->set_timeout(o.timeouts.idle_body_ms);
  std::string joined;  // a partial head or chunk line plus this receive
  std::string_view in = data;
  bool go = true;
  while (go && alive(&ex, gen) && uc.ex == &ex) {
    switch (uc.phase) {
      case ReadPhase::kHead: {
        std::string_view buf = in;
        if (!uc.carry.empty()) {
          uc.carry.append(in);
          joined.swap(uc.carry);
          uc.carry.clear();
          buf = joined;
        }
        const http::ParseResult r = uc.parser.parse(buf, *parsed_, uc.head_request);
        if (r.status == http::ParseStatus::kError) {
          unbind(ex);
          drop(uc);
          finish_error(ex, ClientError::kBadResponse, r.reason);
          go = false;
          break;
        }
        if (r.status == http::ParseStatus::kPartial) {
          uc.carry.assign(buf);
          go = false;
          break;
        }
        go = on_head_complete(uc, ex, buf.substr(r.consumed));
        if (go) in = buf.substr(r.consumed);
        // `joined` may back `in`: it is not touched again in this turn
        // except by the chunked case, which copies before reusing it.
        break;
      }
      case ReadPhase::kLength: {
        const auto n = static_cast<size_t>(std::min<uint64_t>(uc.body_left, in.size()));
        const std::string_view piece = in.substr(0, n);
        in.remove_prefix(n);
        uc.body_left -= n;
        if (n > 0 && !deliver(uc, ex, piece)) {
          go = false;
          break;
        }
        if (uc.body_left == 0) {
          if (!in.empty()) uc.keep_alive = false;  // bytes past the response
          response_complete(uc, ex);
        }
        go = false;
        break;
      }
      case ReadPhase::kChunked: {
        std::string local;
        std::string_view buf = in;
        if (!uc.carry.empty()) {
          local.swap(uc.carry);
          local.append(in);
          buf = local;
        }
        bool ok = true;
        const http::ChunkedResult r = uc.chunked.feed(buf, [&](std::string_view piece) {
          if (ok && alive(&ex, gen) && uc.ex == &ex) ok = deliver(uc, ex, piece);
        });
        if (!ok || !alive(&ex, gen) || uc.ex != &ex) {
          go = false;
          break;
        }
        if (r.status == http::ChunkedStatus::kError) {
          unbind(ex);
          drop(uc);
          finish_error(ex, ClientError::kBadResponse,
                       r.error_status == 413 ? "response body over the limit" : r.reason);
          go = false;
          break;
        }
        if (r.status == http::ChunkedStatus::kNeedMore) {
          uc.carry.assign(buf.substr(r.consumed));
          go = false;
          break;
        }
        if (r.consumed < buf.size()) uc.keep_alive = false;
        response_complete(uc, ex);
        go = false;
        break;
      }
      case ReadPhase::kUntilClose:
        if (!in.empty()) deliver(uc, ex, in);
        go = false;
        break;
      case ReadPhase::kDone:
        go = false;
        break;
    }
  }
  leave(uc);
}

bool HttpClient::on_head_complete(UpstreamConnection& uc, Exchange& ex, std::string_view rest) {
  const http::ParsedResponse& p = *parsed_;
  Upstream& up = *ex.up;
  const UpstreamOptions& o = up.options_;
  if (p.status < 200 && p.status != 101) {
    uc.parser.reset();  // interim (100 Continue, 103 Early Hints): the final one follows
    return true;
  }
  if (p.status == 101) {
    // The sink sees the 101's head first (a relay answers its own client
    // with these fields: Sec-WebSocket-Accept, -Protocol, -Extensions),
    // then gets the connection.
    ResponseHeadView view;
    view.status = p.status;
    view.reason = p.reason;
    view.headers = std::span<const http::Header>(p.headers.data(), p.header_count);
    view.framing = Framing::kNone;
    view.keep_alive = false;
    ex.head_delivered = true;
    const uint32_t gen = ex.generation;
    ex.sink->on_head(view);
    if (!alive(&ex, gen) || uc.ex != &ex) return false;
    upgrade(uc, ex, rest);
    return false;
  }
  const auto& statuses = o.retry.statuses;
  if (std::find(statuses.begin(), statuses.end(), p.status) != statuses.end() &&
      ex.replayable() && take_retry(ex)) {
    unbind(ex);
    drop(uc);
    schedule_retry(ex);
    return false;
  }
  if (o.max_response_body != 0 && p.body_kind == http::ResponseBodyKind::kContentLength &&
      p.content_length > o.max_response_body) {
    unbind(ex);
    drop(uc);
    finish_error(ex, ClientError::kBadResponse, "response body over the limit");
    return false;
  }
  uc.keep_alive = p.keep_alive;
  ResponseHeadView view;
  view.status = p.status;
  view.reason = p.reason;
  view.headers = std::span<const http::Header>(p.headers.data(), p.header_count);
  view.framing = framing_of(p.body_kind);
  view.content_length = p.content_length;
  view.keep_alive = p.keep_alive;
  ex.head_delivered = true;
  up.metrics_.responses[p.status / 100 < 6 ? p.status / 100 : 0].add();
  const uint32_t gen = ex.generation;
  ex.sink->on_head(view);
  if (!alive(&ex, gen) || uc.ex != &ex) return false;
  switch (p.body_kind) {
    case http::ResponseBodyKind::kNone:
      response_complete(uc, ex);
      return false;
    case http::ResponseBodyKind::kContentLength:
      uc.body_left = p.content_length;
      if (uc.body_left == 0) {
        if (!rest.empty()) uc.keep_alive = false;
        response_complete(uc, ex);
        return false;
      }
      uc.phase = ReadPhase::kLength;
      return true;
    case http::ResponseBodyKind::kChunked:
      uc.chunked.reset();
      uc.phase = ReadPhase::kChunked;
      return true;
    case http::ResponseBodyKind::kUntilClose:
      uc.keep_alive = false;
      uc.phase = ReadPhase::kUntilClose;
      return true;
  }
  return false;
}

void HttpClient::upgrade(UpstreamConnection& uc, Exchange& ex, std::string_view rest) {
  Upstream& up = *ex.up;
  engine::Connection& c = *uc.conn;
  up.metrics_.responses[1].add();
  unbind(ex);
  // The connection leaves the pool: the sink's now.
  c.clear_timeout();
  c.set_context(nullptr);
  c.set_handler(&orphan_handler());
  uc.conn = nullptr;
  uc.state = ConnState::kClosing;
  up.metrics_.open.sub();
  forget(uc);  // deferred: on_response_data is still on its stack
  shard_.timers().disarm(ex.total_timer);
  shard_.timers().disarm(ex.wait_timer);
  ResponseSink* sink = ex.sink;
  std::unique_ptr<ResponseSink> owned = std::move(ex.owned_sink);
  up.metrics_.latency.observe(std::chrono::steady_clock::now() - ex.started);
  free_exchange(ex);
  sink->on_upgrade(c, rest);
}

bool HttpClient::deliver(UpstreamConnection& uc, Exchange& ex, std::string_view piece) {
  const uint64_t limit = ex.up->options_.max_response_body;
  if (limit != 0 && uc.phase == ReadPhase::kUntilClose) {
    uc.body_left += piece.size();  // counts up for close-delimited bodies
    if (uc.body_left > limit) {
      unbind(ex);
      drop(uc);
      finish_error(ex, ClientError::kBadResponse, "response body over the limit");
      return false;
    }
  }
  if (uc.paused) {
    uc.held.append(piece);
    return true;
  }
  const uint32_t gen = ex.generation;
  const bool more = ex.sink->on_body(piece);
  if (!alive(&ex, gen) || uc.ex != &ex) return false;
  if (!more) {
    uc.paused = true;
    uc.conn->pause_reading();
  }
  return true;
}

void HttpClient::response_complete(UpstreamConnection& uc, Exchange& ex) {
  uc.phase = ReadPhase::kDone;
  if (uc.paused) {
    uc.end_pending = true;  // on_end after the held bytes, at resume()
    return;
  }
  const bool reuse = uc.keep_alive && ex.request_sent && !uc.peer_closed &&
                     uc.conn != nullptr && uc.conn->is_open() && !uc.dead;
  ex.up->metrics_.latency.observe(std::chrono::steady_clock::now() - ex.started);
  unbind(ex);
  if (reuse) {
    uc.reused = true;
    release(uc);
  } else {
    drop(uc);
  }
  finish_ok(ex);
}

void HttpClient::response_eof(UpstreamConnection& uc) {
  Exchange* ex = uc.ex;
  if (uc.state != ConnState::kBusy || ex == nullptr) {
    if (uc.state == ConnState::kIdle) uc.up->metrics_.idle_closed.add();
    drop(uc);
    return;
  }
  if (uc.phase == ReadPhase::kUntilClose) {
    ++uc.in_handler;
    response_complete(uc, *ex);  // drops uc (not keep-alive) unless paused
    leave(uc);
    return;
  }
  uc.peer_closed = true;
  if (uc.phase == ReadPhase::kDone) return;  // paused with on_end pending
  const bool stale = uc.reused && !ex->got_byte;
  unbind(*ex);
  drop(uc);
  attempt_failed(*ex, ClientError::kReset, "connection closed before the response ended", stale);
}

void HttpClient::resume(Exchange& ex) {
  UpstreamConnection* ucp = ex.conn;
  if (ucp == nullptr || !ucp->paused) return;
  UpstreamConnection& uc = *ucp;
  const uint32_t gen = ex.generation;
  uc.paused = false;
  ++uc.in_handler;
  if (!uc.held.empty()) {
    // Already counted against the body limit when they arrived.
    std::string held;
    held.swap(uc.held);
    const bool more = ex.sink->on_body(held);
    if (alive(&ex, gen) && uc.ex == &ex) {
      if (!more) uc.paused = true;  // reading is still paused
      held.clear();
      if (uc.held.empty()) uc.held.swap(held);  // keep the capacity
    }
  }
  if (alive(&ex, gen) && uc.ex == &ex && !uc.paused) {
    if (uc.end_pending) {
      uc.end_pending = false;
      response_complete(uc, ex);
    } else if (uc.conn != nullptr) {
      uc.conn->resume_reading();
    }
  }
  leave(uc);
}

}  // namespace ringshard::client
