#include "engine/timer_wheel.h"

#include <bit>

namespace ringshard::engine {

void TimerWheel::link(TimerEntry& e, uint32_t slot) {
  e.slot_ = slot;
  e.prev_ = nullptr;
  e.next_ = heads_[slot];
  if (e.next_ != nullptr) e.next_->prev_ = &e;
  heads_[slot] = &e;
  if (slot < kSlots) {
    occupied_[slot / 64] |= uint64_t{1} << (slot % 64);
    summary_ |= uint64_t{1} << (slot / 64);
  }
  ++count_;
}

void TimerWheel::clear_occupied(uint32_t slot) {
  occupied_[slot / 64] &= ~(uint64_t{1} << (slot % 64));
  if (occupied_[slot / 64] == 0) summary_ &= ~(uint64_t{1} << (slot / 64));
}

void TimerWheel::unlink(TimerEntry& e) {
  const uint32_t slot = e.slot_;
  if (e.prev_ != nullptr) {
    e.prev_->next_ = e.next_;
  } else {
    heads_[slot] = e.next_;
  }
  if (e.next_ != nullptr) e.next_->prev_ = e.prev_;
  if (heads_[slot] == nullptr && slot < kSlots) clear_occupied(slot);
  e.prev_ = e.next_ = nullptr;
  e.slot_ = TimerEntry::kUnarmed;
  --count_;
}

void TimerWheel::arm(TimerEntry& e, uint64_t deadline_ms) {
  if (e.armed()) unlink(e);
  e.deadline_ = deadline_ms;
  // A tick already processed will not be visited again for a whole round:
  // such deadlines wait in the due list, which the next advance() fires.
  if (deadline_ms < current_) {
    link(e, kDue);
  } else {
    link(e, static_cast<uint32_t>(deadline_ms & (kSlots - 1)));
  }
}

void TimerWheel::disarm(TimerEntry& e) {
  if (e.armed()) unlink(e);
}

// Fires the due entries of `list` (a slot or the due list); the others go
// back to it. The list is first moved to the processing list, so callbacks
// may disarm any entry (the drain deadline closes every connection),
// including ones still waiting there, and whatever they arm into `list`
// waits for a later visit.
size_t TimerWheel::fire_list(uint32_t list, uint64_t now_ms) {
  TimerEntry* e = heads_[list];
  heads_[list] = nullptr;
  if (list < kSlots) clear_occupied(list);
  heads_[kProcessing] = e;
  for (; e != nullptr; e = e->next_) e->slot_ = kProcessing;
  size_t fired = 0;
  while ((e = heads_[kProcessing]) != nullptr) {
    unlink(*e);
    if (e->deadline_ <= now_ms) {
      e->callback(*e);
      ++fired;
    } else {
      link(*e, list);
    }
  }
  return fired;
}

size_t TimerWheel::advance(uint64_t now_ms) {
  size_t fired = heads_[kDue] != nullptr ? fire_list(kDue, now_ms) : 0;
  if (now_ms < current_) return fired;
  // Visit each tick up to now_ms, but never more than one full round: after
  // a long sleep the last kSlots ticks cover every slot once and the
  // deadline check decides. Ending the pass at now_ms keeps deadlines that
  // callbacks arm for (tick, now_ms] ahead of the pass, so they fire in it.
  uint64_t tick = current_;
  if (now_ms - tick >= kSlots) tick = now_ms - (kSlots - 1);
  for (; tick <= now_ms; ++tick) {
    // Callbacks run with current_ past this tick: what they arm for it or
    // earlier goes to the due list.
    current_ = tick + 1;
    const auto slot = static_cast<uint32_t>(tick & (kSlots - 1));
    if ((occupied_[slot / 64] & (uint64_t{1} << (slot % 64))) == 0) continue;
    fired += fire_list(slot, now_ms);
  }
  return fired;
}

std::optional<uint64_t> TimerWheel::next_wakeup_in(uint64_t now_ms) const {
  if (count_ == 0) return std::nullopt;
  if (heads_[kDue] != nullptr) return 0;
  // Search from the first unprocessed tick; measure from the caller's
  // now_ms (usually current_ - 1, right after advance(now_ms)). The summary
  // word (one bit per non-empty bitmap word) makes this a few instructions
  // however far the next timer is; scanning the 64 words one by one cost
  // ~320 instructions per loop turn with only 30 s timers armed.
  const auto start = static_cast<uint32_t>(current_ & (kSlots - 1));
  const size_t start_word = start / 64;
  const uint64_t at_or_after = ~uint64_t{0} << (start % 64);
  auto found = [&](size_t word, uint64_t bits) {
    const auto slot = static_cast<uint32_t>(word * 64 + std::countr_zero(bits));
    const uint64_t tick = current_ + ((slot - start) & (kSlots - 1));
    return tick > now_ms ? tick - now_ms : 0;
  };
  if (const uint64_t bits = occupied_[start_word] & at_or_after) return found(start_word, bits);
  const uint64_t later = start_word + 1 < kWords ? summary_ & (~uint64_t{0} << (start_word + 1)) : 0;
  const uint64_t earlier = summary_ & ((uint64_t{1} << start_word) - 1);
  for (const uint64_t words : {later, earlier}) {
    if (words != 0) {
      const size_t w = static_cast<size_t>(std::countr_zero(words));
      return found(w, occupied_[w]);
    }
  }
  if (const uint64_t bits = occupied_[start_word] & ~at_or_after) return found(start_word, bits);
  return std::nullopt;
}

}  // namespace ringshard::engine
