// The exchange side of HttpClient: writing a request on a connection,
// reading its response (head through http::ResponseParser, body by
// Content-Length, chunked or until close), pausing delivery for a slow
// sink, and deciding between replay, retry and failure.
#include <algorithm>
#include <charconv>

#include "client/exchange.h"
#include "client/http_client.h"
#include "client/pool.h"
#include "http/chars.h"

namespace ringshard::client {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

bool token_text(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != ':' && c != '(' && c != ')' && c != ',' &&
           c != ';' && c != '<' && c != '>' && c != '@' && c != '[' && c != ']' &&
           c != '{' && c != '}' && c != '"' && c != '/' && c != '\\' && c != '?' &&
           c != '=';
  });
}

// A field value or target must not smuggle a line break or a NUL.
bool safe_text(std::string_view s, bool allow_space) {
  return std::all_of(s.begin(), s.end(), [allow_space](char c) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ' ' || c == '\t') return allow_space;
    return u >= 0x21 && u != 0x7f;
  });
}

Framing framing_of(http::ResponseBodyKind k) {
  switch (k) {
    case http::ResponseBodyKind::kNone: return Framing::kNone;
    case http::ResponseBodyKind::kContentLength: return Framing::kContentLength;
    case http::ResponseBodyKind::kChunked: return Framing::kChunked;
    case http::ResponseBodyKind::kUntilClose: return Framing::kUntilClose;
  }
  return Framing::kNone;
}

void append_decimal(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

}  // namespace

bool HttpClient::alive(const Exchange* ex, uint32_t generation) const {
  return ex != nullptr && ex->state != ExchangeState::kFree && ex->generation == generation;
}

Exchange* HttpClient::allocate_exchange() {
  Exchange* ex;
  if (!free_exchanges_.empty()) {
    ex = exchanges_[free_exchanges_.back()].get();
    free_exchanges_.pop_back();
  } else {
    exchanges_.push_back(std::make_unique<Exchange>());
    ex = exchanges_.back().get();
    ex->client = this;
    ex->index = static_cast<uint32_t>(exchanges_.size() - 1);
    ex->total_timer.callback = &HttpClient::total_timer_fired;
    ex->total_timer.context = ex;
    ex->wait_timer.callback = &HttpClient::wait_timer_fired;
    ex->wait_timer.context = ex;
  }
  ex->state = ExchangeState::kBackoff;  // anything but kFree until acquire()
  ex->conn = nullptr;
  ex->attempt = 0;
  ex->retry_held = ex->stale_replayed = ex->fresh_only = false;
  ex->got_byte = ex->head_delivered = ex->request_sent = false;
  ex->stream_started = ex->end_requested = ex->chunked_body = false;
  return ex;
}

void HttpClient::free_exchange(Exchange& ex) {
  Upstream& up = *ex.up;
  if (ex.retry_held) up.budget_.retry_finished();
  up.budget_.request_finished();
  ex.retry_held = false;
  ex.state = ExchangeState::kFree;
  ++ex.generation;
  ex.sink = nullptr;
  ex.owned_sink.reset();
  ex.req.headers.clear();
  ex.req.body.clear();
  free_exchanges_.push_back(ex.index);
}

bool HttpClient::valid_request(const ClientRequest& req) const {
  if (!token_text(req.method) || req.target.empty() || !safe_text(req.target, false)) {
    return false;
  }
  for (const auto& [name, value] : req.headers) {
    if (!token_text(name) || !safe_text(value, true)) return false;
  }
  return true;
}

void HttpClient::bind(Exchange& ex, UpstreamConnection& uc) {
  ex.conn = &uc;
  ex.state = ExchangeState::kActive;
  uc.ex = &ex;
  uc.state = ConnState::kBusy;
  ex.up->metrics_.active.add();
}

void HttpClient::unbind(Exchange& ex) {
  if (ex.conn == nullptr) return;
  if (ex.state == ExchangeState::kActive) ex.up->metrics_.active.sub();
  ex.conn->ex = nullptr;
  ex.conn = nullptr;
}

