#include "ws/driver.h"

#include <cstring>
#include <exception>

#include "engine/shard.h"

namespace ringshard::ws {

namespace {

// The message buffer is kept between messages (freeing a 64 KiB buffer
// after every message made glibc hand it back to the kernel and fault it in
// again: a quarter of the CPU of a 64 KiB echo). It is freed when the peer
// has been quiet for a ping interval, or at once when it grew past this.
constexpr size_t kKeepMessageCapacity = 1u << 20;
// Header + payload up to this size go out in one contiguous reservation.
constexpr size_t kContiguousFrame = 16 * 1024;

WebSocket& socket_of(engine::Connection& c) { return *static_cast<WebSocket*>(c.context()); }

std::string_view view(std::span<const char> s) { return {s.data(), s.size()}; }

// A topic message encoded for one shard: every subscriber's send queue
// borrows these bytes. The count is shard-local (no atomics): all borrowers
// live on the shard that made it.
struct SharedFrame {
  uint32_t refs = 1;
  std::string bytes;
};

void release_shared_frame(void* p) {
  auto* f = static_cast<SharedFrame*>(p);
  if (--f->refs == 0) delete f;
}

}  // namespace

// Feeds the reader's events into the connection's message state. Made on
// the stack per on_data(), so the WebSocket needs no vtable of its own.
class Driver::Sink final : public FrameReader::Sink {
 public:
  Sink(Driver& d, WebSocket& ws) : d_(d), ws_(ws) {}

  bool on_message_begin(Opcode op, bool compressed) override {
    ws_.message_text_ = op == Opcode::kText;
    ws_.message_compressed_ = compressed;
    ws_.utf8_.reset();
    ws_.message_.clear();
    ws_.pending_data_ = nullptr;
    ws_.pending_size_ = 0;
    return true;
  }

  bool on_message_data(std::span<char> data) override {
    if (ws_.close_sent_) return true;  // closing: data is read and dropped
    if (ws_.message_compressed_) return inflate(view(data), false);
    if (ws_.message_text_ && !ws_.utf8_.feed(view(data))) {
      d_.fail(ws_, close_code::kInvalidPayload, "text message is not UTF-8");
      return false;
    }
    if (ws_.pending_data_ == nullptr && ws_.message_.empty()) {
      // Possibly the whole message: keep a view, copy only if more follows.
      ws_.pending_data_ = data.data();
      ws_.pending_size_ = data.size();
      return true;
    }
    if (ws_.pending_data_ != nullptr) {
      ws_.message_.append(ws_.pending_data_, ws_.pending_size_);
      ws_.pending_data_ = nullptr;
    }
    ws_.message_.append(data.data(), data.size());
    return true;
  }

  bool on_message_end() override {
    if (ws_.close_sent_) return true;
    if (ws_.message_compressed_ && !inflate({}, true)) return false;
    if (ws_.message_text_ && !ws_.utf8_.complete()) {
      d_.fail(ws_, close_code::kInvalidPayload, "text message ends inside a UTF-8 character");
      return false;
    }
    std::string_view message = ws_.message_;
    if (ws_.pending_data_ != nullptr) message = {ws_.pending_data_, ws_.pending_size_};
    ws_.pending_data_ = nullptr;
    d_.deliver_message(ws_, message);
    if (ws_.message_.capacity() > kKeepMessageCapacity) {
      std::string().swap(ws_.message_);
    } else {
      ws_.message_.clear();
    }
    return ws_.conn_ != nullptr && ws_.conn_->is_open() && !ws_.failed_;
  }

  bool on_control(Opcode op, std::span<char> payload) override {
    return d_.on_control(ws_, op, payload);
  }

