// engine/timer_wheel.h: a per-shard hashed timer wheel with O(1) arm/disarm.
//
// Entries are intrusive (embedded in their owner: a connection, a listener,
// the drain deadline), so arming allocates nothing. Resolution is one tick
// (1 ms); kSlots slots cover one round, and an entry due several rounds
// ahead stays in its slot until its round comes. An occupancy bitmap lets
// the shard compute how long it may sleep without scanning every slot.
//
// Time is passed in explicitly (milliseconds of an engine::Clock), which is
// what makes timeouts testable with a ManualClock.
//
// Thread: owned by one shard; not thread-safe.
//
//   TimerEntry t;
//   t.callback = [](TimerEntry& e) { ... };
//   wheel.arm(t, now + 10'000);
//   wheel.advance(clock.now_ms());   // fires t once its deadline has passed
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace ringshard::engine {

struct TimerEntry {
  using Callback = void (*)(TimerEntry&);
  Callback callback = nullptr;
  void* context = nullptr;  // owner's pointer, for the callback's use

  bool armed() const { return slot_ != kUnarmed; }
  uint64_t deadline_ms() const { return deadline_; }

 private:
  friend class TimerWheel;
  static constexpr uint32_t kUnarmed = ~0u;
  TimerEntry* prev_ = nullptr;
  TimerEntry* next_ = nullptr;
  uint64_t deadline_ = 0;
  uint32_t slot_ = kUnarmed;
};

class TimerWheel {
 public:
  static constexpr size_t kSlots = 4096;  // power of two

  explicit TimerWheel(uint64_t now_ms) : current_(now_ms) {}
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms (or re-arms) `e` to fire at `deadline_ms`. A deadline the wheel
  // has already passed (<= the last advance's now_ms) fires on the next
  // advance(), even one with the same now_ms.
  void arm(TimerEntry& e, uint64_t deadline_ms);
  void disarm(TimerEntry& e);

  // Fires every entry whose deadline is <= now_ms, in no particular order
  // within a tick. A callback may arm or disarm any entry, itself included;
  // an entry it arms for a tick this advance has already processed fires on
  // the next advance() (so a callback re-arming itself for "now" cannot
  // loop). Returns how many fired.
  size_t advance(uint64_t now_ms);

  // Milliseconds from now_ms until the earliest slot that holds an entry
  // (the entry may belong to a later round: waking early is harmless);
  // 0 when an entry is already due. nullopt when no timer is armed.
  std::optional<uint64_t> next_wakeup_in(uint64_t now_ms) const;

  size_t size() const { return count_; }
  uint64_t current_ms() const { return current_; }

 private:
  static constexpr size_t kWords = kSlots / 64;
  static constexpr uint32_t kProcessing = kSlots;  // list being fired
  static constexpr uint32_t kDue = kSlots + 1;     // armed behind current_
  void link(TimerEntry& e, uint32_t slot);
  void unlink(TimerEntry& e);
  void clear_occupied(uint32_t slot);  // slot's list became empty
  size_t fire_list(uint32_t list, uint64_t now_ms);

  std::array<TimerEntry*, kSlots + 2> heads_{};
  std::array<uint64_t, kWords> occupied_{};
  uint64_t summary_ = 0;  // bit w: occupied_[w] != 0
  static_assert(kWords <= 64, "one summary word");
  uint64_t current_;  // every tick < current_ has been processed
  size_t count_ = 0;
};

}  // namespace ringshard::engine
