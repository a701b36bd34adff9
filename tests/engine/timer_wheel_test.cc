// Tests for engine/timer_wheel.h: firing exactly at the deadline, re-arming
// and disarming (also from inside callbacks), several rounds ahead, long
// gaps, next_wakeup_in(), and a randomized comparison with a reference model.
#include "engine/timer_wheel.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

namespace ringshard::engine {
namespace RS_UNITY_ID {

constexpr uint64_t kSlots = TimerWheel::kSlots;
constexpr uint64_t kStart = 1'000'000;

// An entry that records when it fired and can run a test-supplied action
// from inside its callback.
struct Probe {
  TimerEntry entry;
  TimerWheel* wheel = nullptr;
  int fired = 0;
  const uint64_t* now = nullptr;  // the test's clock, if it keeps one
  std::vector<uint64_t> fired_at;  // *now at each firing
  std::function<void(Probe&)> action;

  explicit Probe(TimerWheel& w, const uint64_t* clock = nullptr) : wheel(&w), now(clock) {
    entry.context = this;
    entry.callback = [](TimerEntry& e) {
      auto& p = *static_cast<Probe*>(e.context);
      ++p.fired;
      if (p.now != nullptr) p.fired_at.push_back(*p.now);
      if (p.action) p.action(p);
    };
  }
};

std::vector<std::unique_ptr<Probe>> make_probes(TimerWheel& wheel, size_t n,
                                                const uint64_t* now = nullptr) {
  std::vector<std::unique_ptr<Probe>> v;
  for (size_t i = 0; i < n; ++i) v.push_back(std::make_unique<Probe>(wheel, now));
  return v;
}

TEST(TimerWheel, FiresAtDeadlineNotBefore) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  wheel.arm(p.entry, kStart + 10);
  EXPECT_TRUE(p.entry.armed());
  EXPECT_EQ(p.entry.deadline_ms(), kStart + 10);
  for (uint64_t t = kStart; t < kStart + 10; ++t) {
    EXPECT_EQ(wheel.advance(t), 0u) << "at " << t;
  }
  EXPECT_EQ(p.fired, 0);
  EXPECT_EQ(wheel.advance(kStart + 10), 1u);
  EXPECT_EQ(p.fired, 1);
  EXPECT_FALSE(p.entry.armed());
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, FiresOnlyOnce) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  wheel.arm(p.entry, kStart + 3);
  EXPECT_EQ(wheel.advance(kStart + 3), 1u);
  for (uint64_t t = kStart + 4; t < kStart + 3 * kSlots; t += 7) wheel.advance(t);
  EXPECT_EQ(p.fired, 1);
}

TEST(TimerWheel, FiresWhenAdvanceJumpsPastDeadline) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  wheel.arm(p.entry, kStart + 100);
  EXPECT_EQ(wheel.advance(kStart + 50), 0u);
  EXPECT_EQ(wheel.advance(kStart + 150), 1u);
  EXPECT_EQ(p.fired, 1);
}

TEST(TimerWheel, DisarmPreventsFiring) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  Probe q(wheel);
  wheel.arm(p.entry, kStart + 5);
  wheel.arm(q.entry, kStart + 5);
  EXPECT_EQ(wheel.size(), 2u);
  wheel.disarm(p.entry);
  EXPECT_FALSE(p.entry.armed());
  EXPECT_EQ(wheel.size(), 1u);
  wheel.disarm(p.entry);  // disarming an unarmed entry is a no-op
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(wheel.advance(kStart + 5), 1u);
  EXPECT_EQ(p.fired, 0);
  EXPECT_EQ(q.fired, 1);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, RearmMovesTheDeadline) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  wheel.arm(p.entry, kStart + 10);
  wheel.arm(p.entry, kStart + 20);  // later
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(wheel.advance(kStart + 19), 0u);
  EXPECT_EQ(wheel.advance(kStart + 20), 1u);

  wheel.arm(p.entry, kStart + 50);
  wheel.arm(p.entry, kStart + 30);  // earlier
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(wheel.advance(kStart + 29), 0u);
  EXPECT_EQ(wheel.advance(kStart + 30), 1u);
  EXPECT_EQ(wheel.advance(kStart + 60), 0u);
  EXPECT_EQ(p.fired, 2);
}

