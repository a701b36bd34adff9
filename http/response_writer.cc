// http/response_writer.cc: pushed responses (Response::start,
// AsyncResponse::start, ResponseWriter): the head from the caller's header
// list, writes framed by BodyStream, the writable notice, the stall
// deadline and the abort notice. The contract is in http/server.h.
#include <string_view>
#include <utility>

#include "http/http_connection.h"
#include "http/request.h"
#include "http/server.h"

namespace ringshard::http {

namespace {

// Fields the server writes itself (framing, connection management, its
// Date and Server): a caller's copy would contradict them.
bool server_owned(std::string_view name) {
  for (std::string_view owned : {std::string_view("content-length"),
                                 std::string_view("transfer-encoding"),
                                 std::string_view("connection"), std::string_view("keep-alive"),
                                 std::string_view("date"), std::string_view("server")}) {
    if (iequals(name, owned)) return true;
  }
  return false;
}

}  // namespace

ResponseWriter Response::start(uint16_t status, HeaderList headers,
                               std::optional<uint64_t> length) {
  ResponseWriter w;
  if (done_ || deferred_ || !bound_) return w;
  std::string_view content_type;
  for (const auto& [name, value] : headers) {
    if (iequals(name, "content-type")) {
      if (!HeaderArena::valid_value(value)) invalid_header_ = true;
      content_type = value;
      continue;
    }
    if (server_owned(name)) continue;
    header(name, value);
  }
  if (refused_invalid_header()) return w;
  begin_streamed(status, content_type, length);
  HttpConnection& hc = *hc_;
  const bool framed = status_has_body(status);
  const bool no_body = hc.head_only || !framed;
  const bool chunked = framed && !length && !hc.http10;
  if (framed && !length && hc.http10 && !hc.head_only) hc.keep_alive = false;  // close-delimited
  server_->write_head(*conn_, hc, status, content_type, framed && length ? &*length : nullptr,
                      chunked, this);
  server_->headers_.truncate(header_mark_);
  hc.status = status;
  StreamIo& io = server_->stream_io(hc, *conn_);
  if (!hc.io_active) {
    // A route without a streamed body: the writer is all there is.
    io.clear_callbacks();
    io.stream_route = false;
    io.discard = io.wanted = io.paused = io.peer_eof = false;
    io.end_told = true;
    hc.body_open = false;
    hc.io_active = true;
  }
  io.response_done = false;
  io.writer = true;
  io.no_body = no_body;
  io.want_writable = false;
  io.on_writable = nullptr;
  io.stall_ms = 0;
  hc.on_abort = nullptr;
  hc.producer = nullptr;
  hc.chunked_out = chunked && !no_body;
  hc.length_out = length.has_value() && !no_body;
  hc.stream_left = no_body ? 0 : length.value_or(0);
  hc.phase = HttpConnection::Phase::kStreaming;
  conn_->set_timeout(server_->config_->stream_stall_ms);
  hc.timer = HttpConnection::Timer::kStream;
  io.stall_armed_ms = server_->shard_.now_ms();
  w.server_ = server_;
  w.slot_ = conn_->slot();
  w.generation_ = conn_->generation();
  w.sequence_ = hc.sequence;
  return w;
}

ResponseWriter AsyncResponse::start(uint16_t status, HeaderList headers,
                                    std::optional<uint64_t> length) {
  ResponseWriter w;
  answer([&](Response& res) { w = res.start(status, headers, length); });
  return w;
}

HttpConnection* ResponseWriter::find(engine::Connection** out) const {
  if (server_ == nullptr) return nullptr;
  engine::Connection* conn = server_->shard().find_connection(slot_, generation_);
  if (conn == nullptr || !conn->is_open() || conn->handler() != server_) return nullptr;
  auto* hc = static_cast<HttpConnection*>(conn->context());
  if (hc == nullptr || hc->sequence != sequence_ ||
      hc->phase != HttpConnection::Phase::kStreaming || !hc->io_active || !hc->io->writer) {
    return nullptr;
  }
  if (out != nullptr) *out = conn;
  return hc;
}

bool ResponseWriter::valid() const { return find(nullptr) != nullptr; }

size_t ResponseWriter::queued() const {
  engine::Connection* conn = nullptr;
  return find(&conn) != nullptr ? conn->queued_bytes() : 0;
}

bool ResponseWriter::write(std::string_view data) {
  engine::Connection* conn = nullptr;
  HttpConnection* hc = find(&conn);
  if (hc == nullptr) return false;
  StreamIo& io = *hc->io;
  bool ok = true;
  if (!io.no_body && !data.empty()) {
    BodyStream stream;
    stream.server_ = server_;
    stream.hc_ = hc;
    stream.conn_ = conn;
    ok = stream.write(data);
    if (!conn->is_open()) return false;  // a body filter failed
  } else {
    ok = !conn->over_send_limit();
  }
  // Progress restarts the stall deadline (at most once per millisecond).
  const uint64_t now = server_->shard().now_ms();
  if (io.stall_armed_ms != now) {
    io.stall_armed_ms = now;
    conn->set_timeout(io.stall_ms != 0 ? io.stall_ms : server_->config_->stream_stall_ms);
    hc->timer = HttpConnection::Timer::kStream;
  }
  if (!ok) {
    io.want_writable = true;
    conn->request_writable();
  }
  return ok;
}

void ResponseWriter::end() {
  engine::Connection* conn = nullptr;
  HttpConnection* hc = find(&conn);
  if (hc == nullptr) return;
  // Ended by the application, even when cut short (fewer bytes than the
  // length: BodyStream closes the connection): no abort notice.
  hc->on_abort = nullptr;
  BodyStream stream;
  stream.server_ = server_;
  stream.hc_ = hc;
  stream.conn_ = conn;
  stream.end();
}

void ResponseWriter::abort() {
  engine::Connection* conn = nullptr;
  HttpConnection* hc = find(&conn);
  if (hc == nullptr) return;
  hc->on_abort = nullptr;  // the application's own doing: no notice
  hc->keep_alive = false;
  // What is queued goes first; the client sees the body cut short.
  conn->close_after_flush();
}

void ResponseWriter::on_writable(std::function<void()> fn) {
  HttpConnection* hc = find(nullptr);
  if (hc != nullptr) hc->io->on_writable = std::move(fn);
}

void ResponseWriter::on_abort(std::function<void(AbortReason)> fn) {
  HttpConnection* hc = find(nullptr);
  if (hc != nullptr) hc->on_abort = std::move(fn);
}

void ResponseWriter::set_stall_timeout(uint32_t ms) {
  engine::Connection* conn = nullptr;
  HttpConnection* hc = find(&conn);
  if (hc == nullptr) return;
  hc->io->stall_ms = ms;
  hc->io->stall_armed_ms = server_->shard().now_ms();
  conn->set_timeout(ms != 0 ? ms : server_->config_->stream_stall_ms);
  hc->timer = HttpConnection::Timer::kStream;
}

// --- HttpServer: the writer side ------------------------------------------------

void HttpServer::writer_writable(engine::Connection& conn, HttpConnection& hc) {
  StreamIo& io = *hc.io;
  if (!io.want_writable) return;
  io.want_writable = false;
  if (!io.on_writable) return;
  std::function<void()> fn = std::move(io.on_writable);
  io.on_writable = nullptr;
  const uint64_t sequence = hc.sequence;
  ++hc.pinned;
  try {
    fn();
  } catch (...) {
    metrics_.handler_exceptions.add();
    if (conn.is_open()) conn.close();
  }
  --hc.pinned;
  if (!conn.is_open()) return;
  // Kept for the next false write, unless the response ended meanwhile.
  if (hc.sequence == sequence && hc.io_active && io.writer && !io.on_writable) {
    io.on_writable = std::move(fn);
  }
}

void HttpServer::writer_stalled(engine::Connection& conn, HttpConnection& hc) {
  metrics_.writer_aborts.add();
  hc.phase = HttpConnection::Phase::kDone;  // the writer is invalid from here
  hc.keep_alive = false;
  std::function<void(AbortReason)> notify = std::move(hc.on_abort);
  hc.on_abort = nullptr;
  if (notify) {
    ++hc.pinned;
    try {
      notify(AbortReason::kTimeout);
    } catch (...) {
      metrics_.handler_exceptions.add();
    }
    --hc.pinned;
  }
  conn.close();
}

}  // namespace ringshard::http
