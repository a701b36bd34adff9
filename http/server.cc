// http/server.cc: the HTTP driver (an engine ConnectionHandler): a
// connection's open and close, request processing (parse, limits, router,
// middleware, dispatch) and the data handler. After dispatch:
// server_events.cc; the response side: server_output.cc.
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <ctime>
#include <exception>
#include <string>
#include <utility>

#include "http/http_connection.h"
#include "http/response_head.h"
#include "http/status.h"

namespace ringshard::http {

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Strips "http://host" from an absolute-form target, leaving the path.
std::string_view origin_path(std::string_view path) {
  if (!path.empty() && path.front() == '/') return path;  // origin-form
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (path.size() >= scheme.size() && iequals(path.substr(0, scheme.size()), scheme)) {
      const size_t slash = path.find('/', scheme.size());
      return slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
    }
  }
  return path;
}

}  // namespace

// --- HttpServer -------------------------------------------------------------

HttpServer::HttpServer(engine::Shard& shard, const ServerConfig& config, const Router& router)
    : shard_(shard), config_(&config), router_(router) {
  deferred_.server = this;
  deferred_.run = &HttpServer::run_deferred_resumes;
  // Main routes, one for unmatched requests, then the admin routes.
  const size_t n = router.size() + 1 + (config.admin_router != nullptr ? config.admin_router->size() : 0);
  if (config.route_metrics) {
    route_stats_.reserve(n);
    for (size_t i = 0; i < n; ++i) route_stats_.push_back(std::make_unique<RouteStats>());
  }
  if (config.access_log != nullptr) {
    log_timer_.callback = &HttpServer::log_tick;
    log_timer_.context = this;
    shard_.timers().arm(log_timer_, shard_.now_ms() + kLogTickMs);
  }
}

HttpServer::~HttpServer() {
  shard_.timers().disarm(log_timer_);
  for (HttpConnection* hc : free_states_) delete hc;
}

HttpConnection* HttpServer::state(engine::Connection& conn) {
  return static_cast<HttpConnection*>(conn.context());
}

void HttpServer::on_open(engine::Connection& conn) {
  HttpConnection* hc;
  if (!free_states_.empty()) {
    hc = free_states_.back();
    free_states_.pop_back();
  } else {
    hc = new HttpConnection(config_->parser);
  }
  hc->parser = RequestParser(config_->parser);  // limits may have been reloaded
  hc->reset(config_->max_body_bytes);
  conn.set_context(hc);
  if (config_->connection_caps != nullptr && !conn.outbound()) {
    // Counted by client address; over a cap the connection closes before
    // a byte of it is read (on_close gives nothing back: it was not counted).
    ratelimit::ConnectionCaps& caps = *config_->connection_caps;
    socklen_t len = 0;
    const sockaddr* peer = peer_address(conn, *hc, len);
    hc->cap_key = peer != nullptr ? caps.key(peer, len) : ratelimit::ConnKey();
    if (!caps.try_open(hc->cap_key)) {
      metrics_.connections_refused.add();
      conn.close();
      return;
    }
  }
  // Nothing has arrived yet: a connection that never sends a byte is
  // closed by the header timeout, not kept for the idle one.
  conn.set_timeout(config_->header_timeout_ms);
  hc->timer = HttpConnection::Timer::kHeader;
}

void HttpServer::on_close(engine::Connection& conn) {
  HttpConnection* hc = state(conn);
  if (hc != nullptr && hc->io_active) close_streamed(*hc);
  if (hc != nullptr && hc->phase == HttpConnection::Phase::kWaiting) {
    metrics_.deferred_aborts.add();
    hc->phase = HttpConnection::Phase::kDone;  // the handle is invalid from here
    if (auto notify = std::move(hc->on_abort)) notify(AbortReason::kClosed);
  }
  conn.set_context(nullptr);
  release_state(hc);
}