TEST(TimerWheel, RearmAfterFiring) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  wheel.arm(p.entry, kStart + 1);
  EXPECT_EQ(wheel.advance(kStart + 1), 1u);
  wheel.arm(p.entry, kStart + 2);
  EXPECT_EQ(wheel.advance(kStart + 2), 1u);
  EXPECT_EQ(p.fired, 2);
}

TEST(TimerWheel, CallbackRearmsItselfPeriodically) {
  TimerWheel wheel(kStart);
  uint64_t now = kStart;
  Probe p(wheel, &now);
  p.action = [](Probe& self) {
    self.wheel->arm(self.entry, self.entry.deadline_ms() + 7);
  };
  wheel.arm(p.entry, kStart + 7);
  for (; now <= kStart + 100; ++now) wheel.advance(now);
  ASSERT_EQ(p.fired, 14);
  for (int i = 0; i < 14; ++i) EXPECT_EQ(p.fired_at[i], kStart + 7 * (i + 1));
  EXPECT_TRUE(p.entry.armed());
  EXPECT_EQ(wheel.size(), 1u);
}

TEST(TimerWheel, CallbackRearmsItselfIntoTheSameSlotNextRound) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  p.action = [](Probe& self) {
    if (self.fired == 1) self.wheel->arm(self.entry, self.entry.deadline_ms() + kSlots);
  };
  wheel.arm(p.entry, kStart + 10);
  EXPECT_EQ(wheel.advance(kStart + 10), 1u);
  EXPECT_EQ(wheel.advance(kStart + 10 + kSlots - 1), 0u);
  EXPECT_EQ(wheel.advance(kStart + 10 + kSlots), 1u);
  EXPECT_EQ(p.fired, 2);
}

// A callback that re-arms with a deadline that has already come (the
// connection handler calling set_timeout(0)) must not wait a whole round:
// the contract says a past deadline fires on the next advance().
TEST(TimerWheel, CallbackRearmingAtTheCurrentTickFiresOnNextAdvance) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  p.action = [](Probe& self) {
    if (self.fired == 1) self.wheel->arm(self.entry, self.entry.deadline_ms());
  };
  wheel.arm(p.entry, kStart + 10);
  EXPECT_EQ(wheel.advance(kStart + 10), 1u);
  EXPECT_EQ(wheel.next_wakeup_in(kStart + 10), 0u);
  EXPECT_EQ(wheel.advance(kStart + 11), 1u);
  EXPECT_EQ(p.fired, 2);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, CallbackRearmingIntoAnAlreadyVisitedTickFiresOnNextAdvance) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  // Fires at tick kStart+20 during advance(kStart+30) and re-arms for
  // kStart+5: a tick this advance has already visited.
  p.action = [](Probe& self) {
    if (self.fired == 1) self.wheel->arm(self.entry, kStart + 5);
  };
  wheel.arm(p.entry, kStart + 20);
  EXPECT_EQ(wheel.advance(kStart + 30), 1u);
  EXPECT_EQ(wheel.advance(kStart + 31), 1u);
  EXPECT_EQ(p.fired, 2);
}

TEST(TimerWheel, CallbackArmsALaterTickOfTheSameAdvance) {
  TimerWheel wheel(kStart);
  Probe first(wheel);
  Probe second(wheel);
  first.action = [&second](Probe& self) { self.wheel->arm(second.entry, kStart + 25); };
  wheel.arm(first.entry, kStart + 10);
  // Both are due by kStart+30: one advance fires both.
  EXPECT_EQ(wheel.advance(kStart + 30), 2u);
  EXPECT_EQ(second.fired, 1);
}