 private:
  bool inflate(std::string_view piece, bool last) {
    const size_t before = ws_.message_.size();
    const size_t cap = d_.config_.max_message_bytes;
    const InflateStatus st = last ? ws_.inflater_->finish(ws_.message_, cap)
                                  : ws_.inflater_->feed(piece, ws_.message_, cap);
    if (st == InflateStatus::kTooBig) {
      d_.fail(ws_, close_code::kMessageTooBig, "message larger than the limit");
      return false;
    }
    if (st == InflateStatus::kCorrupt) {
      d_.fail(ws_, close_code::kInvalidPayload, "invalid compressed data");
      return false;
    }
    if (ws_.message_text_ &&
        !ws_.utf8_.feed(std::string_view(ws_.message_).substr(before))) {
      d_.fail(ws_, close_code::kInvalidPayload, "text message is not UTF-8");
      return false;
    }
    return true;
  }

  Driver& d_;
  WebSocket& ws_;
};

Driver::Driver(WsServer& server, unsigned shard_index)
    : server_(server), config_(server.config()), shard_index_(shard_index) {}

Driver::~Driver() {
  for (WebSocket* ws : free_) delete ws;
}

WebSocket* Driver::make_socket(const Endpoint& endpoint, void* user_data,
                               std::string_view protocol, const DeflateParams* deflate) {
  WebSocket* ws;
  if (!free_.empty()) {
    ws = free_.back();
    free_.pop_back();
  } else {
    ws = new WebSocket();
  }
  ws->driver_ = this;
  ws->endpoint_ = &endpoint;
  ws->user_data_ = user_data;
  ws->protocol_.assign(protocol);
  ws->reader_.reset();
  ws->reader_.set_limits(ReaderLimits{config_.max_frame_bytes, config_.max_message_bytes,
                                      /*expect_masked=*/true,
                                      /*allow_compressed=*/deflate != nullptr});
  ws->utf8_.reset();
  ws->message_.clear();
  ws->pending_data_ = nullptr;
  ws->pending_size_ = 0;
  if (deflate != nullptr) {
    ws->deflater_ = std::make_unique<Deflater>(*deflate, config_.deflate);
    ws->inflater_ = std::make_unique<Inflater>(*deflate, config_.deflate);
  }
  ws->timer_ = WebSocket::Timer::kNone;
  ws->message_text_ = ws->message_compressed_ = false;
  ws->close_sent_ = ws->close_received_ = ws->failed_ = false;
  ws->backpressured_ = ws->opened_ = ws->notified_ = false;
  return ws;
}

void Driver::discard_socket(WebSocket* ws) {
  ws->conn_ = nullptr;
  ws->deflater_.reset();
  ws->inflater_.reset();
  std::string().swap(ws->message_);
  ws->topics_.clear();
  ws->user_data_ = nullptr;
  ws->endpoint_ = nullptr;
  if (free_.size() < 1024) {
    free_.push_back(ws);
  } else {
    delete ws;
  }
}

void Driver::on_open(engine::Connection& conn) {
  WebSocket& ws = socket_of(conn);
  ws.conn_ = &conn;
  const uint64_t now = conn.shard().now_ms();
  ws.last_receive_ms_ = ws.last_message_ms_ = now;
  ws.opened_ = true;
  metrics_.upgrades.add();
  metrics_.open.add();
  arm_ping(ws);
  try {
    ws.endpoint_->on_open(ws);
  } catch (...) {
    fail(ws, close_code::kInternalError, "internal error");
  }
}

void Driver::on_data(engine::Connection& conn, std::span<const char> data) {
  WebSocket& ws = socket_of(conn);
  ws.last_receive_ms_ = conn.shard().now_ms();
  if (ws.failed_ || ws.close_received_) return;
  metrics_.bytes_in.add(data.size());
  // The receive buffer belongs to this call (engine/connection.h): frames
  // are unmasked in place in it.
  std::span<char> in(const_cast<char*>(data.data()), data.size());
  Sink sink(*this, ws);
  size_t pos = 0;
  while (pos < in.size()) {
    const size_t used = ws.reader_.feed(in.subspan(pos), sink);
    pos += used;
    if (ws.reader_.failed()) {
      fail(ws, ws.reader_.error().close_code, ws.reader_.error().reason);
      return;
    }
    if (!conn.is_open() || ws.failed_ || ws.close_received_) return;
    if (used == 0) break;
  }
  if (ws.pending_data_ != nullptr) {
    // A message still in progress must not point into this buffer.
    ws.message_.append(ws.pending_data_, ws.pending_size_);
    ws.pending_data_ = nullptr;
  }
}

bool Driver::on_control(WebSocket& ws, Opcode op, std::span<char> payload) {
  switch (op) {
    case Opcode::kPing:
      if (!ws.close_sent_) write_frame(ws, Opcode::kPong, view(payload), false);
      return true;
    case Opcode::kPong:
      // Any pong proves the peer alive (unsolicited ones too).
      if (ws.timer_ == WebSocket::Timer::kPong) arm_ping(ws);
      return true;
    case Opcode::kClose:
      break;
    default:
      return true;
  }
  ws.close_received_ = true;
  uint16_t code = close_code::kNoStatus;
  std::string_view reason;
  if (payload.size() == 1) {
    fail(ws, close_code::kProtocolError, "close frame with a 1-byte payload");
    return false;
  }
  if (payload.size() >= 2) {
    code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                 static_cast<uint8_t>(payload[1]));
    reason = std::string_view(payload.data() + 2, payload.size() - 2);
    if (!valid_close_code(code)) {
      fail(ws, close_code::kProtocolError, "invalid close code");
      return false;
    }
    if (!is_valid_utf8(reason)) {
      fail(ws, close_code::kInvalidPayload, "close reason is not UTF-8");
      return false;
    }
  }
  // Echo the peer's code (RFC 6455 5.5.1), or an empty close for none.
  if (!ws.close_sent_) write_close(ws, code, {});
  finish(ws, code, reason);
  // The server closes the TCP connection first (RFC 6455 7.1.1), once our
  // close frame is out.
  ws.conn_->close_after_flush(/*linger=*/false);
  return false;
}

