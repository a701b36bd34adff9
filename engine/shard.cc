// engine/shard.cc: a shard's ring and loop: set-up, the provided buffers,
// receives and sends (with the dirty list flushed once a turn), completion
// dispatch and run(). Connections coming and going: shard_connections.cc;
// stopping: shard_drain.cc; cross-shard tasks: shard_mailbox.cc.
#include "engine/shard.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>

#include "engine/engine.h"
#include "engine/ring_setup.h"
#include "engine/ring_wait.h"
#include "engine/shard_slab.h"

namespace ringshard::engine {

namespace {

constexpr uint16_t kBufGroup = 0;
constexpr uint64_t kMaxWaitMs = 1000;  // wake at least once a second

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

Shard::Shard(Engine& engine, unsigned index, const EngineConfig& config)
    : engine_(engine),
      config_(config),
      index_(index),
      send_queue_limit_(config.send_queue_limit),
      now_ms_(engine.clock().now_ms()),
      timers_(now_ms_),
      slab_(std::make_unique<Slab>(*this, config.max_connections +
                                              config.max_outbound_connections)) {
  const unsigned n = config.shards;
  inbox_.reserve(n);
  for (unsigned i = 0; i < n; ++i) inbox_.push_back(std::make_unique<Inbox>());
  mailbox_capacity_ = config.mailbox_capacity != 0 ? config.mailbox_capacity
                                                   : default_mailbox_capacity(n);
  backlog_.resize(n);
  drain_timer_.callback = &Shard::drain_deadline_fired;
  drain_timer_.context = this;
}

Shard::~Shard() {
  // A shard whose loop never ran (a failed start) still owes its tasks
  // their cancellation; after run() this finds the queue closed already.
  cancel_tasks();
  slab_->for_each_live([&](Connection& c) {
    c.out_.clear(pool_);
    c.wire_.clear(pool_);
    if (c.fd_ >= 0) ::close(c.fd_);
  });
  if (ring_ready_) io_uring_queue_exit(&ring_);
  if (buf_ring_ != nullptr) munmap(buf_ring_, buf_ring_bytes_);
  if (buf_base_ != nullptr) munmap(buf_base_, buf_bytes_);
  if (event_fd_ >= 0) ::close(event_fd_);
  for (const Listener& l : listeners_) {
    if (l.fd >= 0) ::close(l.fd);
  }
}

int Shard::init_ring() {
  RingSetup setup;
  // Every receive completion consumes a provided buffer, so buffers +
  // connections (sends, errors, EOFs) + slack bounds the CQ burst.
  uint64_t cq = uint64_t{config_.recv_buffer_count} * 2 + 8192;
  if (cq > 65536) cq = 65536;
  setup.cq_entries = static_cast<unsigned>(cq);
  setup.sq_entries = 4096;
  int rc = create_ring(ring_, setup, setup_flags_);
  if (rc < 0) return rc;
  ring_ready_ = true;
  // An optimisation; failure is harmless.
  ring_fd_registered_ = io_uring_register_ring_fd(&ring_) == 1;
  if (ring_can_batch(ring_, setup_flags_)) batch_.min_wait_us = config_.batch_wait_us;

  buf_count_ = config_.recv_buffer_count;
  buf_ring_bytes_ = sizeof(io_uring_buf) * buf_count_;
  void* r = mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE,
                 MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (r == MAP_FAILED) return -errno;
  buf_ring_ = static_cast<io_uring_buf_ring*>(r);
  buf_bytes_ = size_t{config_.recv_buffer_size} * buf_count_;
  void* b = mmap(nullptr, buf_bytes_, PROT_READ | PROT_WRITE,
                 MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (b == MAP_FAILED) return -errno;
  buf_base_ = static_cast<char*>(b);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring_);
  reg.ring_entries = buf_count_;
  reg.bgid = kBufGroup;
  rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc < 0) return rc;
  io_uring_buf_ring_init(buf_ring_);
  const int mask = io_uring_buf_ring_mask(buf_count_);
  for (unsigned i = 0; i < buf_count_; ++i) {
    io_uring_buf_ring_add(buf_ring_, buf_base_ + size_t{i} * config_.recv_buffer_size,
                          config_.recv_buffer_size, static_cast<unsigned short>(i),
                          mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(buf_count_));

  event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) return -errno;
  return 0;
}

Connection* Shard::find_connection(uint32_t slot, uint32_t generation) {
  Connection* c = slab_->at(slot);
  if (c == nullptr || c->generation_ != generation || c->state_ == Connection::State::kFree) {
    return nullptr;
  }
  return c;
}

io_uring_sqe* Shard::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    // SQ full: hand what we have to the kernel and take a fresh entry
    // instead of failing (completions are reaped next turn; the CQ is sized
    // for it).
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void Shard::return_buffer(unsigned bid) {
  io_uring_buf_ring_add(buf_ring_, buf_base_ + size_t{bid} * config_.recv_buffer_size,
                        config_.recv_buffer_size, static_cast<unsigned short>(bid),
                        io_uring_buf_ring_mask(buf_count_), static_cast<int>(buf_returned_));
  ++buf_returned_;
}

void Shard::arm_accept(unsigned i) {
  Listener& l = listeners_[i];
  if (l.fd < 0 || draining_) return;
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_multishot_accept(sqe, l.fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, UserData{Op::kAccept, 0, i}.pack());
  l.accept_armed = true;
}

void Shard::arm_event_read() {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_read(sqe, event_fd_, &event_buf_, sizeof(event_buf_), 0);
  io_uring_sqe_set_data64(sqe, UserData{Op::kEventRead, 0, 0}.pack());
}

void Shard::arm_recv(Connection& c) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_recv_multishot(sqe, c.fd_, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufGroup;
  io_uring_sqe_set_data64(sqe, UserData{Op::kRecv, c.generation_, c.slot_}.pack());
  c.recv_armed_ = true;
}

void Shard::cancel_recv(Connection& c) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_cancel64(sqe, UserData{Op::kRecv, c.generation_, c.slot_}.pack(), 0);
  io_uring_sqe_set_data64(sqe, UserData{Op::kCancel, c.generation_, c.slot_}.pack());
  ++c.cancel_in_flight_;
  c.recv_cancel_pending_ = true;
}

