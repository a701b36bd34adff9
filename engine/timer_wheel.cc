#include "engine/timer_wheel.h"

#include <bit>

namespace ringshard::engine {

void TimerWheel::link(TimerEntry& e, uint32_t slot) {
  e.slot_ = slot;
  e.prev_ = nullptr;
  e.next_ = heads_[slot];
  if (e.next_ != nullptr) e.next_->prev_ = &e;
  heads_[slot] = &e;
  occupied_[slot / 64] |= uint64_t{1} << (slot % 64);
  ++count_;
}

void TimerWheel::unlink(TimerEntry& e) {
  const uint32_t slot = e.slot_;
  if (e.prev_ != nullptr) {
    e.prev_->next_ = e.next_;
  } else {
    heads_[slot] = e.next_;
  }
  if (e.next_ != nullptr) e.next_->prev_ = e.prev_;
  if (heads_[slot] == nullptr && slot != kProcessing) {
    occupied_[slot / 64] &= ~(uint64_t{1} << (slot % 64));
  }
  e.prev_ = e.next_ = nullptr;
  e.slot_ = TimerEntry::kUnarmed;
  --count_;
}

void TimerWheel::arm(TimerEntry& e, uint64_t deadline_ms) {
  if (e.armed()) unlink(e);
  // Past deadlines go into the slot processed next so they fire promptly.
  const uint64_t when = deadline_ms < current_ ? current_ : deadline_ms;
  e.deadline_ = deadline_ms;
  link(e, static_cast<uint32_t>(when & (kSlots - 1)));
}

void TimerWheel::disarm(TimerEntry& e) {
  if (e.armed()) unlink(e);
}

size_t TimerWheel::advance(uint64_t now_ms) {
  size_t fired = 0;
  if (now_ms < current_) return 0;
  // Visit each tick from current_ to now_ms, but never more than one full
  // round: after a long sleep every slot is visited once and the deadline
  // check decides.
  uint64_t last = now_ms;
  if (last - current_ >= kSlots) last = current_ + kSlots - 1;
  for (uint64_t tick = current_; tick <= last; ++tick) {
    const auto slot = static_cast<uint32_t>(tick & (kSlots - 1));
    if ((occupied_[slot / 64] & (uint64_t{1} << (slot % 64))) == 0) continue;
    // Move the slot's entries to the processing list. Callbacks may disarm
    // any entry (the drain deadline closes every connection), including ones
    // still waiting here, and may re-arm entries into this very slot: those
    // wait for the next round.
    TimerEntry* e = heads_[slot];
    heads_[slot] = nullptr;
    occupied_[slot / 64] &= ~(uint64_t{1} << (slot % 64));
    heads_[kProcessing] = e;
    for (; e != nullptr; e = e->next_) e->slot_ = kProcessing;
    while ((e = heads_[kProcessing]) != nullptr) {
      unlink(*e);
      if (e->deadline_ <= now_ms) {
        e->callback(*e);
        ++fired;
      } else {
        link(*e, slot);
      }
    }
  }
  current_ = now_ms + 1;
  return fired;
}

std::optional<uint64_t> TimerWheel::next_wakeup_in(uint64_t now_ms) const {
  if (count_ == 0) return std::nullopt;
  if (now_ms < current_) now_ms = current_;
  const auto start = static_cast<uint32_t>(now_ms & (kSlots - 1));
  // Search the bitmap from `start` forward, wrapping once.
  for (size_t i = 0; i <= kWords; ++i) {
    const size_t word = (start / 64 + i) % kWords;
    uint64_t bits = occupied_[word];
    if (i == 0) bits &= ~uint64_t{0} << (start % 64);
    if (i == kWords) bits &= (start % 64) ? ~(~uint64_t{0} << (start % 64)) : 0;
    if (bits == 0) continue;
    const auto slot = static_cast<uint32_t>(word * 64 + std::countr_zero(bits));
    return (slot - start) & (kSlots - 1);
  }
  return std::nullopt;
}

}  // namespace ringshard::engine
