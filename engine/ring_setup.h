// engine/ring_setup.h: creating a shard's io_uring, and explaining failure.
//
// Setup tries SINGLE_ISSUER|DEFER_TASKRUN first, then COOP_TASKRUN, then no
// task-run flags, always with an explicit CQ size (CQ overflow is a bug, not
// a mode) and SUBMIT_ALL. If no ring can be made at all, describe_failure()
// names the cause (seccomp, kernel.io_uring_disabled, a kernel without
// io_uring, the locked-memory limit) and the fix, in one line; the binary
// prints it and exits 69 (EX_UNAVAILABLE).
//
// Only engine/ includes <liburing.h>.
#pragma once

#include <liburing.h>

#include <string>

namespace ringshard::engine {

inline constexpr int kExitNoIoUring = 69;

struct RingSetup {
  unsigned sq_entries = 4096;
  unsigned cq_entries = 32768;
};

// Initialises `ring` on the calling thread (SINGLE_ISSUER ties the ring to
// it). Returns 0 or -errno of the last attempt. `flags_used` receives the
// setup flags that worked.
int create_ring(io_uring& ring, const RingSetup& setup, unsigned& flags_used);

// One line: what failed, why, and how to fix it, for a create_ring() error.
std::string describe_ring_failure(int neg_errno);

// Creates and destroys a tiny ring: the start-up check that io_uring is
// usable at all. Returns 0 or -errno.
int probe_io_uring();

}  // namespace ringshard::engine
