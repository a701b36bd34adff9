// engine/engine.h: the set of shards, their listeners and threads.
//
//   EngineConfig cfg;
//   cfg.shards = 4;
//   cfg.listen_port = 0;   // pick a free port; port() tells which
//   cfg.make_handler = [&](Shard& s) { return std::make_unique<MyHandler>(s); };
//   Engine engine(cfg);
//   if (auto err = engine.start(); !err.ok()) { ... err.message, err.exit_code }
//   engine.drain();        // from any thread, e.g. on SIGTERM
//   engine.wait();         // joins the shards once they have drained
//
// Every shard gets its own SO_REUSEPORT listening socket on the same port
// (the first binds, the others reuse the port it got), its own ring created
// on its own thread, and a CPU from the process's affinity mask.
//
// Control plane: start() allocates and may block; it is not for the data
// path. drain(), wake_all() and the metrics readers may be called from any
// thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/clock.h"
#include "engine/connection.h"
#include "engine/shard.h"

namespace ringshard::engine {

// A further listening address (listener 1, 2...; listener 0 is
// EngineConfig::listen_host/listen_port).
struct ListenSpec {
  std::string host = "0.0.0.0";
  uint16_t port = 0;  // 0: any free port
};

struct EngineConfig {
  unsigned shards = 0;                    // 0: CPUs in the affinity mask
  bool pin_threads = true;                // only when shards <= CPUs in the mask
  bool listen = true;                     // false: outbound only (load generator, client)
  std::string listen_host = "0.0.0.0";    // IPv4 or IPv6 literal, see open_listener()
  uint16_t listen_port = 8080;            // 0: any free port
  std::vector<ListenSpec> more_listeners; // e.g. HTTPS beside HTTP
  int listen_backlog = 4096;
  // TCP_DEFER_ACCEPT: a connection is accepted once its first bytes have
  // arrived, so the first receive completes at once instead of arming a
  // poll (about 16% less CPU per connection-per-request). A peer that sends
  // nothing is accepted after about a second.
  bool defer_accept = true;
  uint32_t max_connections = 65'536;      // accepted connections, per shard
  uint32_t max_outbound_connections = 65'536;  // connect()ed ones, per shard (counted apart)
  uint32_t connect_timeout_ms = 10'000;   // Shard::connect default deadline
  uint32_t send_queue_limit = 1 << 20;    // bytes queued before reading pauses
  uint32_t recv_buffer_size = 16 * 1024;  // bytes per provided buffer
  uint32_t recv_buffer_count = 1024;      // provided buffers per shard (power of 2)
  // Completion batching under load (engine/ring_wait.h): the longest a
  // wait holds out for a full batch, in microseconds. 0: off. Needs
  // DEFER_TASKRUN and Linux 6.13+; elsewhere off whatever this says.
  uint32_t batch_wait_us = 50;
  uint32_t drain_timeout_ms = 10'000;
  uint32_t linger_ms = 1'000;             // wait for the peer's FIN after half-close
  uint32_t flush_timeout_ms = 10'000;     // close_after_flush(): max time without send progress
  // Slots per (sender, receiver) mailbox ring; 0: default_mailbox_capacity.
  // A ring is allocated on the pair's first message, so memory follows the
  // pairs actually used, not shards squared.
  uint32_t mailbox_capacity = 0;
  const Clock* clock = nullptr;           // null: a SteadyClock owned by the engine
  // Called once per shard, on that shard's thread, before start() returns.
  std::function<std::unique_ptr<ConnectionHandler>(Shard&)> make_handler;
  // Called once per shard and listener (after make_handler, on the shard's
  // thread): the transport for the listener's connections, or null for
  // plain TCP. Unset: every listener is plain.
  std::function<std::unique_ptr<Transport>(Shard&, unsigned listener)> make_transport;
  // Called once per shard on that shard's thread when it stops: after its
  // loop returned (drained; every shard has passed the exit barrier, so no
  // connection is left and no mailbox message will arrive), or, when
  // start() failed after make_handler ran on it, in place of the loop.
  // Unset: nothing. Plugins release per-shard state here.
  std::function<void(Shard&)> on_shard_exit;
  // Called on each shard's thread when it starts draining (SIGTERM), before
  // its connections hear of the drain: the last moment to answer deferred
  // requests that would otherwise wait for the drain deadline (long-polls).
  std::function<void(Shard&)> on_shard_drain;
};

struct StartError {
  int exit_code = 0;  // 0: no error; 69: no io_uring; 71: socket/bind failed
  std::string message;
  bool ok() const { return exit_code == 0; }
};

// Resolves EngineConfig::shards == 0 to the CPUs in the affinity mask.
unsigned default_shard_count();
// The mailbox ring size for `shards` shards: 4,096 slots per pair up to 16
// shards, then less (never under 256), so that a shard's inbound rings stay
// near 64K slots (2.5 MiB) even when every pair is in use. A full ring
// never loses a message: the sender keeps a backlog.
uint32_t default_mailbox_capacity(unsigned shards);

class Engine {
 public:
  explicit Engine(EngineConfig config);
  ~Engine();  // drains with no deadline left and joins if still running
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Sets (before start()) the per-shard handler factory, when it was not
  // known at construction.
  void set_handler_factory(
      std::function<std::unique_ptr<ConnectionHandler>(Shard&)> make_handler) {
    config_.make_handler = std::move(make_handler);
  }
  void set_pin_threads(bool pin) { config_.pin_threads = pin; }
  // Sets (before start()) EngineConfig::on_shard_drain.
  void set_shard_drain_hook(std::function<void(Shard&)> hook) {
    config_.on_shard_drain = std::move(hook);
  }
  // Sets (before start()) EngineConfig::on_shard_exit.
  void set_shard_exit_hook(std::function<void(Shard&)> hook) {
    config_.on_shard_exit = std::move(hook);
  }
  StartError start();
  // The bound port of listener i (0: the main one).
  uint16_t port(unsigned listener = 0) const {
    return listener < ports_.size() ? ports_[listener] : 0;
  }
  void set_transport_factory(
      std::function<std::unique_ptr<Transport>(Shard&, unsigned)> make_transport) {
    config_.make_transport = std::move(make_transport);
  }
  unsigned shard_count() const { return static_cast<unsigned>(shards_.size()); }
  Shard& shard(unsigned i) { return *shards_[i]; }
  const Clock& clock() const { return *clock_; }
  const EngineConfig& config() const { return config_; }