void Driver::deliver_message(WebSocket& ws, std::string_view message) {
  metrics_.messages_in.add();
  ws.last_message_ms_ = ws.conn_->shard().now_ms();
  try {
    ws.endpoint_->on_message(ws, message, ws.message_text_);
  } catch (...) {
    fail(ws, close_code::kInternalError, "internal error");
  }
}

void Driver::write_frame(WebSocket& ws, Opcode op, std::string_view payload, bool rsv1) {
  engine::Connection& c = *ws.conn_;
  char head[kMaxHeaderBytes];
  const size_t h = encode_header(head, op, payload.size(), /*fin=*/true, rsv1, nullptr);
  if (h + payload.size() <= kContiguousFrame) {
    if (char* dst = c.reserve_contiguous(h + payload.size())) {
      std::memcpy(dst, head, h);
      if (!payload.empty()) std::memcpy(dst + h, payload.data(), payload.size());
      c.commit(h + payload.size());
      return;
    }
  }
  c.write(std::string_view(head, h));
  c.write(payload);
}

bool Driver::admit(WebSocket& ws, size_t bytes) {
  if (ws.conn_->queued_bytes() + bytes <= config_.max_send_queue) return true;
  metrics_.slow_consumers.add();
  fail(ws, close_code::kPolicyViolation, "send queue over its limit");
  return false;
}

bool Driver::note_backpressure(WebSocket& ws) {
  engine::Connection& c = *ws.conn_;
  if (!c.over_send_limit()) return false;
  if (!ws.backpressured_) {
    ws.backpressured_ = true;
    c.request_writable();
  }
  return true;
}

SendStatus Driver::send(WebSocket& ws, std::string_view message, bool text) {
  if (ws.conn_ == nullptr || ws.closing() || !ws.conn_->is_open()) return SendStatus::kDropped;
  if (!admit(ws, message.size())) return SendStatus::kDropped;
  const Opcode op = text ? Opcode::kText : Opcode::kBinary;
  bool compressed = false;
  if (ws.deflater_ != nullptr && message.size() >= config_.deflate.min_size) {
    scratch_.clear();
    compressed = ws.deflater_->compress(message, scratch_);
  }
  write_frame(ws, op, compressed ? std::string_view(scratch_) : message, compressed);
  metrics_.messages_out.add();
  metrics_.bytes_out.add(message.size());
  return note_backpressure(ws) ? SendStatus::kBackpressured : SendStatus::kSent;
}

