// http/request_body.cc: streamed request bodies (RouteOptions::stream_body):
// RequestBodyReader, and the driver's side of it: body bytes handed to the
// consumer as views of the receive buffer as they arrive, the consumer's
// pause, the body deadline, body errors, and what becomes of a body the
// response did not wait for. The contract is in http/server.h.
#include <algorithm>
#include <string>
#include <utility>

#include "engine/engine.h"
#include "http/http_connection.h"
#include "http/server.h"
#include "http/status.h"

namespace ringshard::http {

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Keeps a connection's state block from being freed (only returned to the
// free list) while an application callback runs: the callback may close
// the connection, and the code around it still reads the block to learn
// that.
class Pin {
 public:
  explicit Pin(HttpConnection& hc) : hc_(hc) { ++hc_.pinned; }
  ~Pin() { --hc_.pinned; }
  Pin(const Pin&) = delete;
  Pin& operator=(const Pin&) = delete;

 private:
  HttpConnection& hc_;
};

}  // namespace

// --- RequestBodyReader --------------------------------------------------------

RequestBodyReader ServerRequest::body_reader() const {
  RequestBodyReader r;
  if (hc_ == nullptr || conn_ == nullptr || !hc_->io_active || !hc_->io->stream_route) return r;
  r.server_ = hc_->io->server;
  r.slot_ = conn_->slot();
  r.generation_ = conn_->generation();
  r.sequence_ = hc_->sequence;
  return r;
}

HttpConnection* RequestBodyReader::find(engine::Connection** out) const {
  if (server_ == nullptr) return nullptr;
  engine::Connection* conn = server_->shard().find_connection(slot_, generation_);
  if (conn == nullptr || !conn->is_open() || conn->handler() != server_) return nullptr;
  auto* hc = static_cast<HttpConnection*>(conn->context());
  if (hc == nullptr || hc->sequence != sequence_ || !hc->io_active || hc->io->discard ||
      hc->io->response_done) {
    return nullptr;
  }
  if (out != nullptr) *out = conn;
  return hc;
}

bool RequestBodyReader::valid() const {
  const HttpConnection* hc = find(nullptr);
  return hc != nullptr && (hc->body_open || !hc->io->end_told);
}

bool RequestBodyReader::has_body() const {
  const HttpConnection* hc = find(nullptr);
  return hc != nullptr && (hc->io->chunked_in || hc->io->declared > 0);
}

std::optional<uint64_t> RequestBodyReader::length() const {
  const HttpConnection* hc = find(nullptr);
  if (hc == nullptr || !hc->io->has_length) return std::nullopt;
  return hc->io->declared;
}

bool RequestBodyReader::chunked() const {
  const HttpConnection* hc = find(nullptr);
  return hc != nullptr && hc->io->chunked_in;
}

uint64_t RequestBodyReader::received() const {
  const HttpConnection* hc = find(nullptr);
  return hc != nullptr ? hc->io->received : 0;
}

size_t RequestBodyReader::buffered() const {
  const HttpConnection* hc = find(nullptr);
  return hc != nullptr ? hc->carry.size() + hc->io->pending.size() : 0;
}

void RequestBodyReader::on_data(std::function<bool(std::string_view)> fn) {
  engine::Connection* conn = nullptr;
  HttpConnection* hc = find(&conn);
  if (hc == nullptr) return;
  StreamIo& io = *hc->io;
  io.on_data = std::move(fn);
  if (!io.wanted && io.on_data) {
    io.wanted = true;
    server_->body_wanted(*conn, *hc);
  }
}

void RequestBodyReader::on_end(std::function<void()> fn) {
  engine::Connection* conn = nullptr;
  HttpConnection* hc = find(&conn);
  if (hc == nullptr) return;
  hc->io->on_end = std::move(fn);
  // Already whole: told from here (outside the handler) or after it.
  if (!hc->body_open && !hc->io->end_told && !hc->in_process) server_->resume(*conn, *hc);
}

void RequestBodyReader::on_error(std::function<void(BodyError)> fn) {
  HttpConnection* hc = find(nullptr);
  if (hc != nullptr) hc->io->on_error = std::move(fn);
}

void RequestBodyReader::pause() {
  engine::Connection* conn = nullptr;
  HttpConnection* hc = find(&conn);
  if (hc == nullptr || hc->io->paused) return;
  hc->io->paused = true;
  server_->sync_reading(*conn, *hc);
}

