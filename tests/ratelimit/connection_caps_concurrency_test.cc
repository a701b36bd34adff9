// ConnectionCaps under real threads: the caps hold at every instant and the
// counts come back to zero. What the threads see admitted is counted beside
// the table (raised after try_open() returns true, lowered before close()),
// so it is never above what the table counts and must never pass a cap.
// Every run draws from a seeded generator, so a failure names its run.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ratelimit/connection_caps.h"
#include "tests/ratelimit/connection_caps_test_peer.h"

namespace ringshard::ratelimit {
namespace RS_UNITY_ID {

using Peer = ConnectionCapsTestPeer;

ConnKey client(const ConnectionCaps& c, uint32_t n) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x0a000000u + n);
  return c.key(reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

// An IPv6 client: its key is a hashed tag, the other kind of key.
ConnKey client6(const ConnectionCaps& c, uint32_t n) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr.s6_addr[0] = 0x20;
  a.sin6_addr.s6_addr[1] = 0x01;
  for (int i = 0; i < 4; ++i) a.sin6_addr.s6_addr[12 + i] = static_cast<uint8_t>(n >> (24 - 8 * i));
  return c.key(reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

// Round r's address: IPv4 and IPv6 in turn.
ConnKey address(const ConnectionCaps& c, int r) {
  const auto n = static_cast<uint32_t>(r);
  return r % 2 ? client6(c, n) : client(c, n);
}

// A barrier whose waiters spin, so that they leave it within a few hundred
// nanoseconds of each other (a sleeping barrier wakes them microseconds
// apart, longer than a claim race lasts). The last to arrive runs `done`.
class SpinBarrier {
 public:
  explicit SpinBarrier(int n) : n_(n) {}
  template <class F>
  void arrive_and_wait(F&& done) {
    const uint64_t gen = gen_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) {
      done();
      arrived_.store(0, std::memory_order_relaxed);
      gen_.store(gen + 1, std::memory_order_release);
      return;
    }
    for (unsigned spins = 0; gen_.load(std::memory_order_acquire) == gen; ++spins) {
      if (spins % 4096 == 4095) std::this_thread::yield();  // more threads than cores
    }
  }

 private:
  const int n_;
  std::atomic<int> arrived_{0};
  std::atomic<uint64_t> gen_{0};
};

class Threads : public ::testing::TestWithParam<int> {};

// Every thread opens the same new address at once, round after round: the
// claim race. Exactly min(cap, threads) are admitted, in one slot. The
// first slots of the address's window start taken by another address, and
// each thread frees one of them just before it opens, after a random
// delay: the claimers see different first free slots, as when other
// connections close during a claim.
TEST_P(Threads, OneNewAddressFromAllThreadsAdmitsExactlyTheCap) {
  const int threads = GetParam();
  constexpr int kRounds = 2000;
  for (uint64_t seed : {1u, 2u}) {
    std::mt19937_64 rng(seed * 100 + static_cast<uint64_t>(threads));
    ConnectionCapsOptions o;
    o.max_per_ip = 0;
    o.capacity = 64;
    o.seed = rng();
    ConnectionCaps caps(o);
    std::vector<uint32_t> cap_of(kRounds);
    for (auto& c : cap_of) c = static_cast<uint32_t>(rng() % static_cast<uint64_t>(threads + 1)) + 1;

    std::vector<std::vector<ConnKey>> keys(static_cast<size_t>(threads),
                                           std::vector<ConnKey>(kRounds));
    std::vector<std::atomic<int>> admitted(kRounds);
    int round = 0;
    // Between rounds (one thread, all others waiting): check and reset.
    std::vector<int> failures;
    const int blockers = std::min(threads, 4);
    const uint64_t blocker = Peer::live(client(caps, 1u << 20), 1);
    auto between = [&] {
      if (round > 0) {
        const int r = round - 1;
        const int want = std::min<int>(static_cast<int>(cap_of[static_cast<size_t>(r)]), threads);
        const ConnKey k = address(caps, r);
        if (admitted[static_cast<size_t>(r)].load() != want ||
            caps.open_for(k) != static_cast<uint32_t>(want) || Peer::used_slots(caps) != 1) {
          failures.push_back(r);
        }
        for (auto& per_thread : keys) caps.close(per_thread[static_cast<size_t>(r)]);
        if (caps.stats().open != 0 || Peer::used_slots(caps) != 0) failures.push_back(-r - 1);
      }
      if (round < kRounds) {
        caps.set_caps(0, cap_of[static_cast<size_t>(round)]);
        const ConnKey k = address(caps, round);
        for (int t = 0; t < blockers; ++t) {
          Peer::cas(caps, Peer::slot(caps, k, static_cast<unsigned>(t)), 0, blocker);
        }
      }
      ++round;
    };
    SpinBarrier sync(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        std::mt19937 delays(static_cast<unsigned>(t));
        sync.arrive_and_wait(between);  // round 0's caps
        for (int r = 0; r < kRounds; ++r) {
          ConnKey& k = keys[static_cast<size_t>(t)][static_cast<size_t>(r)];
          k = address(caps, r);
          if (t < blockers) {
            for (unsigned spin = delays() % 256; spin > 0; --spin) {
              std::atomic_signal_fence(std::memory_order_seq_cst);  // kept: a delay
            }
            Peer::cas(caps, Peer::slot(caps, k, static_cast<unsigned>(t)), blocker, 0);
          }
          if (caps.try_open(k)) admitted[static_cast<size_t>(r)].fetch_add(1);
          sync.arrive_and_wait(between);
        }
      });
    }
    for (auto& w : workers) w.join();
    EXPECT_TRUE(failures.empty()) << "seed " << seed << ": first bad round " << failures.front();
    EXPECT_EQ(caps.stats().untracked, 0u);
  }
}