TEST(TimerWheel, CallbackRearmingIntoAVisitedSlotDuringALongGapFiresOnNextAdvance) {
  TimerWheel wheel(kStart);
  Probe a(wheel);
  Probe b(wheel);
  constexpr uint64_t now = kStart + 3 * kSlots + 123;
  // `a` fires during the pass over every slot and arms `b` for a deadline
  // <= now whose slot that pass has already visited (100 ticks earlier).
  a.action = [&b](Probe& self) { self.wheel->arm(b.entry, now - 102); };
  wheel.arm(a.entry, now - 2);
  const size_t fired = wheel.advance(now);
  const size_t fired_next = wheel.advance(now + 1);
  EXPECT_EQ(a.fired, 1);
  EXPECT_EQ(b.fired, 1);
  EXPECT_EQ(fired + fired_next, 2u);
}

// The drain deadline closes every connection: its callback disarms every
// other entry due in the same tick, and entries in other slots.
TEST(TimerWheel, CallbackDisarmsOtherEntriesDueInTheSameTick) {
  TimerWheel wheel(kStart);
  auto probes = make_probes(wheel, 100);
  auto later = make_probes(wheel, 10);
  auto disarm_all = [&](Probe& self) {
    for (auto& p : probes) {
      if (p.get() != &self) self.wheel->disarm(p->entry);
    }
    for (auto& p : later) self.wheel->disarm(p->entry);
  };
  for (auto& p : probes) {
    p->action = disarm_all;
    wheel.arm(p->entry, kStart + 42);
  }
  for (size_t i = 0; i < later.size(); ++i) wheel.arm(later[i]->entry, kStart + 43 + i);
  EXPECT_EQ(wheel.size(), 110u);
  EXPECT_EQ(wheel.advance(kStart + 100), 1u);
  int total = 0;
  for (auto& p : probes) total += p->fired;
  for (auto& p : later) total += p->fired;
  EXPECT_EQ(total, 1);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.next_wakeup_in(kStart + 100), std::nullopt);
}

TEST(TimerWheel, CallbackMovesAnEntryDueInTheSameTickToLater) {
  TimerWheel wheel(kStart);
  auto probes = make_probes(wheel, 2);
  auto postpone_other = [&](Probe& self) {
    Probe& other = *probes[probes[0].get() == &self ? 1 : 0];
    if (other.fired == 0) self.wheel->arm(other.entry, kStart + 500);
  };
  for (auto& p : probes) {
    p->action = postpone_other;
    wheel.arm(p->entry, kStart + 7);
  }
  EXPECT_EQ(wheel.advance(kStart + 7), 1u);
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(wheel.advance(kStart + 499), 0u);
  EXPECT_EQ(wheel.advance(kStart + 500), 1u);
  EXPECT_EQ(probes[0]->fired + probes[1]->fired, 2);
}

TEST(TimerWheel, CallbackDisarmsItselfAfterRearming) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  p.action = [](Probe& self) {
    self.wheel->arm(self.entry, kStart + 50);
    self.wheel->disarm(self.entry);
  };
  wheel.arm(p.entry, kStart + 1);
  EXPECT_EQ(wheel.advance(kStart + 100), 1u);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, DeadlineSeveralRoundsAhead) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  const uint64_t deadline = kStart + 3 * kSlots + 17;  // > 12 s ahead
  wheel.arm(p.entry, deadline);
  // Step through every millisecond: the entry's slot comes round three
  // times before its deadline and must not fire early.
  for (uint64_t t = kStart; t < deadline; ++t) {
    ASSERT_EQ(wheel.advance(t), 0u) << "fired early at +" << t - kStart;
    const auto wake = wheel.next_wakeup_in(t);
    ASSERT_TRUE(wake.has_value());
    ASSERT_LE(*wake, deadline - t);  // early is harmless, late is not
  }
  EXPECT_EQ(wheel.advance(deadline), 1u);
  EXPECT_EQ(p.fired, 1);
}

TEST(TimerWheel, DeadlineSeveralRoundsAheadWithCoarseSteps) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  const uint64_t deadline = kStart + 5 * kSlots + 1;
  wheel.arm(p.entry, deadline);
  uint64_t t = kStart;
  while (t + 999 < deadline) {
    t += 999;
    ASSERT_EQ(wheel.advance(t), 0u);
  }
  EXPECT_EQ(wheel.advance(deadline), 1u);
}

