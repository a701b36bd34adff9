// http/server_output.cc: the HTTP driver's output side: response heads
// (with the encoded-head cache and the extra headers from the arena), the
// middleware's on_response hooks, per-route metrics and the access log.
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "engine/socket_address.h"
#include "http/http_connection.h"
#include "http/response_head.h"
#include "http/status.h"

namespace ringshard::http {

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
  socklen_t len = 0;
  if (peer_address(conn, hc, len) == nullptr) return {};
  // "192.0.2.1:port" or "[2001:db8::1]:port".
  const auto* sa = reinterpret_cast<const sockaddr*>(&hc.peer);
  uint16_t port = 0;
  if (sa->sa_family == AF_INET) port = ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  if (sa->sa_family == AF_INET6) port = ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  const bool v6 = sa->sa_family == AF_INET6;
  // Room for the brackets, the colon and five digits.
  if (size < engine::kAddressTextMax + 8) return {};
  const std::string_view host = engine::address_text(sa, buf + (v6 ? 1 : 0), size - 8);
  if (host.empty()) return {};
  size_t n = host.size();
  if (v6) {
    buf[0] = '[';
    buf[++n] = ']';
    ++n;
  }
  buf[n++] = ':';
  n = static_cast<size_t>(std::to_chars(buf + n, buf + size - 1, port).ptr - buf);
  buf[n] = '\0';
  return {buf, n};
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
      (content_type.empty() ||
       std::memcmp(hcache.type, content_type.data(), content_type.size()) == 0)) {
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
      if (!content_type.empty()) std::memcpy(hcache.type, content_type.data(), content_type.size());
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
  const uint64_t now = monotonic_now_ns();
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
}  // namespace ringshard::http
