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

#include "http/chunked.h"
#include "http/input_buffer.h"
#include "http/response_head.h"
#include "http/status.h"

namespace ringshard::http {

// Per-connection protocol state. Kept small (an idle connection holds this
// block and nothing else); reused through the server's free list.
class HttpConnection {
 public:
  enum class Phase : uint8_t {
    kIdle,       // between requests
    kHead,       // part of a request head has arrived
    kBody,       // head complete, body still arriving
    kWaiting,    // handler deferred its answer
    kStreaming,  // response body being produced
    kDone,       // closing after the last response
    kUpgraded,   // handed to another protocol; about to leave HTTP
  };
  enum class Timer : uint8_t { kNone, kHeader, kBody, kIdle, kStream, kDeferred, kDrainGrace };

  explicit HttpConnection(const ParserLimits& limits) : parser(limits) {}

  // Back to the state of a fresh connection (buffers already released).
  void reset(uint64_t max_body) {
    parser.reset();
    chunked = ChunkedDecoder(ChunkedLimits{max_body});
    chunk_scan = 0;
    stream_left = 0;
    body_need = 0;
    body_limit = max_body;
    producer = nullptr;
    on_abort = nullptr;
    phase = Phase::kIdle;
    timer = Timer::kNone;
    keep_alive = true;
    head_only = chunked_out = length_out = http10 = false;
    continue_sent = close_after = in_producer = in_process = more_behind = false;
    upgrade_handler = nullptr;
    upgrade_context = nullptr;
    peer_len = 0;
    remote_len = 0;
  }

  RequestParser parser;
  ChunkedDecoder chunked;
  InputBuffer carry;
  std::string chunk_body;       // decoded chunked body (rare)
  size_t chunk_scan = 0;        // bytes after the head already decoded
  uint64_t sequence = 0;        // requests dispatched on this connection
  uint64_t stream_left = 0;     // Content-Length stream: bytes still owed
  size_t body_need = 0;         // kBody with Content-Length: head + body bytes
  uint64_t body_limit = 0;      // the body limit of the request being read
  Producer producer;
  std::function<void(AbortReason)> on_abort;  // kWaiting: the application's notice
  Phase phase = Phase::kIdle;
  Timer timer = Timer::kNone;
  bool keep_alive = true;
  bool head_only = false;       // HEAD: no body bytes go out
  bool chunked_out = false;     // streaming with chunked encoding
  bool length_out = false;      // streaming with Content-Length
  bool http10 = false;
  bool continue_sent = false;
  bool close_after = false;     // peer half-closed: close after this response
  bool in_producer = false;
  bool in_process = false;      // process() is on the stack: no re-entry
  bool more_behind = false;     // bytes of a further request are buffered
                                // behind the one being answered
  engine::ConnectionHandler* upgrade_handler = nullptr;  // kUpgraded: the new owner
  void* upgrade_context = nullptr;
  // The request being answered, for metrics and the access log.
  uint32_t stats_index = 0;     // into HttpServer::route_stats_
  uint16_t status = 0;          // of a streamed response, recorded at its end
  uint64_t start_ns = 0;        // CLOCK_MONOTONIC at dispatch (0: not measured)
  uint64_t bytes_in = 0;        // the request's head and body
  uint64_t bytes_out = 0;       // the response written so far
  // Middleware: the request's context (HttpServer::sync_ctx_ while the
  // handler runs; moved here, with headers added so far, when the answer
  // comes later), and the route's own middleware list.
  RequestContext* ctx = nullptr;
  std::unique_ptr<RequestContext> held_ctx;
  const std::vector<const Middleware*>* route_mw = nullptr;
  std::vector<std::pair<std::string, std::string>> held_headers;
  // Access log fields kept past the handler call (log on only).
  std::string log_method, log_path, log_agent;
  // The peer's address, read on first use (ServerRequest::peer).
  sockaddr_storage peer{};
  socklen_t peer_len = 0;       // 0: not read yet
  ratelimit::ConnKey cap_key;   // counted against the connection caps
  char remote_text[56];         // the peer as text, for the access log
  uint8_t remote_len = 0;       // 0: not formatted yet
};

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

bool status_has_body(uint16_t status) {
  return status >= 200 && status != 204 && status != 304;
}

}  // namespace

