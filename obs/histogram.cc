#include "obs/histogram.h"

#include <cmath>
#include <limits>

namespace ringshard::obs {

double HistogramSnapshot::quantile_upper_bound(double q) const {
  const uint64_t total = count();
  if (total == 0) return 0;
  if (q < 0) q = 0;
  if (q > 1) q = 1;
  // The rank of the observation we want, 1-based; at least the first.
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < kHistogramBounds; ++i) {
    seen += buckets[i];
    if (seen >= rank) return kHistogramBoundsSeconds[i];
  }
  return std::numeric_limits<double>::infinity();
}

}  // namespace ringshard::obs
