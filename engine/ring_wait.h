// engine/ring_wait.h: how a shard waits for completions, batched under load.
//
// A shard's loop waits for "at least one completion or the next timer".
// Under load that wakes the thread for every few completions, and on a
// loopback proxy a wake-up (schedule, the wake's IRQ toggles, the task-work
// pass) costs as much as the I/O it delivers. With DEFER_TASKRUN the kernel
// only wakes the waiter once as many completions are queued as it asked
// for, and since Linux 6.13 (IORING_FEAT_MIN_TIMEOUT) a wait can carry a
// "min wait": wait that long for the full batch, then return with whatever
// has arrived (at least one), else keep waiting for one up to the timeout.
//
// BatchPolicy decides, from how many completions the last turn reaped, how
// many to ask for: none of this below kMinBatch (light and moderate load
// wait for one, as before, and pay no added latency), otherwise twice the
// last batch, capped at kMaxBatch. kMinBatch is 8, not 4: at 13k proxied
// requests/s (turns of 1-3 completions, the odd burst of 4-7) batching
// after 4 saved no CPU and added about 45 us to the median latency; after
// 8 the median is unchanged and the saving under full load the same.
// Under a load that fills the batch the waiter sleeps until it is full;
// when load falls away the min wait bounds the extra latency (at most
// min_wait_us on a completion that arrives alone). A timer due sooner
// than the min wait also gets the plain wait.
//
// submit_and_wait() is io_uring_submit_and_wait_timeout() plus the min
// wait: liburing 2.3 (Debian 12) has no call for it, so it makes the
// io_uring_enter call itself (flushing the SQ tail as liburing does).
//
// Thread: the ring's own (SINGLE_ISSUER). Allocates nothing.
#pragma once

#include <liburing.h>

#include <cstdint>

namespace ringshard::engine {

struct BatchPolicy {
  static constexpr unsigned kMinBatch = 8;
  static constexpr unsigned kMaxBatch = 64;
  unsigned min_wait_us = 0;  // 0: never batch

  // Completions to wait for after a turn that reaped `last_batch`, with the
  // next timer `wait_ns` away: 1 for the plain wait, else 2..kMaxBatch.
  unsigned want(unsigned last_batch, uint64_t wait_ns) const {
    if (min_wait_us == 0 || last_batch < kMinBatch) return 1;
    if (wait_ns <= uint64_t{min_wait_us} * 1000) return 1;
    return last_batch * 2 < kMaxBatch ? last_batch * 2 : kMaxBatch;
  }
};

// True when `ring` (set up with `setup_flags`) can batch: DEFER_TASKRUN
// (otherwise every completion wakes the thread anyway) and a kernel with
// the min-wait feature.
bool ring_can_batch(const io_uring& ring, unsigned setup_flags);

// Submits what is queued and waits for `want` completions: want == 1 is the
// plain wait up to `ts`; more waits up to min_wait_us for them, then returns
// with what has arrived, else waits for one up to `ts`. `registered_fd`:
// io_uring_register_ring_fd() succeeded on `ring`. Returns what
// io_uring_enter returns (submitted count) or -errno (-ETIME: no
// completion before `ts`).
int submit_and_wait(io_uring& ring, bool registered_fd, unsigned want, unsigned min_wait_us,
                    __kernel_timespec& ts);

}  // namespace ringshard::engine