// --- ServerRequest ---------------------------------------------------------

std::string_view ServerRequest::param(std::string_view name) const {
  if (params_ == nullptr) return {};
  for (size_t i = 0; i < params_->count; ++i) {
    if (params_->names[i] == name) return params_->values[i];
  }
  return {};
}

const sockaddr* ServerRequest::peer(socklen_t& length) const {
  if (hc_ == nullptr || conn_ == nullptr) return nullptr;
  if (hc_->peer_len == 0) {
    socklen_t len = sizeof(hc_->peer);
    if (getpeername(conn_->fd(), reinterpret_cast<sockaddr*>(&hc_->peer), &len) != 0) return nullptr;
    hc_->peer_len = len;
  }
  length = hc_->peer_len;
  return reinterpret_cast<const sockaddr*>(&hc_->peer);
}

bool ServerRequest::tls() const { return conn_ != nullptr && conn_->transport() != nullptr; }

// --- HttpServer -------------------------------------------------------------

HttpServer::HttpServer(engine::Shard& shard, const ServerConfig& config, const Router& router)
    : shard_(shard), config_(&config), router_(router) {
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

void HttpServer::log_tick(engine::TimerEntry& e) {
  auto* self = static_cast<HttpServer*>(e.context);
  const uint64_t now = self->shard_.now_ms();
  self->config_->access_log->shard(self->shard_.index()).flush(now);
  self->shard_.timers().arm(self->log_timer_, now + kLogTickMs);
}

std::string_view HttpServer::peer_text(engine::Connection& conn, HttpConnection& hc, char* buf,
                                      size_t size) {
  // The address is read once per connection (getpeername was 11% of the
  // server's CPU with the access log on when read per request).
  if (hc.peer_len == 0) {
    socklen_t len = sizeof(hc.peer);
    if (getpeername(conn.fd(), reinterpret_cast<sockaddr*>(&hc.peer), &len) != 0) return {};
    hc.peer_len = len;
  }
  const sockaddr_storage& ss = hc.peer;
  char host[INET6_ADDRSTRLEN] = {};
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
    const int n = std::snprintf(buf, size, "%s:%u", host, port);
    return {buf, n > 0 ? std::min(static_cast<size_t>(n), size - 1) : 0};
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
    const int n = std::snprintf(buf, size, "[%s]:%u", host, port);
    return {buf, n > 0 ? std::min(static_cast<size_t>(n), size - 1) : 0};
  }
  return {};
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
    socklen_t len = sizeof(hc->peer);
    if (getpeername(conn.fd(), reinterpret_cast<sockaddr*>(&hc->peer), &len) == 0) {
      hc->peer_len = len;
      hc->cap_key = caps.key(reinterpret_cast<const sockaddr*>(&hc->peer), len);
    } else {
      hc->cap_key = ratelimit::ConnKey();
    }
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
  hc->on_abort = nullptr;
  hc->held_ctx.reset();
  hc->ctx = nullptr;
  hc->route_mw = nullptr;
  hc->held_headers.clear();
  std::string().swap(hc->chunk_body);
  if (free_states_.size() < 1024) {
    free_states_.push_back(hc);
  } else {
    delete hc;
  }
}

std::string_view HttpServer::date() {
  // The wall clock is read at most once per millisecond of shard time (the
  // shard reads its clock once per loop turn anyway).
  if (shard_.now_ms() == date_checked_ms_) return date_buf_;
  date_checked_ms_ = shard_.now_ms();
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec != date_second_) {
    date_second_ = ts.tv_sec;
    tm t;
    gmtime_r(&ts.tv_sec, &t);
    strftime(date_buf_, sizeof(date_buf_), "%a, %d %b %Y %H:%M:%S GMT", &t);
  }
  return date_buf_;
}

