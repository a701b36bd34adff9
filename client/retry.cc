#include "client/retry.h"

namespace ringshard::client {

uint64_t Jitter::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t Jitter::uniform(uint64_t bound) {
  if (bound == UINT64_MAX) return next();
  // Modulo bias is at most bound / 2^64: irrelevant for millisecond delays.
  return next() % (bound + 1);
}

uint64_t Backoff::ceiling_ms(uint32_t attempt) const {
  // base * 2^attempt without overflow: past 2^32 the cap has long won.
  const uint64_t factor = attempt >= 32 ? (uint64_t{1} << 32) : (uint64_t{1} << attempt);
  const uint64_t grown = uint64_t{base_ms_} * factor;
  return std::min<uint64_t>(cap_ms_, grown);
}

uint64_t RetryBudget::allowed() const {
  const auto by_ratio = static_cast<uint64_t>(static_cast<double>(active_requests_) * ratio_);
  return std::max<uint64_t>(min_concurrent_, by_ratio);
}

bool RetryBudget::try_start_retry() {
  if (active_retries_ >= allowed()) return false;
  ++active_retries_;
  return true;
}

}  // namespace ringshard::client
