#include "engine/ring_setup.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace ringshard::engine {

int create_ring(io_uring& ring, const RingSetup& setup, unsigned& flags_used) {
  const unsigned base = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  const unsigned attempts[] = {
      base | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      base | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
      base,
  };
  int rc = -EINVAL;
  for (unsigned flags : attempts) {
    io_uring_params params{};
    params.flags = flags;
    params.cq_entries = setup.cq_entries;
    rc = io_uring_queue_init_params(setup.sq_entries, &ring, &params);
    if (rc == 0) {
      flags_used = flags;
      return 0;
    }
    // Only an unsupported flag is worth another attempt; EPERM, ENOSYS and
    // ENOMEM fail the same way whatever the flags.
    if (rc != -EINVAL) break;
  }
  return rc;
}

static int read_sysctl_int(const char* path) {
  std::ifstream in(path);
  int v = -1;
  if (in) in >> v;
  return v;
}

std::string describe_ring_failure(int neg_errno) {
  const int err = -neg_errno;
  std::string head = "ringshard: cannot create an io_uring instance (";
  head += std::strerror(err);
  head += "): ";
  switch (err) {
    case EPERM:
    case EACCES: {
      const int disabled = read_sysctl_int("/proc/sys/kernel/io_uring_disabled");
      if (disabled == 2) {
        return head + "io_uring is disabled by kernel.io_uring_disabled=2; "
                      "fix: sysctl -w kernel.io_uring_disabled=0";
      }
      if (disabled == 1) {
        return head + "kernel.io_uring_disabled=1 restricts io_uring to the "
                      "group in kernel.io_uring_group; fix: run as a member of "
                      "that group or sysctl -w kernel.io_uring_disabled=0";
      }
      return head + "io_uring_setup is blocked by a seccomp filter or security "
                    "policy (the default in Docker and many container runtimes); "
                    "fix: allow io_uring_setup, io_uring_enter and "
                    "io_uring_register in the seccomp profile (e.g. docker run "
                    "--security-opt seccomp=<profile>)";
    }
    case ENOSYS:
      return head + "this kernel has no io_uring (CONFIG_IO_URING is off or the "
                    "kernel is too old); fix: run on Linux >= 6.1 with io_uring "
                    "enabled";
    case ENOMEM:
      return head + "not enough locked memory for the rings; fix: raise the "
                    "memlock limit (ulimit -l, LimitMEMLOCK= in systemd) or use "
                    "Linux >= 5.12, which does not charge rings to it";
    case EINVAL:
      return head + "the kernel refused every supported ring setup; fix: run on "
                    "Linux >= 6.1";
    default:
      return head + "fix: check the kernel (>= 6.1, io_uring enabled) and "
                    "resource limits";
  }
}

int probe_io_uring() {
  io_uring ring;
  io_uring_params params{};
  const int rc = io_uring_queue_init_params(4, &ring, &params);
  if (rc == 0) io_uring_queue_exit(&ring);
  return rc;
}

}  // namespace ringshard::engine