void HttpServer::count_status(uint16_t status) {
  switch (status / 100) {
    case 1: metrics_.responses_1xx.add(); break;
    case 2: metrics_.responses_2xx.add(); break;
    case 3: metrics_.responses_3xx.add(); break;
    case 4: metrics_.responses_4xx.add(); break;
    default: metrics_.responses_5xx.add(); break;
  }
}

void HttpServer::write_head(engine::Connection& conn, HttpConnection& hc, uint16_t status,
                            std::string_view content_type, const uint64_t* length,
                            bool chunked, const Response* extra, std::string_view body) {
  ResponseHead head;
  head.status = status;
  head.server = config_->server_name;
  head.date = date();
  head.content_type = content_type;
  head.has_length = length != nullptr;
  head.length = length != nullptr ? *length : 0;
  head.chunked = chunked;
  // Draining: the response that leaves nothing unanswered behind it says
  // close; with pipelined requests already buffered it stays keep-alive
  // and the last of them says close, so nothing read is lost.
  if (!hc.keep_alive || hc.close_after || (shard_.draining() && !hc.more_behind)) {
    head.connection = ResponseHead::Connection::kClose;
    hc.keep_alive = false;
  } else if (hc.http10) {
    head.connection = ResponseHead::Connection::kKeepAlive;
  }
  // Extra headers (the application's and middleware's, from the arena)
  // follow the fixed part, which is cached encoded: a server answering the
  // same shape again (status, type, length, framing, Date second) copies
  // it instead of serialising, with or without extras behind it.
  std::span<const HeaderField> fields;
  if (extra != nullptr && headers_.count(extra->header_mark_) > 0) {
    fields = headers_.fields(extra->header_mark_);
  }
  size_t extra_size = 2;  // the blank line
  for (const HeaderField& f : fields) extra_size += f.name.size() + f.value.size() + 4;

  HeadCache& hcache = head_cache_;
  const char* base = nullptr;
  size_t base_size = 0;
  std::string spill;
  if (hcache.valid && hcache.status == status && hcache.date_second == date_second_ &&
      hcache.has_length == head.has_length && hcache.length == head.length &&
      hcache.chunked == head.chunked &&
      hcache.connection == static_cast<uint8_t>(head.connection) &&
      hcache.type_size == content_type.size() &&
      std::memcmp(hcache.type, content_type.data(), content_type.size()) == 0) {
    base = hcache.bytes;
    base_size = hcache.size - 2u;
  } else {
    const size_t size = response_head_size(head);
    if (content_type.size() <= sizeof(hcache.type) && size <= sizeof(hcache.bytes)) {
      hcache.size = static_cast<uint16_t>(serialize_response_head(head, hcache.bytes));
      hcache.valid = true;
      hcache.status = status;
      hcache.date_second = date_second_;
      hcache.has_length = head.has_length;
      hcache.length = head.length;
      hcache.chunked = head.chunked;
      hcache.connection = static_cast<uint8_t>(head.connection);
      hcache.type_size = static_cast<uint8_t>(content_type.size());
      std::memcpy(hcache.type, content_type.data(), content_type.size());
      base = hcache.bytes;
      base_size = hcache.size - 2u;
    } else {
      spill.resize(size);
      base_size = serialize_response_head(head, spill.data()) - 2;
      base = spill.data();
    }
  }
  auto put_extras = [&](char* dst) {
    for (const HeaderField& f : fields) {
      std::memcpy(dst, f.name.data(), f.name.size());
      dst += f.name.size();
      *dst++ = ':';
      *dst++ = ' ';
      std::memcpy(dst, f.value.data(), f.value.size());
      dst += f.value.size();
      *dst++ = '\r';
      *dst++ = '\n';
    }
    *dst++ = '\r';
    *dst++ = '\n';
    return dst;
  };
  const size_t head_size = base_size + extra_size;
  // Head and a small body are written in place with one reservation: one
  // copy, corked with the rest of the batch.
  if (char* dst = conn.reserve_contiguous(head_size + body.size())) {
    std::memcpy(dst, base, base_size);
    char* p = put_extras(dst + base_size);
    if (!body.empty()) std::memcpy(p, body.data(), body.size());
    conn.commit(head_size + body.size());
  } else {
    std::string tmp(head_size, '\0');
    std::memcpy(tmp.data(), base, base_size);
    put_extras(tmp.data() + base_size);
    conn.write(tmp);
    conn.write(body);
  }
  metrics_.bytes_out.add(head_size + body.size());
  hc.bytes_out += head_size + body.size();
  count_status(status);
}

