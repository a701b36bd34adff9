#include "ratelimit/gcra.h"

namespace ringshard::ratelimit {

std::optional<Limit> make_limit(uint64_t count, uint64_t period_ns, uint64_t burst) {
  if (count == 0 || period_ns == 0 || burst == 0 || burst > kMaxBurst) return std::nullopt;
  if (period_ns > kMaxWindowNs) return std::nullopt;
  // Rounded up: a limit may be a hair stricter than configured, never looser.
  const uint64_t interval = (period_ns + count - 1) / count;
  if (interval > kMaxWindowNs / burst) return std::nullopt;
  return Limit{burst, interval, interval * burst};
}

}  // namespace ringshard::ratelimit
