// engine/clock.h: the monotonic time source of the shards.
//
// Every deadline in the engine (header, body, idle, drain timers) is measured
// in milliseconds of a Clock. Production uses SteadyClock; tests use
// ManualClock and advance it explicitly, then wake the shards, so timeout
// tests never depend on how fast the machine is.
//
// Thread: now_ms() may be called from any thread. ManualClock::advance() may
// be called from any thread; shards see the new time on their next loop turn
// (call Engine::wake_all() to force one).
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>

namespace ringshard::engine {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t now_ms() const = 0;
};

class SteadyClock final : public Clock {
 public:
  uint64_t now_ms() const override {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 +
           static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t start_ms = 1'000'000) : now_(start_ms) {}
  uint64_t now_ms() const override { return now_.load(std::memory_order_acquire); }
  void advance(uint64_t ms) { now_.fetch_add(ms, std::memory_order_acq_rel); }

 private:
  std::atomic<uint64_t> now_;
};

}  // namespace ringshard::engine