struct ChurnConfig {
  size_t capacity;
  uint32_t addresses;
  uint32_t per_ip;
  uint64_t total;
  TableFull when_full;
};

// Threads open and close connections of a few addresses at random, holding
// up to 16 each. With 16 slots and 40 addresses the table is full often, so
// slots are freed and retaken all the time (the ABA window) and the
// fallback runs concurrently with claims.
void churn(int threads, const ChurnConfig& cfg, uint64_t seed) {
  ConnectionCapsOptions o;
  o.max_total = cfg.total;
  o.max_per_ip = cfg.per_ip;
  o.capacity = cfg.capacity;
  o.when_full = cfg.when_full;
  o.seed = seed;
  ConnectionCaps caps(o);
  constexpr int kOps = 40'000;
  std::vector<std::atomic<uint32_t>> seen(cfg.addresses);
  std::atomic<uint64_t> seen_total{0};
  std::atomic<int> over_ip{0};
  std::atomic<int> over_total{0};
  std::atomic<uint64_t> attempts{0}, opened{0}, tracked{0};
  std::barrier sync(threads);
  std::vector<std::vector<std::pair<ConnKey, uint32_t>>> held(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(seed ^ (static_cast<uint64_t>(t) << 32));
      auto& mine = held[static_cast<size_t>(t)];
      sync.arrive_and_wait();
      for (int i = 0; i < kOps; ++i) {
        if (mine.size() < 16 && (mine.empty() || rng() % 2 == 0)) {
          const auto a = static_cast<uint32_t>(rng() % cfg.addresses);
          ConnKey k = a % 3 == 0 ? client6(caps, a) : client(caps, a);
          attempts.fetch_add(1, std::memory_order_relaxed);
          if (!caps.try_open(k)) continue;
          opened.fetch_add(1, std::memory_order_relaxed);
          if (seen_total.fetch_add(1) + 1 > cfg.total) over_total.fetch_add(1);
          if (k.tracked()) {
            tracked.fetch_add(1, std::memory_order_relaxed);
            if (seen[a].fetch_add(1) + 1 > cfg.per_ip) over_ip.fetch_add(1);
          }
          mine.emplace_back(k, a);
        } else {
          const size_t j = rng() % mine.size();
          auto [k, a] = mine[j];
          mine[j] = mine.back();
          mine.pop_back();
          if (k.tracked()) seen[a].fetch_sub(1);
          seen_total.fetch_sub(1);
          caps.close(k);
        }
      }
    });
  }
  for (auto& w : workers) w.join();

  SCOPED_TRACE("threads " + std::to_string(threads) + " capacity " + std::to_string(cfg.capacity) +
               " seed " + std::to_string(seed));
  EXPECT_EQ(over_ip.load(), 0);
  EXPECT_EQ(over_total.load(), 0);
  // Quiescent: the table's counts are exactly what the threads hold.
  uint64_t held_n = 0;
  for (auto& m : held) held_n += m.size();
  const ConnectionCapsStats s = caps.stats();
  EXPECT_EQ(s.open, held_n);
  for (uint32_t a = 0; a < cfg.addresses; ++a) {
    const ConnKey k = a % 3 == 0 ? client6(caps, a) : client(caps, a);
    EXPECT_EQ(caps.open_for(k), seen[a].load()) << "address " << a;
  }
  EXPECT_EQ(attempts.load(), opened.load() + s.refused_total + s.refused_per_ip + s.refused_table_full);
  EXPECT_EQ(opened.load() - tracked.load(), s.untracked);
  if (cfg.when_full == TableFull::kRefuse) {
    EXPECT_EQ(s.untracked, 0u);
  }
  if (cfg.capacity < cfg.addresses) {  // the fallback really ran
    EXPECT_GT(cfg.when_full == TableFull::kRefuse ? s.refused_table_full : s.untracked, 0u);
  }
  EXPECT_GT(tracked.load(), 0u);

  for (auto& m : held) {
    for (auto& [k, a] : m) caps.close(k);
  }
  EXPECT_EQ(caps.stats().open, 0u);
  EXPECT_EQ(Peer::used_slots(caps), 0u);  // no slot leaked, no claim left behind
}

TEST_P(Threads, ChurnInATableThatFillsUpAdmitsUntracked) {
  for (uint64_t seed : {11u, 12u}) {
    churn(GetParam(), {16, 40, 3, 50, TableFull::kAdmitUntracked}, seed);
  }
}

TEST_P(Threads, ChurnInATableThatFillsUpRefuses) {
  churn(GetParam(), {16, 40, 3, 50, TableFull::kRefuse}, 21);
}

TEST_P(Threads, ChurnOnFewAddressesWithRoom) {
  // Per-IP refusals dominate: 4 addresses, 2 each, plenty of slots.
  churn(GetParam(), {1024, 4, 2, 1000, TableFull::kAdmitUntracked}, 31);
}

TEST_P(Threads, ChurnAgainstTheGlobalCap) {
  churn(GetParam(), {256, 100, 1000, 7, TableFull::kAdmitUntracked}, 41);
}

INSTANTIATE_TEST_SUITE_P(ConnectionCaps, Threads, ::testing::Values(2, 4, 8),
                         [](const auto& info) { return std::to_string(info.param) + "threads"; });

}  // namespace
}  // namespace ringshard::ratelimit