  // Stop accepting, let handlers finish, exit within drain_timeout_ms.
  void drain();
  // Runs `fn` on shard `i`'s thread (control plane; see Shard::execute).
  void execute(unsigned i, std::function<void(Shard&)> fn) { shards_[i]->execute(std::move(fn)); }
  // Makes every shard run a loop turn now (after a ManualClock advance).
  void wake_all();
  // Joins the shard threads; returns once all have exited.
  void wait();
  bool running() const { return running_; }
  // The ring setup the shards got, in words ("single-issuer+defer-taskrun").
  const char* ring_mode() const;
  // Completion batching's min wait (microseconds) on the shards; 0: off.
  unsigned batch_wait_us() const;
  // True once every shard's loop has returned (any thread).
  // Shard side of the exit barrier: counts one more shard ready to exit;
  // true (and every shard woken) when it was the last.
  bool shard_ready_to_exit() {
    if (ready_to_exit_.fetch_add(1, std::memory_order_acq_rel) + 1 < shards_.size()) return false;
    wake_all();
    return true;
  }
  bool all_ready_to_exit() const {
    return ready_to_exit_.load(std::memory_order_acquire) == shards_.size();
  }
  // A shard whose ring failed (any thread): the engine drains and wait()
  // returns; failure() then describes the first failure ("" if none).
  void note_shard_failure(unsigned shard, int error);
  std::string failure() const;
  bool finished() const {
    return exited_.load(std::memory_order_acquire) == shards_.size();
  }

 private:
  EngineConfig config_;
  std::unique_ptr<Clock> owned_clock_;
  const Clock* clock_ = nullptr;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::thread> threads_;
  std::vector<std::vector<int>> listen_fds_;  // [listener][shard]
  std::vector<uint16_t> ports_;
  bool running_ = false;
  std::atomic<size_t> exited_{0};
  std::atomic<size_t> ready_to_exit_{0};
  mutable std::mutex failure_mu_;
  std::string failure_;
};

}  // namespace ringshard::engine
