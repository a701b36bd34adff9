// engine/shard_connections.cc: a shard's connections coming and going:
// accepting one, opening one outbound (connect with its deadline),
// closing one (cancelling what it has in flight, then the handler's
// on_close and the slot's release), and the per-connection timer. The
// loop, receives and sends stay in shard.cc.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/engine.h"
#include "engine/shard.h"
#include "engine/shard_slab.h"

namespace ringshard::engine {

void Shard::start_close(Connection& c) {
  c.state_ = Connection::State::kClosing;
  timers_.disarm(c.timer_);
  // Queued output is dropped now only if no send is in flight: a send the
  // cancel cannot stop any more (its socket was already writable) still
  // reads those chunks and slices, so they stay until its completion and
  // finish_close() drops them.
  if (!c.send_in_flight_) {
    c.out_.clear(pool_);
    c.wire_.clear(pool_);
  }
  // Each operation still in flight is cancelled by its user data, which
  // the kernel finds with a hash lookup; the fd stays open until the last
  // of their completions has arrived. (One cancel by fd with
  // IORING_ASYNC_CANCEL_ALL walks every armed request of the ring instead:
  // closing 10,000 WebSockets at once cost ~3 s of CPU, quadratic.)
  auto cancel = [&](Op op) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, UserData{op, c.generation_, c.slot_}.pack(), 0);
    io_uring_sqe_set_data64(sqe, UserData{Op::kCancel, c.generation_, c.slot_}.pack());
    ++c.cancel_in_flight_;
  };
  if (c.recv_armed_ && !c.recv_cancel_pending_) {
    cancel(Op::kRecv);
    c.recv_cancel_pending_ = true;
  }
  if (c.send_in_flight_) cancel(Op::kSend);
  if (c.connect_in_flight_) cancel(Op::kConnect);
  if (!c.ops_pending()) finish_close(c);
}

void Shard::finish_close(Connection& c) {
  if (c.transport_ != nullptr) {
    c.transport_->on_close(c);
  } else if (c.handler_ != nullptr) {
    c.handler_->on_close(c);
  }
  c.out_.clear(pool_);  // on_close() must not leave output behind
  c.wire_.clear(pool_);
  ::close(c.fd_);
  c.fd_ = -1;
  c.handler_ = nullptr;
  c.context_ = nullptr;
  c.transport_ = nullptr;
  c.transport_context_ = nullptr;
  c.listener_ = 0;
  c.recv_armed_ = c.send_in_flight_ = c.read_paused_ = c.backpressured_ = false;
  c.recv_cancel_pending_ = false;
  c.connect_in_flight_ = false;
  c.want_writable_ = c.peer_eof_ = false;
  c.linger_ = true;
  if (c.outbound_) --outbound_open_;
  c.outbound_ = false;
  --open_connections_;
  metrics_.open.sub();
  slab_->release(c);
}

void Shard::connection_timer_fired(TimerEntry& e) {
  auto& c = *static_cast<Connection*>(e.context);
  Shard& s = *c.shard_;
  s.metrics_.timeouts.add();
  if (c.state_ == Connection::State::kConnecting) {
    // The connect deadline: the contract promises on_connect_failed.
    s.metrics_.connect_timeouts.add();
    c.handler_->on_connect_failed(c, ETIMEDOUT);
    c.close();
  } else if (c.state_ == Connection::State::kOpen) {
    if (c.transport_ != nullptr) {
      c.transport_->on_timeout(c);
    } else {
      c.handler_->on_timeout(c);
    }
  } else {
    // Flushing or lingering past its deadline: give up on the peer.
    c.close();
  }
}

void Shard::on_accept(io_uring_cqe* cqe, unsigned index) {
  if (index >= listeners_.size()) return;
  Listener& l = listeners_[index];
  if (!(cqe->flags & IORING_CQE_F_MORE)) {
    l.accept_armed = false;
    if (!draining_ && l.fd >= 0) arm_accept(index);
  }
  if (cqe->res < 0) {
    if (cqe->res != -ECANCELED) metrics_.accept_errors.add();
    return;
  }
  const int fd = cqe->res;
  const bool full = open_connections_ - outbound_open_ >= config_.max_connections;
  Connection* c = draining_ || full ? nullptr : slab_->allocate();
  if (c == nullptr) {
    metrics_.rejected.add();
    ::close(fd);
    return;
  }
  c->fd_ = fd;
  c->state_ = Connection::State::kOpen;
  c->handler_ = handler_.get();
  c->transport_ = l.transport.get();
  c->listener_ = static_cast<uint8_t>(index);
  // dirty_ is left as it is: a slot closed and reused within one turn may
  // still be linked in the dirty list, and must not be linked twice.
  ++open_connections_;
  metrics_.accepted.add();
  metrics_.open.add();
  arm_recv(*c);
  if (c->transport_ != nullptr) {
    c->transport_->on_open(*c);
  } else {
    c->handler_->on_open(*c);
  }
}

Connection* Shard::connect(const sockaddr* addr, socklen_t len, ConnectionHandler* handler,
                           void* context, Transport* transport, uint32_t timeout_ms) {
  if (len > sizeof(sockaddr_storage)) {
    errno = EINVAL;
    return nullptr;
  }
  if (past_drain_deadline_) {
    errno = ESHUTDOWN;
    return nullptr;
  }
  Connection* c =
      outbound_open_ < config_.max_outbound_connections ? slab_->allocate() : nullptr;
  if (c == nullptr) {
    errno = EMFILE;
    return nullptr;
  }
  const int fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const int err = errno;
    slab_->release(*c);
    errno = err;
    return nullptr;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect_addr_.size() <= c->slot_) connect_addr_.resize(slab_->allocated());
  std::memcpy(&connect_addr_[c->slot_], addr, len);
  c->fd_ = fd;
  c->state_ = Connection::State::kConnecting;
  c->handler_ = handler;
  c->context_ = context;
  c->transport_ = transport;
  c->outbound_ = true;
  ++open_connections_;
  ++outbound_open_;
  metrics_.open.add();
  timers_.arm(c->timer_, now_ms_ + (timeout_ms != 0 ? timeout_ms : config_.connect_timeout_ms));
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_connect(sqe, fd, reinterpret_cast<sockaddr*>(&connect_addr_[c->slot_]), len);
  io_uring_sqe_set_data64(sqe, UserData{Op::kConnect, c->generation_, c->slot_}.pack());
  c->connect_in_flight_ = true;
  return c;
}

void Shard::on_connect(Connection& c, int res) {
  c.connect_in_flight_ = false;
  if (c.state_ == Connection::State::kClosing) {
    on_op_done(c);
    return;
  }
  timers_.disarm(c.timer_);  // the connect deadline; the handler sets its own
  if (res < 0) {
    c.handler_->on_connect_failed(c, -res);
    c.close();
    return;
  }
  c.state_ = Connection::State::kOpen;
  update_reading(c);
  if (c.transport_ != nullptr) {
    c.transport_->on_open(c);
  } else {
    c.handler_->on_open(c);
  }
}

}  // namespace ringshard::engine