void RequestBodyReader::resume() {
  engine::Connection* conn = nullptr;
  HttpConnection* hc = find(&conn);
  if (hc == nullptr || !hc->io->paused) return;
  hc->io->paused = false;
  // Inside process() the pump loop on the stack picks it up.
  if (!hc->in_process) server_->resume(*conn, *hc);
}

// --- HttpServer: the body side ------------------------------------------------

StreamIo& HttpServer::stream_io(HttpConnection& hc, engine::Connection& conn) {
  if (hc.io == nullptr) {
    hc.io = std::make_unique<StreamIo>();
    hc.io->body_timer.callback = &HttpServer::body_timer_fired;
    hc.io->body_timer.context = &hc;
  }
  StreamIo& io = *hc.io;
  io.server = this;
  io.conn = &conn;
  return io;
}

void HttpServer::begin_streamed_body(HttpConnection& hc, engine::Connection& conn,
                                     const Request& req, uint64_t max_body) {
  StreamIo& io = stream_io(hc, conn);
  io.clear_callbacks();
  io.stream_route = true;
  io.has_length = req.body_kind == BodyKind::kContentLength;
  io.chunked_in = req.body_kind == BodyKind::kChunked;
  io.declared = io.has_length ? req.content_length : 0;
  io.left = io.declared;
  io.received = 0;
  io.wanted = io.paused = io.discard = io.end_told = false;
  io.peer_eof = io.response_done = false;
  io.expect_continue = req.expect_continue;
  io.writer = io.no_body = io.want_writable = false;
  io.stall_ms = 0;
  if (io.chunked_in) hc.chunked = ChunkedDecoder(ChunkedLimits{max_body});
  hc.body_open = io.chunked_in || io.left > 0;
  hc.io_active = true;
}

void HttpServer::body_wanted(engine::Connection& conn, HttpConnection& hc) {
  // The client that asked waits for this before sending the body; not once
  // a response head is out (it is the answer then).
  if (hc.io->expect_continue && !hc.continue_sent && hc.body_open &&
      hc.phase != HttpConnection::Phase::kStreaming) {
    conn.write(kContinue);
    hc.continue_sent = true;
  }
  // Inside process() (the handler) the loop delivers once it returns.
  if (!hc.in_process) resume(conn, hc);
}

bool HttpServer::deliver_body(engine::Connection& conn, HttpConnection& hc,
                              std::string_view chunk) {
  StreamIo& io = *hc.io;
  if (chunk.empty() || !io.on_data) return true;
  // Moved out for the call: the callback may replace itself, or end the
  // response, which clears the callbacks.
  std::function<bool(std::string_view)> fn = std::move(io.on_data);
  io.on_data = nullptr;
  bool more = false;
  {
    Pin pin(hc);
    try {
      more = fn(chunk);
    } catch (...) {
      metrics_.handler_exceptions.add();
      if (conn.is_open()) conn.close();
      return false;
    }
  }
  if (!conn.is_open()) return false;
  if (io.discard || io.response_done) return true;
  if (!io.on_data) io.on_data = std::move(fn);
  if (!more) io.paused = true;
  return true;
}

