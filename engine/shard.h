// engine/shard.h: one shard: a pinned thread with its own io_uring, listener,
// provided-buffer ring, timer wheel, connection slab, buffer pool, metrics
// and mailboxes. Nothing on the data path is shared with other shards.
//
// The loop, one turn: submit everything queued and wait (one
// io_uring_enter) for at least one completion or the next timer (under load
// for a batch of them: see engine/ring_wait.h); reap every completion of the batch (receives go to the handlers,
// buffers go back to the ring); fire due timers; run cross-shard messages
// and posted tasks; then flush: one sendmsg per connection that queued
// output this turn.
//
// Thread: a Shard is created by Engine and runs on its own thread; every
// member is for that thread only, except post() from another shard's thread
// (the mailbox is single-producer per sending shard), post_task() and
// execute() from any thread, and the metrics, which any thread may read.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "engine/buffer_pool.h"
#include "engine/clock.h"
#include "engine/connection.h"
#include "engine/metrics.h"
#include "engine/ring_wait.h"
#include "engine/shard_task.h"
#include "engine/spsc_ring.h"
#include "engine/timer_wheel.h"
#include "engine/user_data.h"

namespace ringshard::engine {

class Engine;
struct EngineConfig;

// A cross-shard message: a function run on the target shard with two words
// and a pointer (ownership of whatever `ptr` points to moves with it).
struct ShardMessage {
  void (*fn)(Shard& target, const ShardMessage& msg) = nullptr;
  void* ptr = nullptr;
  uint64_t a = 0;
  uint64_t b = 0;
};

class Shard {
 public:
  Shard(Engine& engine, unsigned index, const EngineConfig& config);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  unsigned index() const { return index_; }
  Engine& engine() const { return engine_; }
  // Milliseconds of the engine's clock, read once per loop turn.
  uint64_t now_ms() const { return now_ms_; }
  TimerWheel& timers() { return timers_; }
  BufferPool& buffers() { return pool_; }
  ShardMetrics& metrics() { return metrics_; }
  const EngineConfig& config() const { return config_; }
  bool draining() const { return draining_; }
  // While draining: the shard time (now_ms) at which the drain deadline
  // force-closes whatever is left.
  uint64_t drain_deadline_ms() const { return drain_deadline_ms_; }
  // The drain deadline has passed (or the drain had none) and every
  // connection was closed: connect() refuses from now on (ESHUTDOWN), so
  // nothing retried or failed over can keep the shard from exiting.
  bool past_drain_deadline() const { return past_drain_deadline_; }
  size_t open_connections() const { return open_connections_; }
  size_t open_outbound() const { return outbound_open_; }
  // Mailbox rings allocated so far into this shard (one per sending shard
  // that has posted here at least once).
  size_t mailboxes_allocated() const;

  // Sends `msg` to shard `to` (may be this shard). Never fails: when the
  // bounded mailbox is full the message waits in a local backlog that is
  // retried every loop turn, in order. Call only on this shard's thread.
  void post(unsigned to, const ShardMessage& msg);
  // Same, but fails instead of using the backlog when the mailbox is full.
  bool try_post(unsigned to, const ShardMessage& msg);

  // Any thread (a shard's, a plugin's worker, the main thread) once
  // Engine::start() has returned, and this shard's own thread from
  // EngineConfig::make_handler on; the Shard (the Engine) must outlive the
  // call. Runs
  // task->run(task, this) on this shard's thread in a coming loop turn, with
  // the mailbox messages (see the loop above). The task is the caller's
  // (engine/shard_task.h): nothing is allocated and nothing is copied.
  //
  // Order: tasks run in the order their posts took effect, hence FIFO per
  // producer. A task posted from a task runs in a later turn, not the
  // current one, so a task that re-posts itself cannot starve the I/O.
  //
  // When: tasks posted before the loop starts run in its first turn; while
  // the shard drains they still run (the answer to a request still being
  // served must land); once the loop has exited they are cancelled:
  // task->run(task, nullptr), exactly once, either by post_task itself (on
  // the caller's thread, so the caller must not hold a lock that run()
  // takes) or, for tasks still queued when the loop exits, by the shard at
  // its exit (on its thread). Nothing is ever lost or run twice: the exit
  // closes the queue with one atomic exchange that also takes what is
  // queued, so a concurrent post either got in before it (cancelled by the
  // shard) or sees it closed (cancelled by post_task); see ShardTaskQueue.
  //
  // Wake-ups are coalesced: only the post that finds the queue empty wakes
  // the shard (one eventfd write, as wake()); posts behind it ride on that
  // wake-up, since the shard takes the whole queue at once. So a burst from
  // any number of threads costs one syscall per shard loop turn.
  //
  // Cost: one CAS on a line shared by the producers, plus the write for the
  // first post of a turn.
  void post_task(ShardTask* task);

