// engine/shard_drain.cc: how a shard stops: the drain (SIGTERM), the
// drain deadline, a ring failure, and the exit barrier all shards pass
// together.
#include <sys/socket.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/shard.h"
#include "engine/shard_slab.h"

namespace ringshard::engine {

void Shard::begin_drain() {
  draining_ = true;
  drain_deadline_ms_ = now_ms_;
  for (unsigned i = 0; i < listeners_.size(); ++i) {
    const Listener& l = listeners_[i];
    if (l.fd < 0) continue;
    // Closing the listener would not stop the armed multishot accept; cancel
    // it. Connections still in the kernel's accept queue are refused with
    // a reset when the socket closes below.
    if (l.accept_armed) {
      io_uring_sqe* sqe = get_sqe();
      io_uring_prep_cancel64(sqe, UserData{Op::kAccept, 0, i}.pack(), 0);
      io_uring_sqe_set_data64(sqe, UserData{Op::kNone, 0, 0}.pack());
    }
    ::shutdown(l.fd, SHUT_RDWR);
  }
  if (config_.drain_timeout_ms == 0) {
    force_close_all();
    return;
  }
  drain_deadline_ms_ = now_ms_ + config_.drain_timeout_ms;
  timers_.arm(drain_timer_, drain_deadline_ms_);
  if (config_.on_shard_drain) config_.on_shard_drain(*this);
  slab_->for_each_live([&](Connection& c) {
    if (c.state_ != Connection::State::kOpen) return;
    if (c.transport_ != nullptr) {
      c.transport_->on_drain(c);
    } else {
      c.handler_->on_drain(c);
    }
  });
}

void Shard::abandon_after_ring_failure(int error) {
  // Without a ring no operation completes any more: this shard can
  // neither serve nor drain. So that the process does not hang with it:
  // its listening sockets close at once (SO_REUSEPORT stops sending it
  // connections), its connections' sockets close (their peers see a reset
  // or EOF instead of silence), the whole engine drains, and this shard
  // counts itself through the exit barrier the others wait on. Messages
  // other shards still send it are dropped with what they own (they skip
  // a failed shard; see flush_backlog).
  metrics_.ring_failures.add();
  engine_.note_shard_failure(index_, error);
  // shutdown() first: the ring's armed accept and receives hold their own
  // references to these files, so close() alone would neither stop the
  // listener nor send the peer its FIN until the ring is torn down.
  for (Listener& l : listeners_) {
    if (l.fd >= 0) {
      ::shutdown(l.fd, SHUT_RDWR);
      ::close(l.fd);
    }
    l.fd = -1;
    l.accept_armed = false;
  }
  slab_->for_each_live([&](Connection& c) {
    if (c.fd_ >= 0) {
      ::shutdown(c.fd_, SHUT_RDWR);
      ::close(c.fd_);
      c.fd_ = -1;
    }
  });
  ring_failed_.store(true, std::memory_order_release);
  engine_.drain();
  if (!counted_ready_) {
    counted_ready_ = true;
    engine_.shard_ready_to_exit();
  }
}

void Shard::force_close_all() {
  past_drain_deadline_ = true;
  slab_->for_each_live([&](Connection& c) { c.close(); });
}

void Shard::drain_deadline_fired(TimerEntry& e) {
  static_cast<Shard*>(e.context)->force_close_all();
}

bool Shard::exit_ready() const {
  for (const Listener& l : listeners_) {
    if (l.accept_armed) return false;
  }
  return draining_ && open_connections_ == 0 && backlog_total_ == 0;
}

bool Shard::may_exit() {
  // Shards leave together: one that left early would strand messages other
  // shards still hold for it (their backlogs never drain, so they never
  // exit, and whatever the messages own leaks). A ready shard keeps running
  // its mailboxes until every shard is ready.
  if (!exit_ready()) return false;
  if (!counted_ready_) {
    counted_ready_ = true;
    if (engine_.shard_ready_to_exit()) return true;
  }
  return engine_.all_ready_to_exit();
}

}  // namespace ringshard::engine