void HttpServer::release_state(HttpConnection* hc) {
  if (hc == nullptr) return;
  if (config_->connection_caps != nullptr) config_->connection_caps->close(hc->cap_key);
  hc->cap_key = ratelimit::ConnKey();
  hc->carry.release(shard_.buffers());
  hc->producer = nullptr;
  hc->peer_len = 0;
  hc->remote_len = 0;
  hc->filter.reset();
  hc->on_abort = nullptr;
  hc->held_ctx.reset();
  hc->ctx = nullptr;
  hc->route_mw = nullptr;
  hc->held_headers.clear();
  std::string().swap(hc->chunk_body);
  if (hc->io != nullptr) {
    shard_.timers().disarm(hc->io->body_timer);
    hc->io->clear_callbacks();
    hc->io->conn = nullptr;
  }
  hc->io_active = hc->body_open = false;
  // A pinned block is under a callback that closed its connection: the
  // code around the callback still reads it (to see that), so it is never
  // deleted here.
  if (free_states_.size() < 1024 || hc->pinned != 0) {
    free_states_.push_back(hc);
  } else {
    delete hc;
  }
}

void HttpServer::finish_response(engine::Connection& conn, HttpConnection& hc) {
  hc.producer = nullptr;
  hc.chunked_out = hc.length_out = false;
  if (hc.io_active) end_streamed_request(conn, hc);
  if (!hc.keep_alive || hc.close_after) {
    hc.phase = HttpConnection::Phase::kDone;
    // Nothing unread and the peer was told we close: no need to linger.
    // Bytes pipelined behind it, a body left unread (or a drain, when more
    // may be on the wire) still get the careful close.
    conn.close_after_flush(/*linger=*/!hc.carry.empty() || hc.body_open || shard_.draining());
    return;
  }
  hc.phase = HttpConnection::Phase::kIdle;
}

void HttpServer::refuse(engine::Connection& conn, HttpConnection& hc, uint16_t status,
                        std::string_view reason) {
  metrics_.parse_errors.add();
  size_t kind = kParseErrorKinds.size() - 1;
  for (size_t i = 0; i + 1 < kParseErrorKinds.size(); ++i) {
    if (kParseErrorKinds[i].status == status) kind = i;
  }
  metrics_.parse_errors_by_kind[kind].add();
  hc.keep_alive = false;
  const std::string body = error_body(status, reason);
  const uint64_t len = body.size();
  write_head(conn, hc, status, "application/json", &len, false, nullptr, body);
  hc.phase = HttpConnection::Phase::kDone;
  hc.carry.release(shard_.buffers());
  conn.close_after_flush();
}

void HttpServer::arm_idle_or_header(engine::Connection& conn, HttpConnection& hc) {
  using P = HttpConnection::Phase;
  using T = HttpConnection::Timer;
  switch (hc.phase) {
    case P::kIdle:
      if (hc.carry.empty()) {
        if (shard_.draining()) {
          arm_drain_grace(conn, hc);
          break;
        }
        // Re-armed after every batch that completed a response.
        conn.set_timeout(config_->idle_timeout_ms);
        hc.timer = T::kIdle;
        break;
      }
      [[fallthrough]];
    case P::kHead:
      // The header deadline runs from the first byte of the request and is
      // not extended by later bytes: that is what stops slowloris.
      if (hc.timer != T::kHeader) {
        conn.set_timeout(config_->header_timeout_ms);
        hc.timer = T::kHeader;
      }
      break;
    case P::kBody:
      conn.set_timeout(config_->body_timeout_ms);  // extended by progress
      hc.timer = T::kBody;
      break;
    case P::kStreaming:
      conn.set_timeout(hc.io_active && hc.io->stall_ms != 0 ? hc.io->stall_ms
                                                            : config_->stream_stall_ms);
      hc.timer = T::kStream;
      break;
    case P::kWaiting:
      // The deadline set by defer() runs on; input does not extend it.
      if (hc.timer != T::kDeferred) {
        conn.clear_timeout();
        hc.timer = T::kNone;
      }
      break;
    case P::kDone:
    case P::kUpgraded:
      if (hc.timer != T::kNone) {
        conn.clear_timeout();
        hc.timer = T::kNone;
      }
      break;
  }
}