size_t HttpServer::pump_body(engine::Connection& conn, HttpConnection& hc, std::string_view in) {
  StreamIo& io = *hc.io;
  const auto reading = [&] { return io.discard || (io.wanted && !io.paused); };
  // A chunk is at most one receive buffer, also when it comes from the
  // input buffer (bytes held behind a pause): what a consumer that stops at
  // "full" may have taken past it stays that small.
  const size_t max_chunk = shard_.config().recv_buffer_size;
  // Decoded chunked data held behind a pause goes first.
  while (!io.pending.empty() && io.wanted && !io.paused && !io.discard) {
    const size_t n = std::min(max_chunk, io.pending.size());
    std::string held = io.pending.substr(0, n);
    io.pending.erase(0, n);
    if (!deliver_body(conn, hc, held)) return in.size();
  }
  size_t used = 0;
  while (hc.body_open && used < in.size() && reading()) {
    const std::string_view data = in.substr(used);
    if (!io.chunked_in) {
      const size_t take = static_cast<size_t>(
          std::min<uint64_t>(io.left, std::min(data.size(), max_chunk)));
      used += take;
      io.left -= take;
      io.received += take;
      if (io.left == 0) hc.body_open = false;
      if (!io.discard && !deliver_body(conn, hc, data.substr(0, take))) return in.size();
      continue;
    }
    // Chunked: the decoder hands on every data run of `data`; runs behind
    // a pause wait, decoded, in `pending` (the raw bytes would have had to
    // wait in the input buffer otherwise).
    bool gone = false;
    const ChunkedResult cr = hc.chunked.feed(data, [&](std::string_view run) {
      if (gone) return;
      io.received += run.size();
      while (!run.empty() && !io.discard) {
        if (io.paused || !io.wanted) {
          io.pending.append(run);
          return;
        }
        const std::string_view piece = run.substr(0, max_chunk);
        run.remove_prefix(piece.size());
        if (!deliver_body(conn, hc, piece)) {
          gone = true;
          return;
        }
      }
    });
    if (gone) return in.size();
    used += cr.consumed;
    if (cr.status == ChunkedStatus::kError) {
      body_failed(conn, hc, cr.error_status == 413 ? BodyError::kTooLarge : BodyError::kMalformed);
      return in.size();
    }
    if (cr.status != ChunkedStatus::kDone) break;  // an incomplete line stays in `in`
    hc.body_open = false;
    hc.chunked = ChunkedDecoder(ChunkedLimits{config_->max_body_bytes});
  }
  if (used > 0) {
    metrics_.bytes_in.add(used);
    hc.bytes_in += used;
  }
  if (hc.body_open) {
    if (reading()) {
      if (io.peer_eof) {
        // Whatever was buffered is used up and no more can come.
        body_failed(conn, hc, BodyError::kClosed);
        return in.size();
      }
      if (used > 0) arm_body_timer(hc);
    }
    return used;
  }
  shard_.timers().disarm(io.body_timer);
  if (io.discard || io.response_done) {
    // The request is over: its response ended, its body is read.
    hc.io_active = false;
    io.clear_callbacks();
    return used;
  }
  if (!io.end_told && io.on_end && io.pending.empty()) {
    io.end_told = true;
    std::function<void()> fn = std::move(io.on_end);
    io.on_end = nullptr;
    Pin pin(hc);
    try {
      fn();
    } catch (...) {
      metrics_.handler_exceptions.add();
      if (conn.is_open()) conn.close();
      return in.size();
    }
    if (!conn.is_open()) return in.size();
  }
  return used;
}

void HttpServer::arm_body_timer(HttpConnection& hc) {
  StreamIo& io = *hc.io;
  // Re-armed by progress, at most once per millisecond of shard time.
  if (io.body_timer.armed() && io.body_armed_ms == shard_.now_ms()) return;
  io.body_armed_ms = shard_.now_ms();
  shard_.timers().arm(io.body_timer, shard_.now_ms() + config_->body_timeout_ms);
}

void HttpServer::body_timer_fired(engine::TimerEntry& e) {
  auto& hc = *static_cast<HttpConnection*>(e.context);
  StreamIo& io = *hc.io;
  engine::Connection* conn = io.conn;
  if (conn == nullptr || !conn->is_open() || !hc.io_active || !hc.body_open) return;
  io.server->body_failed(*conn, hc, BodyError::kTimeout);
}

void HttpServer::sync_reading(engine::Connection& conn, HttpConnection& hc) {
  using P = HttpConnection::Phase;
  StreamIo& io = *hc.io;
  bool want;
  if (hc.body_open) {
    want = io.discard || (io.wanted && !io.paused);
  } else {
    // As for any request: pipelined input waits in the kernel while the
    // response is pending.
    want = hc.carry.empty() || (hc.phase != P::kWaiting && hc.phase != P::kStreaming);
  }
  if (want) {
    conn.resume_reading();
  } else {
    conn.pause_reading();
  }
  // The body deadline runs only while we are reading it: a paused
  // consumer is our side, not the client's.
  if (hc.body_open && want) {
    if (!io.body_timer.armed()) arm_body_timer(hc);
  } else {
    shard_.timers().disarm(io.body_timer);
  }
}

