// proxy/balancer.cc: the three balancing policies (what each promises:
// proxy/balancer.h).
#include "proxy/balancer.h"

#include <vector>

#include "proxy/hash.h"

namespace ringshard::proxy {

// ---- round_robin ------------------------------------------------------------

RoundRobinBalancer::RoundRobinBalancer(std::span<const Backend> backends)
    : n_(backends.size()),
      weight_(new int64_t[backends.size()]),
      current_(new int64_t[backends.size()]()) {
  for (size_t i = 0; i < n_; ++i) weight_[i] = backends[i].weight;
}

// nginx's smooth weighted round robin: every eligible backend gains its
// weight, the richest is picked and pays the total. Ineligible backends
// neither gain nor pay, so the others keep their proportions.
size_t RoundRobinBalancer::pick(uint64_t, EligibleRef eligible) {
  size_t best = kNone;
  int64_t total = 0;
  for (size_t i = 0; i < n_; ++i) {
    if (!eligible(i)) continue;
    current_[i] += weight_[i];
    total += weight_[i];
    if (best == kNone || current_[i] > current_[best]) best = i;
  }
  if (best != kNone) current_[best] -= total;
  return best;
}

// ---- least_request ------------------------------------------------------------

LeastRequestBalancer::LeastRequestBalancer(std::span<const Backend> backends, uint64_t seed)
    : n_(backends.size()),
      weight_(new uint32_t[backends.size()]),
      active_(new uint32_t[backends.size()]()),
      rng_state_(seed) {
  for (size_t i = 0; i < n_; ++i) weight_[i] = backends[i].weight;
}

// A uniformly random eligible backend other than `skip`, or kNone. A few
// random probes find one when most are eligible (the normal case); after
// that a scan from a random start keeps the choice fair enough and bounded.
size_t LeastRequestBalancer::random_eligible(EligibleRef eligible, size_t skip) {
  Rng rng(rng_state_);
  size_t found = kNone;
  for (int tries = 0; tries < 4 && found == kNone; ++tries) {
    size_t i = rng.below(n_);
    if (i != skip && eligible(i)) found = i;
  }
  if (found == kNone) {
    size_t start = rng.below(n_);
    for (size_t k = 0; k < n_; ++k) {
      size_t i = (start + k) % n_;
      if (i != skip && eligible(i)) {
        found = i;
        break;
      }
    }
  }
  rng_state_ = rng.next();
  return found;
}

size_t LeastRequestBalancer::pick(uint64_t, EligibleRef eligible) {
  if (n_ == 0) return kNone;
  size_t a = random_eligible(eligible, kNone);
  if (a == kNone) return kNone;
  size_t b = random_eligible(eligible, a);
  if (b == kNone) return a;
  // active[a]/weight[a] <= active[b]/weight[b], without division.
  uint64_t load_a = uint64_t{active_[a]} * weight_[b];
  uint64_t load_b = uint64_t{active_[b]} * weight_[a];
  if (load_a != load_b) return load_a < load_b ? a : b;
  return weight_[a] >= weight_[b] ? a : b;
}

// ---- maglev -----------------------------------------------------------------------

// Each backend walks its own permutation of the table (offset and skip
// from two hashes of its address; skip in 1..M-1, so with M prime every
// permutation visits every slot). Backends take turns claiming their next
// free slot; a backend's turn comes in proportion to its weight (it claims
// when its accumulated weight reaches the largest weight), so the table
// shares follow the weights. Only addresses and weights enter the table:
// the same config gives the same table on every shard.
MaglevBalancer::MaglevBalancer(std::span<const Backend> backends)
    : n_(backends.size()), table_(new uint16_t[kTableSize]) {
  constexpr uint16_t kEmpty = 0xffff;
  for (size_t j = 0; j < kTableSize; ++j) table_[j] = kEmpty;
  if (n_ == 0) return;
  std::vector<uint64_t> offset(n_), skip(n_), next(n_, 0), credit(n_, 0);
  uint32_t max_weight = 0;
  for (size_t i = 0; i < n_; ++i) {
    offset[i] = hash64(backends[i].address, 1) % kTableSize;
    skip[i] = hash64(backends[i].address, 2) % (kTableSize - 1) + 1;
    if (backends[i].weight > max_weight) max_weight = backends[i].weight;
  }
  size_t filled = 0;
  while (filled < kTableSize) {
    for (size_t i = 0; i < n_ && filled < kTableSize; ++i) {
      credit[i] += backends[i].weight;
      if (credit[i] < max_weight) continue;
      credit[i] -= max_weight;
      size_t slot = 0;
      do {
        slot = (offset[i] + next[i] * skip[i]) % kTableSize;
        ++next[i];
      } while (table_[slot] != kEmpty);
      table_[slot] = static_cast<uint16_t>(i);
      ++filled;
    }
  }
}

size_t MaglevBalancer::pick(uint64_t key_hash, EligibleRef eligible) {
  if (n_ == 0) return kNone;
  size_t slot = key_hash % kTableSize;
  size_t first = table_[slot];
  if (eligible(first)) return first;
  // The next entries of the table: a fallback every shard agrees on, and
  // spread over the backends in proportion to their weights. Bounded: past
  // a few hundred slots, scan the backends themselves.
  for (size_t k = 1; k < 512; ++k) {
    size_t i = table_[(slot + k) % kTableSize];
    if (i != first && eligible(i)) return i;
  }
  for (size_t k = 1; k <= n_; ++k) {
    size_t i = (first + k) % n_;
    if (eligible(i)) return i;
  }
  return kNone;
}

std::unique_ptr<Balancer> make_balancer(const UpstreamGroup& group, uint64_t seed) {
  switch (group.balance) {
    case BalancePolicy::kRoundRobin:
      return std::make_unique<RoundRobinBalancer>(group.backends);
    case BalancePolicy::kLeastRequest:
      return std::make_unique<LeastRequestBalancer>(group.backends, seed);
    case BalancePolicy::kMaglev:
      return std::make_unique<MaglevBalancer>(group.backends);
  }
  return std::make_unique<RoundRobinBalancer>(group.backends);
}

}  // namespace ringshard::proxy
