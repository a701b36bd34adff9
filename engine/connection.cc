#include "engine/connection.h"

#include "engine/engine.h"
#include "engine/shard.h"

namespace ringshard::engine {

void ConnectionHandler::on_peer_closed(Connection& conn) { conn.close(); }
void ConnectionHandler::on_timeout(Connection& conn) { conn.close(); }
void ConnectionHandler::on_drain(Connection& conn) { conn.close(); }

void Connection::mark_dirty() {
  if (!dirty_) {
    shard_->connection_dirty(*this);
  }
}

void Connection::write(std::string_view bytes) {
  if (state_ != State::kOpen || bytes.empty()) return;
  out_.append(shard_->buffers(), bytes);
  mark_dirty();
}

char* Connection::reserve(size_t want, size_t& got) {
  got = 0;
  if (state_ != State::kOpen) return nullptr;
  return out_.reserve(shard_->buffers(), want, got);
}

char* Connection::reserve_contiguous(size_t n) {
  if (state_ != State::kOpen) return nullptr;
  return out_.reserve_contiguous(shard_->buffers(), n);
}

void Connection::commit(size_t used) {
  out_.commit(shard_->buffers(), used);
  if (used > 0) mark_dirty();
}

void Connection::write_borrowed(std::string_view bytes, OutputQueue::Release release,
                                void* context) {
  if (state_ != State::kOpen) {
    if (release != nullptr) release(context);
    return;
  }
  out_.append_borrowed(bytes, release, context);
  mark_dirty();
}

bool Connection::over_send_limit() const {
  return queued_bytes() > shard_->send_queue_limit();
}

void Connection::write_wire(std::string_view bytes) {
  if ((state_ != State::kOpen && state_ != State::kFlushing) || bytes.empty()) return;
  wire_.append(shard_->buffers(), bytes);
  mark_dirty();
}

char* Connection::reserve_wire(size_t want, size_t& got) {
  got = 0;
  if (state_ != State::kOpen && state_ != State::kFlushing) return nullptr;
  return wire_.reserve(shard_->buffers(), want, got);
}

void Connection::commit_wire(size_t used) {
  wire_.commit(shard_->buffers(), used);
  if (used > 0) mark_dirty();
}

void Connection::request_writable() { want_writable_ = true; }

bool Connection::start_transport(Transport* transport) {
  // The send queue is chosen by transport_ (sendq()): switching it while
  // bytes sit in out_ or a send reads from it would lose or reorder them.
  if (transport == nullptr || transport_ != nullptr || state_ != State::kOpen ||
      send_in_flight_ || !out_.empty()) {
    return false;
  }
  transport_ = transport;
  transport->on_open(*this);
  return true;
}

void Connection::pause_reading() {
  if (read_paused_) return;
  read_paused_ = true;
  shard_->update_reading(*this);
}

void Connection::resume_reading() {
  if (!read_paused_) return;
  read_paused_ = false;
  shard_->update_reading(*this);
}

void Connection::set_timeout(uint64_t ms_from_now) {
  shard_->timers().arm(timer_, shard_->now_ms() + ms_from_now);
}

void Connection::clear_timeout() { shard_->timers().disarm(timer_); }

void Connection::close() {
  if (state_ == State::kClosing || state_ == State::kFree) return;
  shard_->start_close(*this);
}

void Connection::close_after_flush(bool linger) {
  if (state_ != State::kOpen) return;
  state_ = State::kFlushing;
  linger_ = linger;
  clear_timeout();
  // A peer that stops reading cannot keep the connection forever: the
  // deadline is re-armed whenever a send makes progress.
  shard_->timers().arm(timer_, shard_->now_ms() + shard_->config().flush_timeout_ms);
  mark_dirty();
}

}  // namespace ringshard::engine
