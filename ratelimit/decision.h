// ratelimit/decision.h: the answer to one admission question.
//
// A plain value: produced by LimiterTable::decide, read by the header
// formatters (ratelimit/headers.h) and by the HTTP middleware.
#pragma once

#include <cstdint>

namespace ringshard::ratelimit {

struct Decision {
  bool admitted = false;
  uint64_t limit = 0;           // the burst B: the most requests admitted at once
  uint64_t remaining = 0;       // requests still admitted right now, after this one
  uint64_t reset_after_ns = 0;  // until the bucket is full again
  uint64_t retry_after_ns = 0;  // refusals: until one request would be admitted; 0 when admitted
};

}  // namespace ringshard::ratelimit