size_t HttpServer::process(engine::Connection& conn, HttpConnection& hc, std::string_view in) {
  hc.in_process = true;
  ++processing_;
  const size_t used = process_requests(conn, hc, in);
  --processing_;
  hc.in_process = false;
  return used;
}

size_t HttpServer::process_requests(engine::Connection& conn, HttpConnection& hc,
                                    std::string_view in) {
  using P = HttpConnection::Phase;
  size_t pos = 0;
  for (;;) {
    if (hc.io_active) {
      // A streamed body comes first: the next request starts behind it.
      pos += pump_body(conn, hc, in.substr(pos));
      if (!conn.is_open() || hc.phase == P::kDone) return in.size();
      if (hc.body_open || hc.io_active) break;
    }
    if (pos >= in.size()) break;
    if (hc.phase == P::kWaiting || hc.phase == P::kStreaming || hc.phase == P::kDone) break;
    if (conn.over_send_limit()) {
      // Pipelined requests wait until the client reads what we sent.
      conn.request_writable();
      break;
    }
    const std::string_view rest = in.substr(pos);
    if (hc.phase == P::kIdle) hc.phase = P::kHead;
    // A Content-Length body still short of its end: nothing to parse again
    // (the head is re-parsed once, when the body is complete).
    if (hc.phase == P::kBody && rest.size() < hc.body_need) break;
    const ParseResult r = hc.parser.parse(rest, request_);
    if (r.status == ParseStatus::kPartial) break;
    if (r.status == ParseStatus::kError) {
      refuse(conn, hc, r.error_status, r.reason);
      return in.size();
    }
    const size_t head_len = r.consumed;
    hc.http10 = request_.version_minor == 0;
    hc.keep_alive = request_.keep_alive;

    const std::string_view path = origin_path(request_.path);
    const RouteMatch match =
        router_for(conn).match(request_.method, path, params_, request_.method_text, &request_);
    uint64_t max_body = config_->max_body_bytes;
    if (match.options != nullptr && match.options->max_body != 0) {
      max_body = match.options->max_body;
    }
    hc.body_limit = max_body;  // what on_data lets the carry buffer hold

    if (match.options != nullptr && match.options->stream_body) {
      // The handler runs now and takes the body as it comes (pump_body).
      if (request_.body_kind == BodyKind::kContentLength && request_.content_length > max_body) {
        refuse(conn, hc, 413, "request body larger than the limit");
        return in.size();
      }
      begin_streamed_body(hc, conn, request_, max_body);
      hc.parser.reset();
      hc.body_need = 0;
      hc.chunk_scan = 0;
      hc.continue_sent = false;
      hc.phase = P::kIdle;
      hc.more_behind = false;
      hc.bytes_in = head_len;
      dispatch(conn, hc, request_, {}, match, params_);
      if (hc.phase == P::kUpgraded) return pos + head_len;
      pos += head_len;
      if (!conn.is_open()) return in.size();
      continue;
    }

    std::string_view body;
    size_t total = head_len;
    if (request_.body_kind == BodyKind::kContentLength) {
      if (request_.content_length > max_body) {
        refuse(conn, hc, 413, "request body larger than the limit");
        return in.size();
      }
      const size_t need = head_len + request_.content_length;
      if (rest.size() < need) {
        if (request_.expect_continue && !hc.continue_sent) {
          conn.write(kContinue);
          hc.continue_sent = true;
        }
        hc.phase = P::kBody;
        hc.body_need = need;
        break;
      }
      body = rest.substr(head_len, request_.content_length);
      total = need;
    } else if (request_.body_kind == BodyKind::kChunked) {
      if (hc.chunk_scan == 0 && hc.chunked.body_bytes() == 0) {
        hc.chunked = ChunkedDecoder(ChunkedLimits{max_body});
      }
      const ChunkedResult cr = hc.chunked.feed(
          rest.substr(head_len + hc.chunk_scan),
          [&](std::string_view data) { hc.chunk_body.append(data); });
      hc.chunk_scan += cr.consumed;
      if (cr.status == ChunkedStatus::kError) {
        refuse(conn, hc, cr.error_status, cr.reason);
        return in.size();
      }
      if (cr.status == ChunkedStatus::kNeedMore) {
        if (request_.expect_continue && !hc.continue_sent) {
          conn.write(kContinue);
          hc.continue_sent = true;
        }
        hc.phase = P::kBody;
        break;
      }
      body = hc.chunk_body;
      total = head_len + hc.chunk_scan;
    }

    // The request is complete: reset per-request parsing state first, so a
    // handler that answers synchronously leaves a clean connection.
    hc.parser.reset();
    hc.body_need = 0;
    hc.body_limit = config_->max_body_bytes;
    hc.chunk_scan = 0;
    hc.continue_sent = false;
    hc.phase = P::kIdle;
    hc.more_behind = pos + total < in.size();
    hc.bytes_in = total;
    dispatch(conn, hc, request_, body, match, params_);
    if (hc.phase == P::kUpgraded) return pos + total;  // the rest is not HTTP
    if (!hc.chunk_body.empty()) {
      hc.chunked = ChunkedDecoder(ChunkedLimits{config_->max_body_bytes});
      if (hc.chunk_body.capacity() > 64 * 1024) {
        std::string().swap(hc.chunk_body);
      } else {
        hc.chunk_body.clear();
      }
    }
    pos += total;
    if (!conn.is_open()) return in.size();
  }
  return pos;
}