void Shard::update_reading(Connection& c) {
  using S = Connection::State;
  // Flushing and lingering connections keep reading (and discarding) so the
  // peer's last bytes do not turn our close into a reset.
  const bool want = !c.peer_eof_ &&
                    ((c.state_ == S::kOpen && !c.read_paused_ && !c.backpressured_) ||
                     c.state_ == S::kFlushing || c.state_ == S::kLinger);
  if (want && !c.recv_armed_) {
    arm_recv(c);
  } else if (!want && c.recv_armed_ && !c.recv_cancel_pending_ && c.state_ != S::kClosing) {
    cancel_recv(c);
  }
}

void Shard::connection_dirty(Connection& c) {
  // Idempotent: a connection linked twice would point at itself (or cut
  // the list short), and the connections behind it would never be flushed.
  if (c.dirty_) return;
  c.dirty_ = true;
  c.next_dirty_ = dirty_head_;
  dirty_head_ = &c;
}

void Shard::on_op_done(Connection& c) {
  if (c.state_ == Connection::State::kClosing && !c.ops_pending()) finish_close(c);
}

void Shard::on_recv(Connection& c, io_uring_cqe* cqe) {
  const int res = cqe->res;
  const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  if (!more) c.recv_armed_ = false;

  if (res > 0) {
    assert(cqe->flags & IORING_CQE_F_BUFFER);
    const unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    metrics_.bytes_in.add(static_cast<uint64_t>(res));
    if (c.state_ == Connection::State::kOpen) {
      const std::span<const char> data(buf_base_ + size_t{bid} * config_.recv_buffer_size,
                                       static_cast<size_t>(res));
      if (c.transport_ != nullptr) {
        c.transport_->on_receive(c, data);
      } else {
        c.handler_->on_data(c, data);
      }
    }
    // Flushing/lingering connections discard input: the peer may still be
    // sending a request we will not answer; reading it avoids a reset.
    return_buffer(bid);
  } else if (res == 0) {
    c.peer_eof_ = true;
    if (c.state_ == Connection::State::kOpen) {
      if (c.transport_ != nullptr) {
        c.transport_->on_peer_closed(c);
      } else {
        c.handler_->on_peer_closed(c);
      }
    } else if (c.state_ == Connection::State::kLinger ||
               c.state_ == Connection::State::kFlushing) {
      c.close();
    }
  } else if (res == -ENOBUFS) {
    metrics_.recv_no_buffers.add();
  } else if (res != -ECANCELED) {
    // ECONNRESET, EPIPE...: the connection is gone.
    c.close();
  }

  if (!more) {
    c.recv_cancel_pending_ = false;
    if (c.state_ != Connection::State::kClosing && c.state_ != Connection::State::kFree) {
      metrics_.recv_rearmed.add();
      update_reading(c);
    }
  }
  on_op_done(c);
}