void HttpServer::body_failed(engine::Connection& conn, HttpConnection& hc, BodyError error) {
  using P = HttpConnection::Phase;
  StreamIo& io = *hc.io;
  metrics_.body_stream_errors.add();
  if (error == BodyError::kTimeout) metrics_.body_timeouts.add();
  shard_.timers().disarm(io.body_timer);
  // The framing is broken or the rest will not come: whatever answer goes
  // out, the connection closes after it (an answer from inside on_error
  // says so too).
  hc.keep_alive = false;
  const bool told = !io.discard && !io.response_done;
  io.end_told = true;
  std::function<void(BodyError)> notify = std::move(io.on_error);
  io.on_error = nullptr;
  io.on_data = nullptr;
  io.on_end = nullptr;
  std::string().swap(io.pending);
  if (told && notify) {
    Pin pin(hc);
    try {
      notify(error);
    } catch (...) {
      metrics_.handler_exceptions.add();
    }
    if (!conn.is_open()) return;
  }
  if (error == BodyError::kClosed) {
    hc.body_open = false;
    conn.close();
    return;
  }
  if (hc.phase == P::kWaiting) {
    // Still deferred: the server answers, as for a deferred timeout.
    const uint16_t status = error == BodyError::kTooLarge ? 413
                            : error == BodyError::kTimeout ? 408 : 400;
    const std::string_view reason = error == BodyError::kTooLarge ? "request body larger than the limit"
                                    : error == BodyError::kTimeout ? "request body stalled"
                                                                   : "malformed chunked body";
    std::function<void(AbortReason)> abort = std::move(hc.on_abort);
    hc.on_abort = nullptr;
    hc.phase = P::kIdle;  // the deferred handle dies first
    hc.more_behind = false;
    if (hc.timer == HttpConnection::Timer::kDeferred) {
      conn.clear_timeout();
      hc.timer = HttpConnection::Timer::kNone;
    }
    Response res;
    res.bind(this, &hc, &conn);
    res.ctx_ = hc.ctx;
    for (const auto& [name, value] : hc.held_headers) res.header(name, value);
    hc.held_headers.clear();
    // body_open still set: finish_response lingers for what is in flight.
    res.send_error(status, reason);
    hc.body_open = false;
    if (abort) {
      Pin pin(hc);
      try {
        abort(AbortReason::kClosed);
      } catch (...) {
        metrics_.handler_exceptions.add();
      }
    }
    return;
  }
  hc.body_open = false;
  if (hc.phase == P::kStreaming) {
    // The head is out: what is queued goes, then the close, which the
    // client sees as a cut-short body (no last chunk, short of the length).
    conn.close_after_flush();
    return;
  }
  // The response is complete (the rest was being dropped): close after it.
  hc.phase = P::kDone;
  conn.close_after_flush();
}

void HttpServer::end_streamed_request(engine::Connection& /*conn*/, HttpConnection& hc) {
  StreamIo& io = *hc.io;
  io.response_done = true;
  io.writer = false;
  io.want_writable = false;
  io.on_writable = nullptr;
  if (!hc.body_open) {
    hc.io_active = false;
    shard_.timers().disarm(io.body_timer);
    io.clear_callbacks();
    return;
  }
  // The response ended before the body: nobody reads the rest. A small
  // rest of known length is read and dropped, so the connection stays
  // usable; anything else closes it after the response.
  io.on_data = nullptr;
  io.on_end = nullptr;
  io.on_error = nullptr;
  std::string().swap(io.pending);
  const bool small = io.has_length && io.left <= kBodyDiscardLimit &&
                     !(io.expect_continue && !hc.continue_sent);
  if (small && hc.keep_alive && !hc.close_after) {
    io.discard = true;
    io.paused = false;
  } else {
    hc.keep_alive = false;
    shard_.timers().disarm(io.body_timer);
  }
}

void HttpServer::close_streamed(HttpConnection& hc) {
  StreamIo& io = *hc.io;
  shard_.timers().disarm(io.body_timer);
  if (hc.body_open && !io.discard && !io.response_done) {
    hc.body_open = false;
    io.end_told = true;
    metrics_.body_stream_errors.add();
    std::function<void(BodyError)> notify = std::move(io.on_error);
    io.on_error = nullptr;
    if (notify) {
      Pin pin(hc);
      try {
        notify(BodyError::kClosed);
      } catch (...) {
        metrics_.handler_exceptions.add();
      }
    }
  }
  if (hc.phase == HttpConnection::Phase::kStreaming && io.writer) {
    metrics_.writer_aborts.add();
    hc.phase = HttpConnection::Phase::kDone;  // the writer is invalid from here
    std::function<void(AbortReason)> notify = std::move(hc.on_abort);
    hc.on_abort = nullptr;
    if (notify) {
      Pin pin(hc);
      try {
        notify(AbortReason::kClosed);
      } catch (...) {
        metrics_.handler_exceptions.add();
      }
    }
  }
  hc.body_open = false;
  hc.io_active = false;
  io.clear_callbacks();
  io.conn = nullptr;
}

}  // namespace ringshard::http