  // Starts an outbound TCP connection to `addr` (IPv4 or IPv6), driven by
  // `handler` (on_open when connected, on_connect_failed otherwise). The
  // connection lives on this shard like an accepted one. Returns null when
  // the slab is full, no socket could be created, or the shard is past its
  // drain deadline (ESHUTDOWN; errno says why).
  // `context` is set before any callback.
  // With a `transport` (e.g. TLS), it runs the handshake first and the
  // handler's on_open follows it.
  // The connect has a deadline (`timeout_ms`, 0: EngineConfig::
  // connect_timeout_ms); past it on_connect_failed(ETIMEDOUT) runs, then
  // on_close. Outbound connections count against max_outbound_connections,
  // never against the inbound max_connections.
  Connection* connect(const sockaddr* addr, socklen_t len, ConnectionHandler* handler,
                      void* context = nullptr, Transport* transport = nullptr,
                      uint32_t timeout_ms = 0);

  // Runs once per loop turn, before output is flushed; returns the
  // CLOCK_MONOTONIC time in ns at which it wants the next turn (0: no
  // wish). Lets a load generator pace sends more finely than the 1 ms timer
  // wheel. One hook per shard; call on the shard's thread.
  void set_turn_hook(std::function<uint64_t()> hook) { turn_hook_ = std::move(hook); }

  // The open connection in `slot` if it still has `generation` (a handle
  // taken earlier may refer to a connection that has since closed).
  Connection* find_connection(uint32_t slot, uint32_t generation);

  // --- used by Connection -------------------------------------------------
  io_uring_sqe* get_sqe();
  // Links `c` into this turn's flush list unless it is linked already.
  void connection_dirty(Connection& c);
  void start_close(Connection& c);
  // Arms or cancels the multishot receive to match the connection's state,
  // handler pause and backpressure.
  void update_reading(Connection& c);
  uint32_t send_queue_limit() const { return send_queue_limit_; }

  // --- used by Engine -----------------------------------------------------
  // Creates the ring (on the shard thread). Returns 0 or -errno.
  int init_ring();
  // Runs the handler and transport factories for `listeners` listeners (on
  // the shard thread, before start() returns).
  void create_handler(unsigned listeners);
  // Hands the shard its socket for listener i (once all shards can run).
  void set_listener_fd(unsigned listener, int fd) { listeners_[listener].fd = fd; }
  void run();
  void request_drain();  // any thread
  // Tests only (any thread): the next loop turn behaves as if the ring had
  // failed (io_uring_submit_and_wait returning -EBADF).
  void inject_ring_failure() { inject_ring_failure_.store(true, std::memory_order_relaxed); }
  // True once this shard's ring failed and its loop gave up (any thread).
  bool ring_failed() const { return ring_failed_.load(std::memory_order_acquire); }
  void wake();           // any thread
  // Runs `fn` on this shard's thread during its next loop turn (any thread;
  // control plane: allocates a task holding `fn`, then post_task). Once the
  // shard has exited, `fn` never runs; it is destroyed instead, on the
  // thread that posted it or on the shard's at its exit.
  void execute(std::function<void(Shard&)> fn);
  int ring_fd() const { return ring_.ring_fd; }
  unsigned setup_flags() const { return setup_flags_; }
  // Completion batching's min wait in microseconds; 0 when off (configured
  // 0, or a ring or kernel that cannot: see engine/ring_wait.h).
  unsigned batch_wait_us() const { return batch_.min_wait_us; }

 private:
  friend class Connection;
  class Slab;