void HttpServer::dispatch(engine::Connection& conn, HttpConnection& hc, const Request& req,
                          std::string_view body, const RouteMatch& match,
                          const PathParams& params) {
  metrics_.requests.add();
  metrics_.bytes_in.add(hc.bytes_in);
  ++hc.sequence;
  hc.head_only = req.method == Method::kHead;
  hc.bytes_out = 0;
  const bool admin = &router_for(conn) != &router_;
  hc.stats_index = static_cast<uint32_t>(
      match.handler == nullptr ? router_.size()
                               : (admin ? router_.size() + 1 + match.route : match.route));
  const std::vector<const Middleware*>* route_mw =
      match.options != nullptr && !match.options->middleware.empty() ? &match.options->middleware
                                                                     : nullptr;
  const bool has_mw = (!config_->middleware.empty() && !admin) || route_mw != nullptr;
  hc.start_ns = config_->route_metrics || config_->access_log != nullptr || has_mw ? monotonic_now_ns() : 0;
  if (config_->access_log != nullptr) {
    hc.log_method.assign(req.method_text);
    hc.log_path.assign(req.target.substr(0, 2048));
    hc.log_agent.assign(req.header("user-agent").substr(0, 512));
  }
  Response res;
  res.bind(this, &hc, &conn);
  ServerRequest sreq;
  sreq.head_ = &req;
  sreq.body_ = body;
  sreq.params_ = &params;
  sreq.shard_ = &shard_;
  sreq.conn_ = &conn;
  sreq.hc_ = &hc;
  if (match.handler != nullptr) sreq.route_pattern_ = router_for(conn).pattern(match.route);
  hc.ctx = nullptr;
  hc.route_mw = nullptr;
  try {
    bool go_on = true;
    if (has_mw) {
      sync_ctx_.reset(shard_.index(), hc.start_ns);
      sync_ctx_.tls = conn.transport() != nullptr;
      hc.ctx = &sync_ctx_;
      hc.route_mw = route_mw;
      res.ctx_ = &sync_ctx_;
      res.req_ = &sreq;
      if (!admin) {
        for (const Middleware* m : config_->middleware) {
          if (!(go_on = m->before(sreq, res, sync_ctx_))) break;
        }
      }
      if (go_on && route_mw != nullptr && match.handler != nullptr) {
        for (const Middleware* m : *route_mw) {
          if (!(go_on = m->before(sreq, res, sync_ctx_))) break;
        }
      }
    }
    if (!go_on || res.done_ || res.deferred_) {
      // A middleware answered (or refused) the request.
    } else if (match.handler == nullptr) {
      // Any token is a method. An extension method (or CONNECT) that no
      // route anywhere registers is 501; the standard ones get 404/405 as
      // usual. The request's framing is known either way: the connection
      // stays open.
      if ((req.method == Method::kUnknown || req.method == Method::kConnect) &&
          !router_for(conn).has_method(req.method, req.method_text)) {
        res.send_error(501, "method not implemented");
      } else if (match.path_matched) {
        const std::string allow = allow_header(match);
        res.header("Allow", allow);
        res.send_error(405, "method not allowed on this path");
      } else {
        res.send_error(404, "no route for this path");
      }
    } else {
      (*match.handler)(sreq, res);
    }
  } catch (...) {
    metrics_.handler_exceptions.add();
    if (!res.done_ && !res.deferred_ && hc.phase != HttpConnection::Phase::kStreaming) {
      res.send_error(500, "internal error");
    }
  }
  if (!res.done_ && !res.deferred_ && hc.phase != HttpConnection::Phase::kStreaming) {
    // A handler that returned without answering: that is a bug in it, and
    // the client still gets an answer.
    res.send_error(500, "handler did not respond");
  }
  res.req_ = nullptr;
}