void Driver::write_close(WebSocket& ws, uint16_t code, std::string_view reason) {
  char body[125];
  const size_t n = code == close_code::kNoStatus ? 0 : encode_close_payload(body, code, reason);
  write_frame(ws, Opcode::kClose, std::string_view(body, n), false);
  ws.close_sent_ = true;
}

void Driver::send_close(WebSocket& ws, uint16_t code, std::string_view reason) {
  if (ws.close_sent_ || ws.failed_ || ws.conn_ == nullptr || !ws.conn_->is_open()) return;
  write_close(ws, code, reason);
  ws.timer_ = WebSocket::Timer::kClose;
  ws.conn_->set_timeout(config_.close_timeout_ms);
}

void Driver::close(WebSocket& ws, uint16_t code, std::string_view reason) {
  if (!valid_close_code(code)) code = close_code::kNormal;
  send_close(ws, code, reason);
}

void Driver::fail(WebSocket& ws, uint16_t code, std::string_view reason) {
  if (ws.failed_ || ws.conn_ == nullptr) return;
  switch (code) {
    case close_code::kProtocolError: metrics_.protocol_errors.add(); break;
    case close_code::kInvalidPayload: metrics_.invalid_utf8.add(); break;
    case close_code::kMessageTooBig: metrics_.too_big.add(); break;
    default: break;
  }
  if (!ws.close_sent_ && ws.conn_->is_open()) write_close(ws, code, reason);
  ws.failed_ = true;
  finish(ws, code, reason);
  // The peer may still be sending: half-close after our close frame and
  // read (discarding) until its FIN, so it gets our close, not a reset.
  if (ws.conn_->is_open()) ws.conn_->close_after_flush(/*linger=*/true);
}

void Driver::finish(WebSocket& ws, uint16_t code, std::string_view reason) {
  if (!ws.opened_ || ws.notified_) return;
  ws.notified_ = true;
  try {
    ws.endpoint_->on_close(ws, code, reason);
  } catch (...) {
    // The connection is closing anyway; nothing more to tell anyone.
  }
}

void Driver::arm_ping(WebSocket& ws) {
  uint32_t tick = config_.ping_interval_ms;
  if (config_.idle_timeout_ms != 0 && (tick == 0 || config_.idle_timeout_ms < tick)) {
    tick = config_.idle_timeout_ms;
  }
  if (tick == 0) {
    if (ws.timer_ != WebSocket::Timer::kNone) ws.conn_->clear_timeout();
    ws.timer_ = WebSocket::Timer::kNone;
    return;
  }
  ws.timer_ = WebSocket::Timer::kPing;
  ws.conn_->set_timeout(tick);
}

void Driver::on_timeout(engine::Connection& conn) {
  WebSocket& ws = socket_of(conn);
  const uint64_t now = conn.shard().now_ms();
  const WebSocket::Timer kind = ws.timer_;
  ws.timer_ = WebSocket::Timer::kNone;
  switch (kind) {
    case WebSocket::Timer::kPing:
      if (config_.idle_timeout_ms != 0 && now - ws.last_message_ms_ >= config_.idle_timeout_ms) {
        metrics_.idle_closes.add();
        send_close(ws, close_code::kNormal, "idle timeout");
        return;
      }
      if (config_.ping_interval_ms == 0 ||
          now - ws.last_receive_ms_ < config_.ping_interval_ms) {
        arm_ping(ws);  // the peer spoke recently: no ping needed yet
        return;
      }
      // A peer quiet for a whole interval: let go of the compressor's
      // ~260 KiB (the next message starts a fresh deflate stream, which
      // the peer decodes like any other; ws/deflate.h).
      if (ws.deflater_ != nullptr) ws.deflater_->release();
      if (!ws.reader_.in_message()) std::string().swap(ws.message_);
      write_frame(ws, Opcode::kPing, {}, false);
      metrics_.pings_sent.add();
      ws.ping_sent_ms_ = now;
      ws.timer_ = WebSocket::Timer::kPong;
      conn.set_timeout(config_.pong_timeout_ms);
      return;
    case WebSocket::Timer::kPong:
      if (ws.last_receive_ms_ > ws.ping_sent_ms_) {
        arm_ping(ws);
        return;
      }
      metrics_.pong_timeouts.add();
      ws.failed_ = true;
      finish(ws, close_code::kAbnormal, "no pong from the peer");
      conn.close();
      return;
    case WebSocket::Timer::kClose:
    case WebSocket::Timer::kNone:
      finish(ws, close_code::kAbnormal, "close handshake timed out");
      conn.close();
      return;
  }
}

