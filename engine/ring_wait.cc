#include "engine/ring_wait.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

// Linux 6.13's names, for headers older than the kernel that runs us.
#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15)
#endif

namespace ringshard::engine {

bool ring_can_batch(const io_uring& ring, unsigned setup_flags) {
  return (setup_flags & IORING_SETUP_DEFER_TASKRUN) != 0 &&
         (ring.features & IORING_FEAT_MIN_TIMEOUT) != 0;
}

int submit_and_wait(io_uring& ring, bool registered_fd, unsigned want, unsigned min_wait_us,
                    __kernel_timespec& ts) {
  if (want <= 1) {
    io_uring_cqe* cqe = nullptr;
    return io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, nullptr);
  }
  // Publish the SQEs prepared since the last submit, as liburing's own
  // submit does for a ring without SQPOLL.
  io_uring_sq& sq = ring.sq;
  const unsigned tail = sq.sqe_tail;
  if (sq.sqe_head != tail) {
    sq.sqe_head = tail;
    io_uring_smp_store_release(sq.ktail, tail);
  }
  const unsigned to_submit = tail - IO_URING_READ_ONCE(*sq.khead);

  // The kernel reads the field liburing 2.3 calls `pad` as min_wait_usec.
  io_uring_getevents_arg arg{};
  arg.ts = reinterpret_cast<uint64_t>(&ts);
  arg.pad = min_wait_us;
  unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
  int fd = ring.ring_fd;
  if (registered_fd) {
    flags |= IORING_ENTER_REGISTERED_RING;
    fd = ring.enter_ring_fd;
  }
  const long rc = ::syscall(__NR_io_uring_enter, fd, to_submit, want, flags, &arg, sizeof(arg));
  return rc < 0 ? -errno : static_cast<int>(rc);
}

}  // namespace ringshard::engine