  void dispatch(io_uring_cqe* cqe);
  void on_accept(io_uring_cqe* cqe, unsigned listener);
  void on_recv(Connection& c, io_uring_cqe* cqe);
  void on_send(Connection& c, int res);
  void on_connect(Connection& c, int res);
  void on_op_done(Connection& c);
  void arm_accept(unsigned listener);
  void arm_recv(Connection& c);
  void cancel_recv(Connection& c);
  void arm_event_read();
  void flush_dirty();
  void flushed(Connection& c);
  void send_now(Connection& c);
  void finish_close(Connection& c);
  void begin_drain();
  // The ring failed: leave the loop without stranding the other shards.
  void abandon_after_ring_failure(int error);
  void force_close_all();
  void run_mailboxes();
  void run_tasks();
  // Closes the task queue and cancels what it held (idempotent).
  void cancel_tasks();
  bool flush_backlog();
  // MSG_RING wake-up of another shard (at most one outstanding per target).
  void wake_shard(Shard& target);
  bool exit_ready() const;
  bool may_exit();
  void return_buffer(unsigned bid);
  static void connection_timer_fired(TimerEntry& e);
  static void drain_deadline_fired(TimerEntry& e);

  Engine& engine_;
  const EngineConfig& config_;
  const unsigned index_;
  const uint32_t send_queue_limit_;
  io_uring ring_{};
  bool ring_fd_registered_ = false;
  BatchPolicy batch_;
  unsigned last_batch_ = 0;  // completions the last turn reaped
  unsigned setup_flags_ = 0;
  bool ring_ready_ = false;

  // Provided buffer ring.
  io_uring_buf_ring* buf_ring_ = nullptr;
  char* buf_base_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  size_t buf_bytes_ = 0;
  unsigned buf_count_ = 0;
  unsigned buf_returned_ = 0;  // added since the last advance

  struct Listener {
    int fd = -1;
    bool accept_armed = false;
    std::unique_ptr<Transport> transport;
  };
  std::vector<Listener> listeners_;
  int event_fd_ = -1;
  uint64_t event_buf_ = 0;

  uint64_t now_ms_ = 0;
  TimerWheel timers_;
  TimerEntry drain_timer_;
  BufferPool pool_;
  ShardMetrics metrics_;
  std::unique_ptr<Slab> slab_;
  std::unique_ptr<ConnectionHandler> handler_;
  size_t open_connections_ = 0;  // inbound and outbound
  size_t outbound_open_ = 0;
  Connection* dirty_head_ = nullptr;
  std::function<uint64_t()> turn_hook_;
  // Addresses of connects in flight, by slot (the kernel reads them
  // asynchronously, so they must outlive the SQE).
  std::vector<sockaddr_storage> connect_addr_;

  // Mailboxes: inbox_[from] is written only by shard `from`. Its ring is
  // allocated by that sender on its first message (a process with N shards
  // would otherwise hold N*N full rings from the start: ~640 MiB at 64
  // shards) and published with a release store; until then the consumer
  // sees null and skips it. A sender whose ring was full sets
  // sender_blocked; the consumer, having made room, clears it and wakes the
  // sender so its backlog moves on at once instead of at its next timed
  // loop turn.
  struct Inbox {
    std::atomic<SpscRing<ShardMessage>*> ring{nullptr};
    std::unique_ptr<SpscRing<ShardMessage>> owned;  // set by the sender with `ring`
    alignas(64) std::atomic<bool> sender_blocked{false};
    SpscRing<ShardMessage>* get() const { return ring.load(std::memory_order_acquire); }
  };
  std::vector<std::unique_ptr<Inbox>> inbox_;
  uint32_t mailbox_capacity_ = 0;  // slots per ring, once allocated
  std::vector<std::deque<ShardMessage>> backlog_;  // per target shard
  size_t backlog_total_ = 0;
  alignas(64) std::atomic<bool> wake_pending_{false};
  std::atomic<bool> drain_requested_{false};
  std::atomic<bool> inject_ring_failure_{false};
  std::atomic<bool> ring_failed_{false};
  ShardTaskQueue tasks_;
  bool draining_ = false;
  uint64_t drain_deadline_ms_ = 0;
  bool past_drain_deadline_ = false;
  bool counted_ready_ = false;
};

}  // namespace ringshard::engine
