// The request side of HttpClient: writing a request on a connection,
// streamed request bodies, and deciding between replay, retry and
// failure when an attempt fails (response_reader.cc reads the answer).
#include <algorithm>
#include <charconv>

#include "client/exchange.h"
#include "client/http_client.h"
#include "client/pool.h"
#include "http/chars.h"
#include "http/request.h"

namespace ringshard::client {

namespace {

using http::iequals;

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
  // CONNECT's 2xx opens a tunnel, which is not an HTTP response to parse.
  if (!token_text(req.method) || req.method == "CONNECT" || req.target.empty() ||
      !safe_text(req.target, false)) {
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

  if (!req.raw_head.empty()) {
    // The caller wrote the head (a proxy's forwarded request), framing
    // included; it must agree with body_mode and stream_length.
    ex.chunked_body = req.body_mode == BodyMode::kStreamed && !req.stream_length;
    c.write(req.raw_head);
    if (req.body_mode == BodyMode::kBuffered) c.write(req.body);
    if (req.body_mode != BodyMode::kStreamed) {
      ex.request_sent = true;
      c.set_timeout(up.options_.timeouts.first_byte_ms);
    } else if (ex.end_requested) {
      end_body(ex);
    } else {
      c.request_writable();
    }
    return;
  }
  std::string& h = head_;
  h.clear();
  h += req.method;
  h += ' ';
  h += up.target_prefix_;
  h += req.target;
  h += " HTTP/1.1\r\n";
  if (!up.target_prefix_.empty() && !up.options_.proxy->authorization.empty()) {
    h += "Proxy-Authorization: ";
    h += up.options_.proxy->authorization;
    h += "\r\n";
  }
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
  if (shard_.past_drain_deadline()) {
    // The shard closed everything at its drain deadline: a replay or a
    // retry would open a connection that keeps it from exiting.
    finish_error(ex, kind, detail);
    return;
  }
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

}  // namespace ringshard::client
