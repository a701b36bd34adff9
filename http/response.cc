// http/response.cc: what a handler holds: ServerRequest, Response (send,
// stream, upgrade, defer), BodyStream and AsyncResponse.
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

#include "http/http_connection.h"
#include "http/response_head.h"
#include "http/status.h"

namespace ringshard::http {

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
  return peer_address(*conn_, *hc_, length);
}

bool ServerRequest::tls() const { return conn_ != nullptr && conn_->transport() != nullptr; }

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

bool Response::refused_invalid_header() {
  if (!invalid_header_) return false;
  // The application tried to put CR, LF or NUL into a header (or a bad
  // name): nothing of its response goes out.
  invalid_header_ = false;
  server_->metrics_.invalid_headers.add();
  server_->headers_.truncate(header_mark_);
  send_error(500, "the application set an invalid response header");
  return true;
}

void Response::send(uint16_t status, std::string_view content_type, std::string_view body) {
  if (done_ || deferred_ || refused_invalid_header()) return;
  done_ = true;
  HttpConnection& hc = *hc_;
  // A streamed body the handler never read and that is not worth reading
  // to its end (request_body.cc): the connection closes after this answer.
  if (hc.io_active && hc.body_open && !hc.io->wanted && !hc.io->discard &&
      (!hc.io->has_length || hc.io->left > kBodyDiscardLimit ||
       (hc.io->expect_continue && !hc.continue_sent))) {
    hc.keep_alive = false;
  }
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

void Response::begin_streamed(uint16_t status, std::string_view content_type,
                              std::optional<uint64_t>& length) {
  done_ = true;
  HttpConnection& hc = *hc_;
  hc.filter.reset();
  if (ctx_ == nullptr) return;
  ResponseInfo info;
  info.status = status;
  info.content_type = content_type;
  info.streamed = true;
  info.head_only = hc.head_only;
  server_->run_response_hooks(*this, info);
  if (info.filter != nullptr && !hc.head_only) {
    hc.filter = std::move(info.filter);
    length.reset();  // the filtered body's size is not known ahead
  }
}

void Response::stream(uint16_t status, std::string_view content_type,
                      std::optional<uint64_t> length, Producer producer) {
  if (done_ || deferred_ || refused_invalid_header()) return;
  begin_streamed(status, content_type, length);
  HttpConnection& hc = *hc_;
  const bool chunked = !length && !hc.http10;
  if (!length && hc.http10) hc.keep_alive = false;  // close-delimited body
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
  if (hc.filter != nullptr) {
    std::string& out = server_->filter_out_;
    out.clear();
    if (!hc.filter->write(data, out)) {
      hc.keep_alive = false;
      conn_->close();  // the head is out: the only honest signal left
      return false;
    }
    if (out.empty()) return !conn_->over_send_limit();
    return write_raw(out);
  }
  return write_raw(data);
}

bool BodyStream::write_raw(std::string_view data) {
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
  if (hc.filter != nullptr) {
    std::unique_ptr<BodyFilter> filter = std::move(hc.filter);
    std::string tail;
    if (!filter->finish(tail)) {
      hc.keep_alive = false;
      conn_->close();
      return;
    }
    if (!tail.empty()) write_raw(tail);
  }
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

bool AsyncResponse::upgrade(std::string_view head, engine::ConnectionHandler& handler,
                            void* context) {
  if (!valid()) return false;
  engine::Connection& conn = *server_->shard().find_connection(slot_, generation_);
  auto& hc = *static_cast<HttpConnection*>(conn.context());
  HttpServer* server = server_;
  server_ = nullptr;  // the first answer wins
  hc.held_headers.clear();
  hc.on_abort = nullptr;
  if (hc.timer == HttpConnection::Timer::kDeferred) {
    conn.clear_timeout();
    hc.timer = HttpConnection::Timer::kNone;
  }
  Response res;
  res.bind(server, &hc, &conn);
  res.ctx_ = hc.ctx;
  if (!res.upgrade(head, handler, context)) return false;
  // From inside the route handler, process() hands over once it returns;
  // later, nothing is on the stack: hand over now, with the bytes that
  // arrived behind the request.
  if (!hc.in_process) server->complete_upgrade(conn, hc, hc.carry.view());
  return true;
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