TEST(TimerWheel, PastDeadlineFiresOnNextAdvance) {
  TimerWheel wheel(kStart);
  wheel.advance(kStart + 1000);
  Probe p(wheel);
  wheel.arm(p.entry, kStart + 10);  // long gone
  EXPECT_EQ(p.entry.deadline_ms(), kStart + 10);
  EXPECT_EQ(wheel.next_wakeup_in(kStart + 1000), 0u);
  EXPECT_EQ(wheel.advance(kStart + 1001), 1u);
  EXPECT_EQ(p.fired, 1);
}

TEST(TimerWheel, PastDeadlineFiresBeforeTheFirstAdvance) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  wheel.arm(p.entry, kStart - 500);
  EXPECT_EQ(wheel.advance(kStart), 1u);
}

// The shard advances once per loop turn, and many turns happen within one
// millisecond: a deadline of "now" armed after this turn's advance must fire
// on the next turn's advance even if the clock has not moved.
TEST(TimerWheel, DeadlineAtNowArmedAfterAdvanceFiresOnAdvanceAtTheSameTime) {
  TimerWheel wheel(kStart);
  wheel.advance(kStart + 100);
  Probe now_probe(wheel);
  Probe past_probe(wheel);
  wheel.arm(now_probe.entry, kStart + 100);
  wheel.arm(past_probe.entry, kStart + 50);
  EXPECT_EQ(wheel.next_wakeup_in(kStart + 100), 0u);
  EXPECT_EQ(wheel.advance(kStart + 100), 2u);
  EXPECT_EQ(now_probe.fired, 1);
  EXPECT_EQ(past_probe.fired, 1);
}

TEST(TimerWheel, AdvanceBackwardsFiresNothing) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  wheel.arm(p.entry, kStart + 10);
  EXPECT_EQ(wheel.advance(kStart + 5), 0u);
  EXPECT_EQ(wheel.advance(kStart + 2), 0u);
  EXPECT_EQ(wheel.advance(kStart + 10), 1u);
}

TEST(TimerWheel, LongGapFiresEverythingDueExactlyOnce) {
  TimerWheel wheel(kStart);
  uint64_t now = kStart;
  auto probes = make_probes(wheel, 5000, &now);
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<uint64_t> delta(0, 4 * kSlots);
  std::vector<uint64_t> deadlines;
  for (auto& p : probes) {
    deadlines.push_back(kStart + delta(rng));
    wheel.arm(p->entry, deadlines.back());
  }
  const uint64_t gap_end = kStart + 2 * kSlots + 77;  // more than a round
  size_t due = 0;
  for (uint64_t d : deadlines) due += d <= gap_end;
  now = gap_end;
  EXPECT_EQ(wheel.advance(gap_end), due);
  for (size_t i = 0; i < probes.size(); ++i) {
    ASSERT_EQ(probes[i]->fired, deadlines[i] <= gap_end ? 1 : 0) << "entry " << i;
  }
  EXPECT_EQ(wheel.size(), probes.size() - due);
  // The rest fire at their deadlines, once, stepping a millisecond at a time.
  for (now = gap_end + 1; now <= kStart + 4 * kSlots; ++now) wheel.advance(now);
  for (size_t i = 0; i < probes.size(); ++i) {
    ASSERT_EQ(probes[i]->fired, 1) << "entry " << i;
    if (deadlines[i] > gap_end) {
      ASSERT_EQ(probes[i]->fired_at[0], deadlines[i]);
    }
  }
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, NextWakeupInIsNulloptWhenEmpty) {
  TimerWheel wheel(kStart);
  EXPECT_EQ(wheel.next_wakeup_in(kStart), std::nullopt);
  Probe p(wheel);
  wheel.arm(p.entry, kStart + 5);
  wheel.disarm(p.entry);
  EXPECT_EQ(wheel.next_wakeup_in(kStart), std::nullopt);
}

TEST(TimerWheel, NextWakeupInBeforeAnyAdvance) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  wheel.arm(p.entry, kStart + 10);
  EXPECT_EQ(wheel.next_wakeup_in(kStart), 10u);
  Probe q(wheel);
  wheel.arm(q.entry, kStart + 3);
  EXPECT_EQ(wheel.next_wakeup_in(kStart), 3u);
}