void HttpClient::send_request(Exchange& ex) {
  UpstreamConnection& uc = *ex.conn;
  Upstream& up = *ex.up;
  engine::Connection& c = *uc.conn;
  const ClientRequest& req = ex.req;
  uc.phase = ReadPhase::kHead;
  uc.parser.reset();
  uc.chunked.reset();
  uc.carry.clear();
  uc.held.clear();
  uc.paused = uc.end_pending = false;
  uc.keep_alive = true;
  uc.body_left = 0;
  uc.head_request = req.method == "HEAD";
  ex.got_byte = ex.request_sent = false;
  c.clear_timeout();
  if (c.reading_paused()) c.resume_reading();

  std::string& h = head_;
  h.clear();
  h += req.method;
  h += ' ';
  h += up.target_prefix_;
  h += req.target;
  h += " HTTP/1.1\r\n";
  bool has_host = false;
  for (const auto& [name, value] : req.headers) {
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) continue;
    if (iequals(name, "host")) has_host = true;
    h += name;
    h += ": ";
    h += value;
    h += "\r\n";
  }
  if (!has_host) {
    h += "Host: ";
    h += up.authority_;
    h += "\r\n";
  }
  switch (req.body_mode) {
    case BodyMode::kNone:
      if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
        h += "Content-Length: 0\r\n";
      }
      break;
    case BodyMode::kBuffered:
      h += "Content-Length: ";
      append_decimal(h, req.body.size());
      h += "\r\n";
      break;
    case BodyMode::kStreamed:
      if (req.stream_length) {
        h += "Content-Length: ";
        append_decimal(h, *req.stream_length);
        h += "\r\n";
      } else {
        h += "Transfer-Encoding: chunked\r\n";
        ex.chunked_body = true;
      }
      break;
  }
  h += "\r\n";
  c.write(h);
  if (req.body_mode == BodyMode::kBuffered) c.write(req.body);
  if (req.body_mode != BodyMode::kStreamed) {
    ex.request_sent = true;
    c.set_timeout(up.options_.timeouts.first_byte_ms);
    return;
  }
  if (ex.end_requested) {
    end_body(ex);
  } else {
    c.request_writable();  // on_body_writable once the head has gone out
  }
}

bool HttpClient::write_body(Exchange& ex, std::string_view chunk) {
  if (ex.req.body_mode != BodyMode::kStreamed || ex.request_sent || ex.end_requested) return false;
  if (ex.state != ExchangeState::kActive || ex.conn == nullptr) return false;
  engine::Connection& c = *ex.conn->conn;
  if (c.over_send_limit()) {
    c.request_writable();
    return false;
  }
  if (chunk.empty()) return true;  // an empty chunk would end a chunked body
  ex.stream_started = true;
  if (ex.chunked_body) {
    char size[20];
    auto r = std::to_chars(size, size + sizeof(size), chunk.size(), 16);
    c.write(std::string_view(size, static_cast<size_t>(r.ptr - size)));
    c.write("\r\n");
    c.write(chunk);
    c.write("\r\n");
  } else {
    c.write(chunk);
  }
  if (c.over_send_limit()) c.request_writable();
  return true;
}

void HttpClient::end_body(Exchange& ex) {
  if (ex.req.body_mode != BodyMode::kStreamed || ex.request_sent) return;
  if (ex.state != ExchangeState::kActive || ex.conn == nullptr) {
    ex.end_requested = true;  // sent once the connection is there
    return;
  }
  engine::Connection& c = *ex.conn->conn;
  if (ex.chunked_body) c.write("0\r\n\r\n");
  ex.request_sent = true;
  ex.end_requested = true;
  if (!ex.got_byte) c.set_timeout(ex.up->options_.timeouts.first_byte_ms);
}

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
  const bool reuse = uc.keep_alive && ex.request_sent && uc.conn != nullptr &&
                     uc.conn->is_open() && !uc.dead;
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
  if (uc.phase == ReadPhase::kDone) return;  // paused with on_end pending
  const bool stale = uc.reused && !ex->got_byte;
  unbind(*ex);
  drop(uc);
  attempt_failed(*ex, ClientError::kReset, "connection closed before the response ended", stale);
}

