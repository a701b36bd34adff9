#include "engine/engine.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "engine/listener.h"
#include "engine/ring_setup.h"

namespace ringshard::engine {

unsigned default_shard_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1u;
}

uint32_t default_mailbox_capacity(unsigned shards) {
  const uint32_t per_pair = 65'536 / (shards == 0 ? 1 : shards);
  return std::clamp<uint32_t>(per_pair, 256, 4096);
}

static std::vector<int> affinity_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i) {
      if (CPU_ISSET(i, &set)) cpus.push_back(i);
    }
  }
  return cpus;
}

Engine::Engine(EngineConfig config) : config_(std::move(config)) {
  if (config_.shards == 0) config_.shards = default_shard_count();
  if (config_.clock == nullptr) owned_clock_ = std::make_unique<SteadyClock>();
  clock_ = config_.clock != nullptr ? config_.clock : owned_clock_.get();
}

Engine::~Engine() {
  if (running_) {
    drain();
    wait();
  }
  for (const auto& fds : listen_fds_) {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
}

StartError Engine::start() {
  // The probe runs on a throwaway thread: a ring torn down on the caller's
  // thread leaves io_uring task-work notifications that interrupt the
  // caller's next blocking syscalls with EINTR.
  int probe_rc = 0;
  std::thread([&probe_rc] { probe_rc = probe_io_uring(); }).join();
  if (probe_rc < 0) return StartError{kExitNoIoUring, describe_ring_failure(probe_rc)};
  // Listeners first, on this thread: a bind error is reported before any
  // thread exists, and port 0 resolves to one port shared by every shard.
  std::vector<ListenSpec> specs;
  if (config_.listen) {
    specs.push_back(ListenSpec{config_.listen_host, config_.listen_port});
    specs.insert(specs.end(), config_.more_listeners.begin(), config_.more_listeners.end());
  }
  for (const ListenSpec& spec : specs) {
    uint16_t port = spec.port;
    std::vector<int>& fds = listen_fds_.emplace_back();
    for (unsigned i = 0; i < config_.shards; ++i) {
      ListenResult l = open_listener(spec.host, port, config_.listen_backlog,
                                     config_.defer_accept);
      if (l.fd < 0) {
        for (const auto& all : listen_fds_) {
          for (int fd : all) ::close(fd);
        }
        listen_fds_.clear();
        ports_.clear();
        return StartError{71, "ringshard: " + l.error};
      }
      fds.push_back(l.fd);
      port = l.port;
    }
    ports_.push_back(port);
  }

  for (unsigned i = 0; i < config_.shards; ++i) {
    shards_.push_back(std::make_unique<Shard>(*this, i, config_));
  }

  // Each ring is created on its own shard thread (SINGLE_ISSUER binds it
  // to the creating task); start() waits until all report. The hand-shake
  // state is shared, not a local of start(): a shard thread may wake from
  // it after start() has returned.
  struct StartSync {
    std::mutex mu;
    std::condition_variable cv;
    unsigned reported = 0;
    int first_error = 0;
    bool go = false;
  };
  auto sync = std::make_shared<StartSync>();
  const std::vector<int> cpus = affinity_cpus();
  for (unsigned i = 0; i < config_.shards; ++i) {
    threads_.emplace_back([this, sync, cpus, i] {
      Shard& shard = *shards_[i];
      // More shards than CPUs (a test, an oversubscribed container): no
      // pinning, since several shards on one CPU only take the
      // scheduler's freedom to move them away from each other.
      if (config_.pin_threads && !cpus.empty() && config_.shards <= cpus.size()) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpus[i % cpus.size()], &set);
        pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
      }
      const std::string name = "shard-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());
      const int rc = shard.init_ring();
      if (rc == 0) shard.create_handler(static_cast<unsigned>(listen_fds_.size()));
      bool failed = false;
      {
        std::unique_lock lock(sync->mu);
        if (rc < 0 && sync->first_error == 0) sync->first_error = rc;
        ++sync->reported;
        sync->cv.notify_all();
        sync->cv.wait(lock, [&] { return sync->go; });
        failed = sync->first_error != 0;
      }
      if (failed) {
        if (rc == 0 && config_.on_shard_exit) config_.on_shard_exit(shard);
        return;
      }
      shard.run();
      if (config_.on_shard_exit) config_.on_shard_exit(shard);
      exited_.fetch_add(1, std::memory_order_acq_rel);
    });
  }
  int first_error = 0;
  {
    std::unique_lock lock(sync->mu);
    sync->cv.wait(lock, [&] { return sync->reported == config_.shards; });
    first_error = sync->first_error;
    if (first_error == 0) {
      // Listener ownership moves to the shards only once all can run.
      for (auto& fds : listen_fds_) {
        for (unsigned i = 0; i < fds.size(); ++i) {
          shards_[i]->set_listener_fd(static_cast<unsigned>(&fds - listen_fds_.data()), fds[i]);
          fds[i] = -1;
        }
      }
    }
    sync->go = true;
    sync->cv.notify_all();
  }
  if (first_error != 0) {
    for (auto& t : threads_) t.join();
    threads_.clear();
    shards_.clear();
    return StartError{kExitNoIoUring, describe_ring_failure(first_error)};
  }
  running_ = true;
  return StartError{};
}

const char* Engine::ring_mode() const {
  if (shards_.empty()) return "none";
  const unsigned flags = shards_[0]->setup_flags();
  if (flags & IORING_SETUP_DEFER_TASKRUN) return "single-issuer+defer-taskrun";
  if (flags & IORING_SETUP_COOP_TASKRUN) return "coop-taskrun";
  return "basic";
}

unsigned Engine::batch_wait_us() const {
  return shards_.empty() ? 0 : shards_[0]->batch_wait_us();
}

void Engine::note_shard_failure(unsigned shard, int error) {
  std::lock_guard lock(failure_mu_);
  if (failure_.empty()) {
    failure_ = "shard " + std::to_string(shard) + ": io_uring failed (" +
               std::strerror(error) + "); the engine stopped";
  }
}

std::string Engine::failure() const {
  std::lock_guard lock(failure_mu_);
  return failure_;
}

void Engine::drain() {
  for (auto& s : shards_) s->request_drain();
}

void Engine::wake_all() {
  for (auto& s : shards_) s->wake();
}

void Engine::wait() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  running_ = false;
}

}  // namespace ringshard::engine