// The shard asks right after advance(now): the answer must be measured from
// `now`, not from the wheel's next tick. An answer one short makes a shard
// with a timer due in 1 ms spin with a zero timeout.
TEST(TimerWheel, NextWakeupInAfterAdvanceIsMeasuredFromNow) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  wheel.arm(p.entry, kStart + 110);
  wheel.advance(kStart + 100);
  EXPECT_EQ(wheel.next_wakeup_in(kStart + 100), 10u);
  Probe q(wheel);
  wheel.arm(q.entry, kStart + 101);
  EXPECT_EQ(wheel.next_wakeup_in(kStart + 100), 1u);
}

TEST(TimerWheel, NextWakeupInIsZeroForAnEntryDueBeforeNow) {
  // Asked about a time the wheel has not been advanced to yet.
  TimerWheel wheel(kStart);
  Probe p(wheel);
  wheel.arm(p.entry, kStart + 5);
  EXPECT_EQ(wheel.next_wakeup_in(kStart + 10), 0u);
  EXPECT_EQ(wheel.next_wakeup_in(kStart + 5), 0u);
  EXPECT_EQ(wheel.next_wakeup_in(kStart + 4), 1u);
}

TEST(TimerWheel, NextWakeupInWrapsAround) {
  // Start in the last slot of the wheel; the entry lands in slot 3.
  const uint64_t base = 7 * kSlots + (kSlots - 1);
  TimerWheel wheel(base);
  Probe p(wheel);
  wheel.arm(p.entry, base + 4);
  EXPECT_EQ(wheel.next_wakeup_in(base), 4u);
  // Every starting offset within a word and across word boundaries.
  for (uint64_t start : {base - 64, base - 63, base - 1, base + 1, base + 2, base + 3}) {
    TimerWheel w(start);
    Probe e(w);
    w.arm(e.entry, base + 4);
    EXPECT_EQ(w.next_wakeup_in(start), base + 4 - start) << "start " << start;
  }
}

TEST(TimerWheel, NextWakeupInFindsASlotBehindTheCursor) {
  // The entry's slot is just behind the cursor: the search wraps almost a
  // whole round, within the cursor's own bitmap word.
  const uint64_t now = 9 * kSlots + 70;  // slot 70, word 1
  TimerWheel wheel(now);
  Probe p(wheel);
  wheel.arm(p.entry, now + kSlots - 1);  // slot 69
  EXPECT_EQ(wheel.next_wakeup_in(now), kSlots - 1);
  Probe q(wheel);
  wheel.arm(q.entry, now + kSlots - 6);  // slot 64, same word
  EXPECT_EQ(wheel.next_wakeup_in(now), kSlots - 6);
}

TEST(TimerWheel, NextWakeupInEveryDistance) {
  for (uint64_t d = 0; d < kSlots; d += 37) {
    TimerWheel wheel(kStart + 11);
    Probe p(wheel);
    wheel.arm(p.entry, kStart + 11 + d);
    ASSERT_EQ(wheel.next_wakeup_in(kStart + 11), d);
  }
}

TEST(TimerWheel, NextWakeupInForARoundAheadIsNoLaterThanTheDeadline) {
  TimerWheel wheel(kStart);
  Probe p(wheel);
  wheel.arm(p.entry, kStart + 2 * kSlots + 5);
  const auto wake = wheel.next_wakeup_in(kStart);
  ASSERT_TRUE(wake.has_value());
  EXPECT_LE(*wake, 2 * kSlots + 5);
}

TEST(TimerWheel, SizeBookkeeping) {
  TimerWheel wheel(kStart);
  auto probes = make_probes(wheel, 10);
  for (size_t i = 0; i < probes.size(); ++i) {
    wheel.arm(probes[i]->entry, kStart + 1 + i);
    EXPECT_EQ(wheel.size(), i + 1);
  }
  wheel.arm(probes[0]->entry, kStart + 50);  // re-arm: no change
  EXPECT_EQ(wheel.size(), 10u);
  wheel.disarm(probes[1]->entry);
  wheel.disarm(probes[1]->entry);
  EXPECT_EQ(wheel.size(), 9u);
  EXPECT_EQ(wheel.advance(kStart + 5), 3u);  // entries 2, 3, 4
  EXPECT_EQ(wheel.size(), 6u);
  EXPECT_EQ(wheel.advance(kStart + 10), 5u);
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(wheel.advance(kStart + 50), 1u);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.current_ms(), kStart + 51);
}