bool HttpClient::take_retry(Exchange& ex) {
  Upstream& up = *ex.up;
  const RetryOptions& r = up.options_.retry;
  bool keyed = false;
  for (const auto& [name, value] : ex.req.headers) keyed = keyed || iequals(name, "idempotency-key");
  if (!(idempotent_method(ex.req.method) || keyed) || !ex.replayable() || ex.head_delivered) {
    return false;
  }
  if (ex.attempt >= r.max_retries) return false;
  if (ex.retry_held) {  // this attempt was a retry: its slot is free again
    up.budget_.retry_finished();
    ex.retry_held = false;
  }
  if (!up.budget_.try_start_retry()) {
    up.metrics_.budget_exhausted.add();
    return false;
  }
  ex.retry_held = true;
  return true;
}

void HttpClient::schedule_retry(Exchange& ex) {
  Upstream& up = *ex.up;
  const uint64_t delay = up.backoff_.delay_ms(ex.attempt, up.jitter_);
  ++ex.attempt;
  up.metrics_.retries.add();
  ex.state = ExchangeState::kBackoff;
  ex.got_byte = false;
  shard_.timers().arm(ex.wait_timer, shard_.now_ms() + delay);
}

void HttpClient::attempt_failed(Exchange& ex, ClientError kind, std::string_view detail,
                                bool stale_candidate) {
  bool keyed = false;
  for (const auto& [name, value] : ex.req.headers) keyed = keyed || iequals(name, "idempotency-key");
  const bool may_replay = (idempotent_method(ex.req.method) || keyed) && ex.replayable() &&
                          !ex.head_delivered;
  if (stale_candidate && may_replay && !ex.stale_replayed) {
    // The server closed a kept-alive connection as we reused it: the
    // request never reached it. Once, at once, on a new connection.
    ex.stale_replayed = true;
    ex.fresh_only = true;
    ex.got_byte = false;
    ex.up->metrics_.stale_retries.add();
    ex.state = ExchangeState::kBackoff;
    acquire(ex);
    return;
  }
  const bool retriable_kind = kind == ClientError::kConnectFailed ||
                              kind == ClientError::kConnectTimeout ||
                              kind == ClientError::kReset ||
                              kind == ClientError::kFirstByteTimeout;
  if (retriable_kind && take_retry(ex)) {
    schedule_retry(ex);
    return;
  }
  finish_error(ex, kind, detail);
}

void HttpClient::detach(Exchange& ex) {
  shard_.timers().disarm(ex.total_timer);
  shard_.timers().disarm(ex.wait_timer);
  Upstream& up = *ex.up;
  if (ex.state == ExchangeState::kQueued) {
    auto it = std::find(up.waiters_.begin(), up.waiters_.end(), &ex);
    if (it != up.waiters_.end()) up.waiters_.erase(it);
  }
  if (ex.conn != nullptr) {
    UpstreamConnection& uc = *ex.conn;
    const bool connecting = ex.state == ExchangeState::kConnecting;
    unbind(ex);
    // A connection still opening is kept: it joins the pool when ready.
    if (!connecting) drop(uc);
  }
}

void HttpClient::finish_error(Exchange& ex, ClientError kind, std::string_view detail) {
  detach(ex);
  ex.up->metrics_.errors[static_cast<size_t>(kind)].add();
  ResponseSink* sink = ex.sink;
  std::unique_ptr<ResponseSink> owned = std::move(ex.owned_sink);
  const std::string text(detail);  // detail may live in what free_exchange clears
  free_exchange(ex);
  sink->on_error(kind, text);
}

void HttpClient::finish_ok(Exchange& ex) {
  detach(ex);
  ResponseSink* sink = ex.sink;
  std::unique_ptr<ResponseSink> owned = std::move(ex.owned_sink);
  free_exchange(ex);
  sink->on_end();
}

void HttpClient::cancel(Exchange& ex) {
  detach(ex);
  ex.up->metrics_.errors[static_cast<size_t>(ClientError::kCancelled)].add();
  std::unique_ptr<ResponseSink> owned = std::move(ex.owned_sink);
  free_exchange(ex);
}

void HttpClient::resume(Exchange& ex) {
  UpstreamConnection* ucp = ex.conn;
  if (ucp == nullptr || !ucp->paused) return;
  UpstreamConnection& uc = *ucp;
  const uint32_t gen = ex.generation;
  uc.paused = false;
  ++uc.in_handler;
  if (!uc.held.empty()) {
    std::string held;
    held.swap(uc.held);
    const bool ok = deliver(uc, ex, held);
    if (ok && uc.held.empty()) {
      held.clear();
      uc.held.swap(held);  // keep the capacity for the next pause
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