void HttpServer::finish_response(engine::Connection& conn, HttpConnection& hc) {
  hc.producer = nullptr;
  hc.chunked_out = hc.length_out = false;
  if (!hc.keep_alive || hc.close_after) {
    hc.phase = HttpConnection::Phase::kDone;
    // Nothing unread and the peer was told we close: no need to linger.
    // Bytes pipelined behind it (or a drain, when more may be on the
    // wire) still get the careful close.
    conn.close_after_flush(/*linger=*/!hc.carry.empty() || shard_.draining());
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
      conn.set_timeout(config_->stream_stall_ms);
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
  const size_t used = process_requests(conn, hc, in);
  hc.in_process = false;
  return used;
}

size_t HttpServer::process_requests(engine::Connection& conn, HttpConnection& hc,
                                    std::string_view in) {
  using P = HttpConnection::Phase;
  size_t pos = 0;
  while (pos < in.size()) {
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
        router_for(conn).match(request_.method, path, params_, request_.method_text);
    uint64_t max_body = config_->max_body_bytes;
    if (match.options != nullptr && match.options->max_body != 0) {
      max_body = match.options->max_body;
    }
    hc.body_limit = max_body;  // what on_data lets the carry buffer hold

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

namespace {

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

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
  hc.start_ns = config_->route_metrics || config_->access_log != nullptr || has_mw ? monotonic_ns() : 0;
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

void HttpServer::run_response_hooks(Response& res, ResponseInfo& info) {
  HttpConnection& hc = *res.hc_;
  RequestContext& ctx = *res.ctx_;
  res.in_hooks_ = true;  // the response is done_, yet middleware may add headers
  // Innermost first: the route's own middleware, then the global ones.
  if (hc.route_mw != nullptr) {
    for (auto it = hc.route_mw->rbegin(); it != hc.route_mw->rend(); ++it) {
      (*it)->on_response(res.req_, res, info, ctx);
    }
  }
  if (res.conn_->listener() != config_->admin_listener || config_->admin_router == nullptr) {
    for (auto it = config_->middleware.rbegin(); it != config_->middleware.rend(); ++it) {
      (*it)->on_response(res.req_, res, info, ctx);
    }
  }
  res.in_hooks_ = false;
}

void HttpServer::record_completion(HttpConnection& hc, engine::Connection& conn,
                                   uint16_t status) {
  if (hc.start_ns == 0) return;
  const uint64_t now = monotonic_ns();
  const uint64_t took = now > hc.start_ns ? now - hc.start_ns : 0;
  if (config_->route_metrics && hc.stats_index < route_stats_.size()) {
    RouteStats& rs = *route_stats_[hc.stats_index];
    if (status >= 100 && status < 600) rs.by_status[status - 100].add();
    rs.latency.observe_ns(took);
  }
  if (config_->access_log != nullptr) {
    obs::AccessLogEntry e;
    timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    e.unix_ms = static_cast<int64_t>(wall.tv_sec) * 1000 + wall.tv_nsec / 1'000'000;
    if (hc.remote_len == 0) {
      hc.remote_len = static_cast<uint8_t>(
          peer_text(conn, hc, hc.remote_text, sizeof(hc.remote_text)).size());
    }
    e.remote = std::string_view(hc.remote_text, hc.remote_len);
    e.method = hc.log_method;
    e.path = hc.log_path;
    e.status = status;
    e.bytes_in = hc.bytes_in;
    e.bytes_out = hc.bytes_out;
    e.duration_ns = took;
    e.user_agent = hc.log_agent;
    if (hc.ctx != nullptr) {
      e.request_id = hc.ctx->request_id_view();
      if (hc.ctx->has_trace) e.trace_id = std::string_view(hc.ctx->trace_id, 32);
    }
    config_->access_log->shard(shard_.index()).log(e);
  }
  hc.start_ns = 0;
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
  if (!hc.carry.empty() && (hc.phase == HttpConnection::Phase::kWaiting ||
                            hc.phase == HttpConnection::Phase::kStreaming)) {
    conn.pause_reading();
  }
  arm_idle_or_header(conn, hc);
}

void HttpServer::resume(engine::Connection& conn, HttpConnection& hc) {
  // Answered from inside a handler (defer() then send() at once): the
  // process() loop on the stack picks up the next request itself.
  if (hc.in_process) return;
  if (!hc.carry.empty()) {
    const size_t used = process(conn, hc, hc.carry.view());
    if (hc.phase == HttpConnection::Phase::kUpgraded) {
      complete_upgrade(conn, hc, hc.carry.view().substr(used));
      return;
    }
    if (!conn.is_open()) return;
    if (hc.phase != HttpConnection::Phase::kDone) hc.carry.consume(shard_.buffers(), used);
  }
  if (!conn.is_open()) return;
  if (hc.phase != HttpConnection::Phase::kWaiting &&
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
    run_producer(conn, hc);
    if (hc.phase == HttpConnection::Phase::kStreaming) {
      arm_idle_or_header(conn, hc);
      return;
    }
  }
  if (conn.is_open()) resume(conn, hc);
}

void HttpServer::on_peer_closed(engine::Connection& conn) {
  HttpConnection& hc = *state(conn);
  using P = HttpConnection::Phase;
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

// --- Response ---------------------------------------------------------------

void Response::bind(HttpServer* server, HttpConnection* hc, engine::Connection* conn) {
  server_ = server;
  hc_ = hc;
  conn_ = conn;
  header_mark_ = server->headers_.mark();
  bound_ = true;
}

Response::~Response() {
  // Abandoned unsent (a throw between header() and send()): give the
  // arena back. Sent and deferred responses have done so already.
  if (bound_ && !done_ && !deferred_) server_->headers_.truncate(header_mark_);
}

Response& Response::header(std::string_view name, std::string_view value) {
  if ((done_ && !in_hooks_) || !bound_) return *this;
  if (!server_->headers_.add(header_mark_, name, value)) invalid_header_ = true;
  return *this;
}

Response& Response::trusted_header(std::string_view name, std::string_view value) {
  if ((done_ && !in_hooks_) || !bound_) return *this;
  server_->headers_.add_trusted(name, value);
  return *this;
}

std::string_view Response::added_header(std::string_view name) const {
  return bound_ ? server_->headers_.find(header_mark_, name) : std::string_view();
}

void Response::send(uint16_t status, std::string_view content_type, std::string_view body) {
  if (done_ || deferred_) return;
  if (invalid_header_) {
    // The application tried to put CR, LF or NUL into a header (or a bad
    // name): nothing of its response goes out.
    invalid_header_ = false;
    server_->metrics_.invalid_headers.add();
    server_->headers_.truncate(header_mark_);
    send_error(500, "the application set an invalid response header");
    return;
  }
  done_ = true;
  HttpConnection& hc = *hc_;
  const bool has_body = status_has_body(status);
  ResponseInfo info;
  info.status = status;
  info.content_type = has_body ? content_type : std::string_view();
  info.body = has_body ? body : std::string_view();
  info.head_only = hc.head_only;
  if (ctx_ != nullptr) {
    info.storage = &server_->body_scratch_;
    server_->run_response_hooks(*this, info);
    if (invalid_header_) {  // from a middleware: a bug, but never split the response
      server_->metrics_.invalid_headers.add();
      invalid_header_ = false;
    }
  }
  if (!has_body) {
    server_->write_head(*conn_, hc, status, {}, nullptr, false, this);
  } else {
    const uint64_t len = info.body.size();
    server_->write_head(*conn_, hc, status, info.content_type, &len, false, this,
                        hc.head_only ? std::string_view() : info.body);
  }
  server_->headers_.truncate(header_mark_);
  server_->record_completion(hc, *conn_, status);
  server_->finish_response(*conn_, hc);
}

void Response::send_error(uint16_t status, std::string_view message) {
  // The server's own error documents are JSON and nothing else: no MIME
  // sniffing (scanners such as testssl.sh flag responses with no
  // security header at all). They name the request id when there is one.
  header("X-Content-Type-Options", "nosniff");
  const std::string_view id = ctx_ != nullptr ? ctx_->request_id_view() : std::string_view();
  send(status, "application/json", error_body(status, message, id));
}

void Response::stream(uint16_t status, std::string_view content_type,
                      std::optional<uint64_t> length, Producer producer) {
  if (done_ || deferred_) return;
  if (invalid_header_) {
    invalid_header_ = false;
    server_->metrics_.invalid_headers.add();
    server_->headers_.truncate(header_mark_);
    send_error(500, "the application set an invalid response header");
    return;
  }
  done_ = true;
  HttpConnection& hc = *hc_;
  const bool chunked = !length && !hc.http10;
  if (!length && hc.http10) hc.keep_alive = false;  // close-delimited body
  if (ctx_ != nullptr) {
    ResponseInfo info;
    info.status = status;
    info.content_type = content_type;
    info.streamed = true;
    info.head_only = hc.head_only;
    server_->run_response_hooks(*this, info);
  }
  server_->write_head(*conn_, hc, status, content_type, length ? &*length : nullptr, chunked,
                      this);
  server_->headers_.truncate(header_mark_);
  hc.status = status;
  if (hc.head_only) {
    server_->record_completion(hc, *conn_, status);
    server_->finish_response(*conn_, hc);
    return;
  }
  hc.chunked_out = chunked;
  hc.length_out = length.has_value();
  hc.stream_left = length.value_or(0);
  hc.producer = std::move(producer);
  hc.phase = HttpConnection::Phase::kStreaming;
  server_->run_producer(*conn_, hc);
}

bool Response::upgrade(std::string_view head, engine::ConnectionHandler& handler,
                       void* context) {
  if (done_ || deferred_ || !conn_->is_open()) return false;
  done_ = true;
  server_->headers_.truncate(header_mark_);
  HttpConnection& hc = *hc_;
  conn_->write(head);
  hc.bytes_out += head.size();
  server_->metrics_.bytes_out.add(head.size());
  server_->metrics_.responses_1xx.add();
  server_->record_completion(hc, *conn_, 101);
  hc.phase = HttpConnection::Phase::kUpgraded;
  hc.upgrade_handler = &handler;
  hc.upgrade_context = context;
  return true;
}

AsyncResponse Response::defer(DeferOptions options) {
  AsyncResponse a;
  if (done_ || deferred_) return a;
  deferred_ = true;
  HttpConnection& hc = *hc_;
  hc.phase = HttpConnection::Phase::kWaiting;
  hc.on_abort = std::move(options.on_abort);
  conn_->set_timeout(options.timeout_ms != 0 ? options.timeout_ms
                                             : server_->config_->deferred_timeout_ms);
  hc.timer = HttpConnection::Timer::kDeferred;
  // What the answer will need outlives the handler call: the middleware
  // context and the headers added so far move to the connection.
  if (ctx_ != nullptr && ctx_ != hc.held_ctx.get()) {
    if (!hc.held_ctx) hc.held_ctx = std::make_unique<RequestContext>();
    *hc.held_ctx = *ctx_;
    hc.ctx = hc.held_ctx.get();
  }
  hc.held_headers.clear();
  for (const HeaderField& f : server_->headers_.fields(header_mark_)) {
    hc.held_headers.emplace_back(std::string(f.name), std::string(f.value));
  }
  server_->headers_.truncate(header_mark_);
  a.server_ = server_;
  a.slot_ = conn_->slot();
  a.generation_ = conn_->generation();
  a.sequence_ = hc.sequence;
  return a;
}

// --- BodyStream ---------------------------------------------------------------

bool BodyStream::write(std::string_view data) {
  if (ended_ || !conn_->is_open() || data.empty()) return !ended_ && conn_->is_open();
  HttpConnection& hc = *hc_;
  if (hc.length_out) {
    if (data.size() > hc.stream_left) data = data.substr(0, hc.stream_left);
    hc.stream_left -= data.size();
    conn_->write(data);
  } else if (hc.chunked_out) {
    char size_line[24];
    auto [end, ec] = std::to_chars(size_line, size_line + 16, data.size(), 16);
    *end++ = '\r';
    *end++ = '\n';
    conn_->write(std::string_view(size_line, static_cast<size_t>(end - size_line)));
    conn_->write(data);
    conn_->write("\r\n");
  } else {
    conn_->write(data);
  }
  hc.bytes_out += data.size();
  server_->metrics_.bytes_out.add(data.size());
  return !conn_->over_send_limit();
}

void BodyStream::end() {
  if (ended_) return;
  ended_ = true;
  HttpConnection& hc = *hc_;
  if (!conn_->is_open()) return;
  if (hc.chunked_out) conn_->write("0\r\n\r\n");
  if (hc.length_out && hc.stream_left != 0) {
    // The producer promised more than it gave: the framing is broken, so
    // the connection cannot be reused.
    hc.keep_alive = false;
    conn_->close();
    return;
  }
  server_->record_completion(hc, *conn_, hc.status);
  server_->finish_response(*conn_, hc);
  // Requests pipelined behind the stream run once the producer returns.
  if (!hc.in_producer) server_->resume(*conn_, hc);
}

// --- AsyncResponse ------------------------------------------------------------

bool AsyncResponse::valid() const {
  if (server_ == nullptr) return false;
  engine::Connection* conn = server_->shard().find_connection(slot_, generation_);
  if (conn == nullptr || !conn->is_open() || conn->handler() != server_) return false;
  auto* hc = static_cast<HttpConnection*>(conn->context());
  return hc != nullptr && hc->sequence == sequence_ &&
         hc->phase == HttpConnection::Phase::kWaiting;
}

bool AsyncResponse::send(uint16_t status, std::string_view content_type, std::string_view body) {
  return answer([&](Response& res) { res.send(status, content_type, body); });
}

bool AsyncResponse::send_error(uint16_t status, std::string_view message) {
  return answer([&](Response& res) { res.send_error(status, message); });
}

bool AsyncResponse::answer(const std::function<void(Response&)>& write) {
  if (!valid()) return false;
  engine::Connection& conn = *server_->shard().find_connection(slot_, generation_);
  auto& hc = *static_cast<HttpConnection*>(conn.context());
  HttpServer* server = server_;
  server_ = nullptr;  // the first send wins
  Response res;
  res.bind(server, &hc, &conn);
  res.ctx_ = hc.ctx;
  for (const auto& [name, value] : hc.held_headers) res.header(name, value);
  hc.held_headers.clear();
  hc.on_abort = nullptr;
  // process() has returned and consumed this request: whatever the carry
  // holds is a further request.
  if (!hc.in_process) hc.more_behind = !hc.carry.empty();
  if (hc.timer == HttpConnection::Timer::kDeferred) {
    conn.clear_timeout();
    hc.timer = HttpConnection::Timer::kNone;
  }
  write(res);
  if (conn.is_open()) server->resume(conn, hc);
  return true;
}

}  // namespace ringshard::http

namespace ringshard::http {

std::unique_ptr<engine::ConnectionHandler> make_http_handler(engine::Shard& shard,
                                                             const ServerConfig& config,
                                                             const Router& router) {
  return std::make_unique<HttpServer>(shard, config, router);
}

}  // namespace ringshard::http