// Random arm / disarm / advance against a multimap of deadlines. Some
// callbacks re-arm their entry at a deadline derived from (id, now), which
// the model can predict whatever order a tick fires in.
TEST(TimerWheel, RandomizedAgainstReferenceModel) {
  constexpr size_t kEntries = 512;
  constexpr int kOps = 100'000;
  std::mt19937_64 rng(0x5eed'1234);

  struct Item {
    TimerEntry entry;
    size_t id = 0;
    bool rearms = false;
    TimerWheel* wheel = nullptr;
    uint64_t* now = nullptr;
    std::vector<size_t>* fired = nullptr;
  };
  uint64_t now = kStart;
  TimerWheel wheel(now);
  std::vector<size_t> fired;
  std::vector<Item> items(kEntries);
  auto rearm_deadline = [](size_t id, uint64_t t) {
    return t + 1 + (id * 2654435761u + t) % (2 * kSlots);
  };
  for (size_t i = 0; i < kEntries; ++i) {
    Item& it = items[i];
    it.id = i;
    it.rearms = i % 5 == 0;
    it.wheel = &wheel;
    it.now = &now;
    it.fired = &fired;
    it.entry.context = &it;
    it.entry.callback = [](TimerEntry& e) {
      auto& self = *static_cast<Item*>(e.context);
      self.fired->push_back(self.id);
      if (self.rearms) {
        const uint64_t t = *self.now;
        self.wheel->arm(self.entry, t + 1 + (self.id * 2654435761u + t) % (2 * kSlots));
      }
    };
  }

  std::map<size_t, uint64_t> model;  // id -> deadline of armed entries
  std::uniform_int_distribution<int> op(0, 99);
  std::uniform_int_distribution<size_t> pick(0, kEntries - 1);
  std::uniform_int_distribution<int64_t> arm_delta(-100, 3 * static_cast<int64_t>(kSlots));
  std::uniform_int_distribution<int> small_step(0, 20);
  std::uniform_int_distribution<uint64_t> big_step(0, 3 * kSlots);
  size_t total_fired = 0;

  for (int i = 0; i < kOps; ++i) {
    const int o = op(rng);
    if (o < 45) {
      const size_t id = pick(rng);
      const int64_t d = arm_delta(rng);
      const uint64_t deadline = d < 0 && static_cast<uint64_t>(-d) > now - kStart
                                    ? kStart
                                    : static_cast<uint64_t>(static_cast<int64_t>(now) + d);
      wheel.arm(items[id].entry, deadline);
      model[id] = deadline;
    } else if (o < 60) {
      const size_t id = pick(rng);
      wheel.disarm(items[id].entry);
      model.erase(id);
    } else {
      if (o < 98) {
        now += static_cast<uint64_t>(small_step(rng));  // 0 included: same ms
      } else {
        now += big_step(rng);
      }
      std::multiset<size_t> expected;
      for (auto it = model.begin(); it != model.end();) {
        if (it->second <= now) {
          expected.insert(it->first);
          it = model.erase(it);
        } else {
          ++it;
        }
      }
      for (size_t id : expected) {
        if (items[id].rearms) model[id] = rearm_deadline(id, now);
      }
      fired.clear();
      const size_t n = wheel.advance(now);
      const std::multiset<size_t> got(fired.begin(), fired.end());
      ASSERT_EQ(n, fired.size());
      ASSERT_EQ(got, expected) << "op " << i << " advance to +" << now - kStart;
      total_fired += n;
    }
    ASSERT_EQ(wheel.size(), model.size()) << "op " << i;
  }
  EXPECT_GT(total_fired, 10'000u);  // the test exercised firing at all
}

}  // namespace
}  // namespace ringshard::engine
