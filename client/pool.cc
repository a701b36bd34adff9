// The pool side of HttpClient: opening connections (resolve, then each
// address in order), handing them to exchanges, keeping idle ones, the
// wait queue, and what happens when a connection goes away.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "client/exchange.h"
#include "client/http_client.h"
#include "client/pool.h"

namespace ringshard::client {

namespace {

bool is_ip_literal(std::string_view host) {
  return host.find(':') != std::string_view::npos ||
         std::all_of(host.begin(), host.end(),
                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

ClientError connect_error_kind(const Upstream& up, int error) {
  if (error == ETIMEDOUT) return ClientError::kConnectTimeout;
  if (up.options().tls.enabled && (error == EPROTO || error == ECONNABORTED)) {
    return ClientError::kTlsFailed;
  }
  return ClientError::kConnectFailed;
}

}  // namespace

Upstream::Upstream(HttpClient& client, const UpstreamOptions& options, std::string key,
                   uint64_t seed)
    : client_(client),
      options_(options),
      key_(std::move(key)),
      budget_(options.retry.budget_ratio, options.retry.budget_min_concurrent),
      backoff_(options.retry.base_ms, options.retry.cap_ms),
      jitter_(seed) {
  const bool v6 = options.host.find(':') != std::string::npos;
  authority_ = v6 ? "[" + options.host + "]" : options.host;
  const uint16_t default_port = options.tls.enabled ? 443 : 80;
  if (options.port != default_port) authority_ += ":" + std::to_string(options.port);
  if (options.proxy && !options.tls.enabled) target_prefix_ = "http://" + authority_;
  if (options.proxy && options.tls.enabled) {
    // The authority with its port, always (RFC 9110 section 9.3.6).
    std::string hp = v6 ? "[" + options.host + "]" : options.host;
    hp += ":" + std::to_string(options.port);
    connect_request_ = "CONNECT " + hp + " HTTP/1.1\r\nHost: " + hp + "\r\n";
    if (!options.proxy->authorization.empty()) {
      connect_request_ += "Proxy-Authorization: " + options.proxy->authorization + "\r\n";
    }
    connect_request_ += "\r\n";
  }
  sni_ = options.tls.server_name;
  if (sni_.empty() && !is_ip_literal(options.host)) sni_ = options.host;
}

Upstream::~Upstream() = default;

void HttpClient::acquire(Exchange& ex) {
  Upstream& up = *ex.up;
  if (!ex.fresh_only && !up.idle_.empty()) {
    UpstreamConnection* uc = up.idle_.back();
    up.idle_.pop_back();
    up.metrics_.idle.sub();
    up.metrics_.reuses.add();
    bind(ex, *uc);
    send_request(ex);
    return;
  }
  if (ex.fresh_only && up.conns_.size() >= up.options_.pool.max_connections &&
      !up.idle_.empty()) {
    // A replay must not meet another stale connection: make room instead.
    UpstreamConnection* oldest = up.idle_.front();
    up.metrics_.idle_closed.add();
    drop(*oldest);
  }
  ex.fresh_only = false;
  if (up.conns_.size() < up.options_.pool.max_connections) {
    open_connection(up, &ex);
    return;
  }
  if (up.waiters_.size() >= up.options_.pool.max_waiters) {
    finish_error(ex, ClientError::kPoolFull, "connection cap reached and the wait queue is full");
    return;
  }
  ex.state = ExchangeState::kQueued;
  up.waiters_.push_back(&ex);
  up.metrics_.wait_queued.add();
  shard_.timers().arm(ex.wait_timer, shard_.now_ms() + up.options_.pool.wait_timeout_ms);
}

void HttpClient::open_connection(Upstream& up, Exchange* ex) {
  const UpstreamOptions& o = up.options_;
  http::ResponseParserLimits limits;
  limits.max_head_bytes = o.max_response_head_bytes;
  http::ChunkedLimits chunk_limits;
  chunk_limits.max_body = o.max_response_body != 0 ? o.max_response_body : UINT64_MAX;
  up.conns_.push_back(std::make_unique<UpstreamConnection>(up, limits, chunk_limits));
  UpstreamConnection& uc = *up.conns_.back();
  up.metrics_.open.add();
  if (ex != nullptr) {
    ex->conn = &uc;
    ex->state = ExchangeState::kConnecting;
    uc.ex = ex;
  }
  const std::string& host = o.proxy ? o.proxy->host : o.host;
  const uint16_t port = o.proxy ? o.proxy->port : o.port;
  if (auto literal = engine::resolve_literal(host, port)) {
    uc.addresses.assign(1, *literal);
    connect_next(uc);
    return;
  }
  if (!options_.resolve) {
    connection_failed(uc, ClientError::kResolveFailed,
                      "not an IP literal and the client has no resolver: " + host);
    return;
  }
  // The connection stays in conns_ until the answer comes (only the
  // client's destruction removes a resolving one; `alive` covers that).
  options_.resolve(host, port, [this, alive = alive_, &uc](Resolution&& r) {
    if (*alive) resolved(uc, std::move(r));
  });
}

void HttpClient::resolved(UpstreamConnection& uc, Resolution&& r) {
  if (!r.ok() || r.addresses.empty()) {
    const std::string detail = r.error_text.empty() ? "no address" : r.error_text;
    connection_failed(uc, ClientError::kResolveFailed, detail);
    return;
  }
  uc.addresses = std::move(r.addresses);
  uc.next_address = 0;
  connect_next(uc);
}

void HttpClient::connect_next(UpstreamConnection& uc) {
  Upstream& up = *uc.up;
  while (uc.next_address < uc.addresses.size()) {
    const engine::SocketAddress& a = uc.addresses[uc.next_address++];
    up.metrics_.connect_attempts.add();
    uc.state = ConnState::kConnecting;
    uc.connect_error = 0;
    // Through a CONNECT tunnel TLS starts later, inside it (tunnel.cc).
    engine::Transport* transport =
        up.connect_request_.empty() ? up.tls_transport_.get() : nullptr;
    engine::Connection* c = shard_.connect(a.address(), a.length, handler_.get(), &uc,
                                           transport, up.options_.timeouts.connect_ms);
    if (c != nullptr) {
      uc.conn = c;
      return;
    }
    uc.connect_error = errno;
  }
  const int error = uc.connect_error;
  connection_failed(uc, connect_error_kind(up, error),
                    std::string("connect to ") + up.options_.host + ": " + std::strerror(error));
}

void HttpClient::connection_ready(UpstreamConnection& uc) {
  Upstream& up = *uc.up;
  up.metrics_.connects.add();
  uc.state = ConnState::kBusy;
  if (uc.ex != nullptr) {
    Exchange& ex = *uc.ex;
    bind(ex, uc);
    send_request(ex);
  } else {
    release(uc);  // its exchange left while it connected: someone else's now
  }
}

void HttpClient::release(UpstreamConnection& uc) {
  Upstream& up = *uc.up;
  uc.ex = nullptr;
  if (uc.conn->reading_paused()) uc.conn->resume_reading();
  if (!up.waiters_.empty()) {
    Exchange& next = *up.waiters_.front();
    up.waiters_.pop_front();
    shard_.timers().disarm(next.wait_timer);
    up.metrics_.reuses.add();
    bind(next, uc);
    send_request(next);
    return;
  }
  if (up.idle_.size() >= up.options_.pool.max_idle) {
    drop(uc);
    return;
  }
  uc.state = ConnState::kIdle;
  up.idle_.push_back(&uc);
  up.metrics_.idle.add();
  // The read stays armed: a close or stray bytes from the server drop the
  // connection at once (on_response_data, response_eof), never later at
  // the next request.
  uc.conn->set_timeout(up.options_.pool.idle_timeout_ms);
}

void HttpClient::drop(UpstreamConnection& uc) {
  Upstream& up = *uc.up;
  if (uc.state == ConnState::kIdle) {
    up.idle_.erase(std::find(up.idle_.begin(), up.idle_.end(), &uc));
    up.metrics_.idle.sub();
  }
  if (uc.ex != nullptr) {
    Exchange& ex = *uc.ex;
    if (ex.state == ExchangeState::kActive) up.metrics_.active.sub();
    ex.conn = nullptr;
    uc.ex = nullptr;
  }
  if (uc.state == ConnState::kClosing) return;
  uc.state = ConnState::kClosing;
  engine::Connection* c = uc.conn;
  if (c == nullptr) {
    up.metrics_.open.sub();
    forget(uc);
    return;
  }
  c->close();  // on_close (maybe right now) frees uc: touch nothing after
}

void HttpClient::forget(UpstreamConnection& uc) {
  if (uc.in_handler > 0) {
    uc.dead = true;  // freed once our code is off its stack
    return;
  }
  auto& conns = uc.up->conns_;
  auto it = std::find_if(conns.begin(), conns.end(), [&](auto& p) { return p.get() == &uc; });
  if (it != conns.end()) {
    std::swap(*it, conns.back());
    conns.pop_back();
  }
}

void HttpClient::connection_closed(UpstreamConnection& uc) {
  Upstream& up = *uc.up;
  uc.conn = nullptr;
  switch (uc.state) {
    case ConnState::kConnecting:
    case ConnState::kTunnel:
      if (uc.next_address < uc.addresses.size()) {
        connect_next(uc);  // the next address of the answer
        return;
      }
      if (uc.fail_kind != ClientError::kNone) {
        const std::string detail = std::move(uc.fail_detail);
        connection_failed(uc, uc.fail_kind, detail);
        return;
      }
      connection_failed(uc, connect_error_kind(up, uc.connect_error != 0 ? uc.connect_error
                                                                         : ECONNRESET),
                        std::string("connect to ") + up.options_.host + ": " +
                            (!uc.tls_failure.empty()
                                 ? uc.tls_failure
                                 : std::strerror(uc.connect_error != 0 ? uc.connect_error
                                                                       : ECONNRESET)));
      return;
    case ConnState::kIdle:
      up.metrics_.idle_closed.add();
      drop(uc);  // uc.conn is null: only bookkeeping
      serve_waiters(up);
      return;
    case ConnState::kBusy:
      if (uc.ex != nullptr) {
        Exchange& ex = *uc.ex;
        const bool stale = uc.reused && !ex.got_byte;
        drop(uc);
        attempt_failed(ex, ClientError::kReset, "connection closed before the response ended",
                       stale);
      } else {
        drop(uc);
      }
      serve_waiters(up);
      return;
    case ConnState::kResolving:
    case ConnState::kClosing:
      up.metrics_.open.sub();
      forget(uc);
      serve_waiters(up);
      return;
  }
}

void HttpClient::connection_failed(UpstreamConnection& uc, ClientError kind,
                                   std::string_view detail) {
  Upstream& up = *uc.up;
  Exchange* ex = uc.ex;
  if (ex != nullptr) {
    ex->conn = nullptr;
    uc.ex = nullptr;
  }
  uc.state = ConnState::kClosing;
  uc.conn = nullptr;
  up.metrics_.open.sub();
  forget(uc);
  if (ex != nullptr) attempt_failed(*ex, kind, detail, /*stale_candidate=*/false);
  serve_waiters(up);
}

void HttpClient::idle_timed_out(UpstreamConnection& uc) {
  uc.up->metrics_.idle_closed.add();
  drop(uc);
}

void HttpClient::serve_waiters(Upstream& up) {
  while (!up.waiters_.empty() && up.conns_.size() < up.options_.pool.max_connections) {
    Exchange& next = *up.waiters_.front();
    up.waiters_.pop_front();
    shard_.timers().disarm(next.wait_timer);
    open_connection(up, &next);
  }
}

void HttpClient::wait_timer_fired(engine::TimerEntry& e) {
  Exchange& ex = *static_cast<Exchange*>(e.context);
  HttpClient& client = *ex.client;
  if (ex.state == ExchangeState::kBackoff) {
    client.acquire(ex);
    return;
  }
  if (ex.state == ExchangeState::kQueued) {
    ex.up->metrics_.wait_timeouts.add();
    client.finish_error(ex, ClientError::kPoolTimeout, "no pooled connection within the wait timeout");
  }
}

void HttpClient::total_timer_fired(engine::TimerEntry& e) {
  Exchange& ex = *static_cast<Exchange*>(e.context);
  ex.client->finish_error(ex, ClientError::kRequestTimeout, "the exchange ran past its deadline");
}

}  // namespace ringshard::client