void Driver::on_writable(engine::Connection& conn) {
  WebSocket& ws = socket_of(conn);
  if (!ws.backpressured_ || ws.closing()) return;
  ws.backpressured_ = false;
  try {
    ws.endpoint_->on_writable(ws);
  } catch (...) {
    fail(ws, close_code::kInternalError, "internal error");
  }
}

void Driver::on_peer_closed(engine::Connection& conn) {
  WebSocket& ws = socket_of(conn);
  finish(ws, close_code::kAbnormal, "connection closed without a close frame");
  conn.close_after_flush(/*linger=*/false);
}

void Driver::on_drain(engine::Connection& conn) {
  WebSocket& ws = socket_of(conn);
  if (ws.closing()) return;
  send_close(ws, close_code::kGoingAway, "server shutting down");
}

void Driver::on_close(engine::Connection& conn) {
  auto* ws = static_cast<WebSocket*>(conn.context());
  if (ws == nullptr) return;
  finish(*ws, close_code::kAbnormal, "connection lost");
  topics_.unsubscribe_all(*ws);
  if (ws->opened_) metrics_.open.sub();
  conn.set_context(nullptr);
  discard_socket(ws);
}

void Driver::deliver(engine::Shard& shard, const Publication& pub) {
  // No early return when this shard has no subscriber: its listeners still
  // get the message.
  if (Topic* topic = topics_.find(pub.topic); topic != nullptr && !topic->subscribers.empty()) {
    write_to_subscribers(*topic, pub);
  }
  if (pub.listeners != nullptr) call_listeners(shard, pub);
}

void Driver::call_listeners(engine::Shard& shard, const Publication& pub) {
  for (const TopicListener& fn : *pub.listeners) {
    try {
      fn(shard, pub.payload);
    } catch (...) {
      // Plugin code: one failing listener must neither stop the shard nor
      // the listeners after it.
      metrics_.listener_errors.add();
    }
  }
}

void Driver::write_to_subscribers(Topic& topic, const Publication& pub) {
  // Encoded once for the whole shard.
  auto* frame = new SharedFrame();
  const Opcode op = pub.text ? Opcode::kText : Opcode::kBinary;
  char head[kMaxHeaderBytes];
  const size_t h = encode_header(head, op, pub.payload.size(), true, false, nullptr);
  frame->bytes.reserve(h + pub.payload.size());
  frame->bytes.append(head, h);
  frame->bytes.append(pub.payload);
  const std::string_view bytes = frame->bytes;
  // A subscriber may be failed (and even closed) while we go: iterate over
  // a copy. Closed sockets stay allocated in the pool (conn_ null).
  fanout_.assign(topic.subscribers.begin(), topic.subscribers.end());
  for (WebSocket* ws : fanout_) {
    if (ws->conn_ == nullptr || ws->closing() || !ws->conn_->is_open()) continue;
    if (!admit(*ws, bytes.size())) continue;
    ++frame->refs;
    ws->conn_->write_borrowed(bytes, &release_shared_frame, frame);
    metrics_.delivered.add();
    note_backpressure(*ws);
  }
  fanout_.clear();
  release_shared_frame(frame);
}

}  // namespace ringshard::ws