void Shard::send_now(Connection& c) {
  iovec iov[kMaxIov];
  const size_t n = c.sendq().gather(iov, kMaxIov);
  io_uring_sqe* sqe = get_sqe();
  if (n == 1) {
    // The common case (a response head and a small body in one chunk): a
    // plain send needs no msghdr, so nothing to keep alive for the kernel
    // and nothing for it to copy in and import.
    io_uring_prep_send(sqe, c.fd_, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
  } else {
    // Scatter sends keep their msghdr and iovecs in a pooled context until
    // the completion: the kernel may read them after submission.
    SendContext* ctx = slab_->acquire_send();
    std::memcpy(ctx->iov, iov, n * sizeof(iovec));
    ctx->msg = msghdr{};
    ctx->msg.msg_iov = ctx->iov;
    ctx->msg.msg_iovlen = n;
    slab_->in_flight_sends()[c.slot_] = ctx;
    io_uring_prep_sendmsg(sqe, c.fd_, &ctx->msg, MSG_NOSIGNAL);
  }
  io_uring_sqe_set_data64(sqe, UserData{Op::kSend, c.generation_, c.slot_}.pack());
  c.send_in_flight_ = true;
}

void Shard::on_send(Connection& c, int res) {
  c.send_in_flight_ = false;
  if (SendContext*& ctx = slab_->in_flight_sends()[c.slot_]; ctx != nullptr) {
    slab_->release_send(ctx);
    ctx = nullptr;
  }
  if (c.state_ == Connection::State::kClosing) {
    on_op_done(c);
    return;
  }
  if (res < 0) {
    if (res == -EAGAIN || res == -EINTR) {
      connection_dirty(c);  // retried at the end of the turn
      return;
    }
    c.close();  // EPIPE, ECONNRESET
    return;
  }
  const size_t sent = static_cast<size_t>(res);
  OutputQueue& q = c.sendq();
  metrics_.bytes_out.add(sent);
  if (sent < q.size()) metrics_.short_sends.add();
  q.consume(pool_, sent);

  if (c.state_ == Connection::State::kFlushing) {
    timers_.arm(c.timer_, now_ms_ + config_.flush_timeout_ms);
  }
  // Under a transport, plaintext may be waiting to be sealed as well.
  if (!q.empty() || !c.out_.empty()) {
    connection_dirty(c);
  } else if (c.state_ == Connection::State::kFlushing) {
    flushed(c);
    if (c.state_ != Connection::State::kLinger) return;
  }

  // Backpressure lifts at half the limit, so a connection hovering at the
  // limit does not flap between paused and reading.
  if (c.queued_bytes() <= config_.send_queue_limit / 2) {
    if (c.backpressured_) {
      c.backpressured_ = false;
      update_reading(c);
    }
    if (c.want_writable_ && c.state_ == Connection::State::kOpen) {
      c.want_writable_ = false;
      c.handler_->on_writable(c);
    }
  }
}

void Shard::flushed(Connection& c) {
  // Everything queued has gone out. Without unread input to fear, close
  // now: the kernel sends our FIN after the data. Otherwise half-close and
  // wait (briefly) for the peer's FIN, reading and discarding meanwhile, so
  // that bytes it is still sending do not turn our close into a reset that
  // destroys the response before the peer has read it.
  if (!c.linger_ || c.peer_eof_) {
    c.close();
    return;
  }
  ::shutdown(c.fd_, SHUT_WR);
  c.state_ = Connection::State::kLinger;
  timers_.arm(c.timer_, now_ms_ + config_.linger_ms);
}

void Shard::flush_dirty() {
  // Handlers may dirty more connections while we walk (on_writable writes),
  // so take the list and loop until it stays empty.
  while (dirty_head_ != nullptr) {
    Connection* c = dirty_head_;
    dirty_head_ = nullptr;
    while (c != nullptr) {
      Connection* next = c->next_dirty_;
      c->next_dirty_ = nullptr;
      c->dirty_ = false;
      const bool active = c->state_ == Connection::State::kOpen ||
                          c->state_ == Connection::State::kFlushing;
      if (active && c->transport_ != nullptr) {
        // Seal this turn's plaintext (and, when closing, the close alert).
        c->transport_->on_flush(*c, c->out_, c->state_ == Connection::State::kFlushing);
      }
      if (active && !c->send_in_flight_) {
        if (!c->sendq().empty()) {
          send_now(*c);
        } else if (c->state_ == Connection::State::kFlushing) {
          flushed(*c);
        }
      }
      if (active && c->state_ == Connection::State::kOpen && !c->backpressured_ &&
          c->queued_bytes() > config_.send_queue_limit) {
        c->backpressured_ = true;
        metrics_.backpressure_pauses.add();
        update_reading(*c);
      }
      c = next;
    }
  }
}

void Shard::dispatch(io_uring_cqe* cqe) {
  const UserData ud = UserData::unpack(cqe->user_data);
  switch (ud.op) {
    case Op::kAccept:
      on_accept(cqe, ud.slot);
      return;
    case Op::kWake:
      return;  // the loop drains the mailboxes every turn
    case Op::kEventRead:
      if (cqe->res != -ECANCELED) arm_event_read();
      return;
    case Op::kNone:
      return;
    default:
      break;
  }
  Connection* c = slab_->at(ud.slot);
  if (c == nullptr || c->generation_ != ud.generation || c->state_ == Connection::State::kFree) {
    // A buffer chosen for a stale receive still has to go back to the ring.
    if (ud.op == Op::kRecv && cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
      return_buffer(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    }
    return;
  }
  switch (ud.op) {
    case Op::kRecv:
      on_recv(*c, cqe);
      break;
    case Op::kSend:
      on_send(*c, cqe->res);
      break;
    case Op::kCancel:
      --c->cancel_in_flight_;
      on_op_done(*c);
      break;
    case Op::kConnect:
      on_connect(*c, cqe->res);
      break;
    default:
      break;
  }
}

void Shard::create_handler(unsigned listeners) {
  handler_ = config_.make_handler(*this);
  listeners_.resize(listeners);
  for (unsigned i = 0; i < listeners; ++i) {
    if (config_.make_transport) listeners_[i].transport = config_.make_transport(*this, i);
  }
}

void Shard::run() {
  arm_event_read();
  for (unsigned i = 0; i < listeners_.size(); ++i) arm_accept(i);

  const Clock& clock = engine_.clock();
  while (true) {
    now_ms_ = clock.now_ms();
    metrics_.loop_turns.add();
    if (!draining_ && drain_requested_.load(std::memory_order_acquire)) begin_drain();
    timers_.advance(now_ms_);
    run_mailboxes();
    run_tasks();
    flush_backlog();
    const uint64_t hook_wake_ns = turn_hook_ ? turn_hook_() : 0;
    flush_dirty();
    if (may_exit()) break;

    uint64_t wait_ms = kMaxWaitMs;
    if (auto t = timers_.next_wakeup_in(now_ms_); t && *t < wait_ms) wait_ms = *t;
    // No timed retry for a backlog: a full ring's consumer wakes the sender
    // as soon as it has made room (see try_post and run_mailboxes), and a
    // backlog to this shard itself keeps its own inbox non-empty (below).
    // Messages already queued for this shard must not wait for the idle
    // timeout: one it posted to itself outside its mailbox pass (from a
    // handler, a timer or Engine::execute work) or one left over by the
    // per-turn bound gets no wake-up, so nothing else would end the wait.
    for (const auto& inbox : inbox_) {
      if (const auto* ring = inbox->get(); ring != nullptr && !ring->empty()) wait_ms = 0;
    }
    uint64_t wait_ns = wait_ms * 1'000'000;
    if (hook_wake_ns != 0) {
      const uint64_t now_ns = monotonic_ns();
      const uint64_t until = hook_wake_ns > now_ns ? hook_wake_ns - now_ns : 0;
      if (until < wait_ns) wait_ns = until;
    }
    __kernel_timespec ts{};
    ts.tv_sec = static_cast<long long>(wait_ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long long>(wait_ns % 1'000'000'000);
    const unsigned want = batch_.want(last_batch_, wait_ns);
    if (want > 1) metrics_.batched_waits.add();
    int rc = submit_and_wait(ring_, ring_fd_registered_, want, batch_.min_wait_us, ts);
    if (inject_ring_failure_.load(std::memory_order_relaxed)) rc = -EBADF;
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      // The ring itself failed: nothing on this shard can make progress.
      abandon_after_ring_failure(-rc);
      break;
    }
    if (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_CQ_OVERFLOW) {
      metrics_.cq_overflow.add();
    }

    // Reap the whole batch; every handler runs before anything is sent.
    now_ms_ = clock.now_ms();
    unsigned head;
    unsigned count = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      dispatch(cqe);
      ++count;
    }
    io_uring_cq_advance(&ring_, count);
    last_batch_ = count;
    metrics_.completions.add(count);
    if (buf_returned_ != 0) {
      io_uring_buf_ring_advance(buf_ring_, static_cast<int>(buf_returned_));
      buf_returned_ = 0;
    }
  }
  // Posted tasks that did not make it into a turn are cancelled now, and
  // closing makes any later post cancel its own (see post_task).
  cancel_tasks();
}

}  // namespace ringshard::engine