void HttpServer::on_data(engine::Connection& conn, std::span<const char> data) {
  HttpConnection& hc = *state(conn);
  engine::BufferPool& pool = shard_.buffers();
  const std::string_view in(data.data(), data.size());
  if (hc.carry.empty()) {
    const size_t used = process(conn, hc, in);
    if (hc.phase == HttpConnection::Phase::kUpgraded) {
      complete_upgrade(conn, hc, in.substr(used));
      return;
    }
    if (used < in.size() && conn.is_open() && hc.phase != HttpConnection::Phase::kDone) {
      hc.carry.append(pool, in.substr(used));
    }
  } else {
    // Bound what a client can make us hold: one full request plus slack.
    // The body part is the limit of the route being read (which may be
    // above the server's default), the default between requests.
    const uint64_t cap = config_->parser.max_head_bytes + hc.body_limit + (64u << 10);
    if (hc.carry.size() + in.size() > cap && hc.phase != HttpConnection::Phase::kWaiting &&
        hc.phase != HttpConnection::Phase::kStreaming) {
      refuse(conn, hc, 413, "request larger than the limit");
      return;
    }
    hc.carry.append(pool, in);
    const size_t used = process(conn, hc, hc.carry.view());
    if (hc.phase == HttpConnection::Phase::kUpgraded) {
      complete_upgrade(conn, hc, hc.carry.view().substr(used));
      return;
    }
    if (conn.is_open() && hc.phase != HttpConnection::Phase::kDone) {
      hc.carry.consume(pool, used);
    }
  }
  if (!conn.is_open()) return;
  // Stop reading while an earlier response is pending: pipelined input
  // waits in the kernel instead of in our memory.
  if (hc.io_active) {
    sync_reading(conn, hc);
  } else if (!hc.carry.empty() && (hc.phase == HttpConnection::Phase::kWaiting ||
                                   hc.phase == HttpConnection::Phase::kStreaming)) {
    conn.pause_reading();
  }
  arm_idle_or_header(conn, hc);
}

}  // namespace ringshard::http
