// obs/process_stats.h: this process's resource usage from /proc, as the
// standard Prometheus process metrics.
//
//   obs::ProcessStats stats;
//   std::string error;
//   if (obs::read_process_stats(stats, &error)) obs::write_process_metrics(writer, stats);
//
// Families written (names as every Prometheus client library spells them):
//   process_cpu_seconds_total        counter  user + system CPU time
//   process_open_fds                 gauge    entries in /proc/self/fd
//   process_max_fds                  gauge    RLIMIT_NOFILE soft limit
//   process_virtual_memory_bytes     gauge    /proc/self/stat vsize
//   process_resident_memory_bytes    gauge    /proc/self/stat rss * page size
//   process_start_time_seconds       gauge    boot time + start ticks, seconds since the epoch
//   process_threads                  gauge    threads in the process
//
// read_process_stats() opens and reads /proc files (a few syscalls, small
// allocations): call it at scrape time from the thread serving the scrape,
// never per request. Any thread; no shared state.
#pragma once

#include <cstdint>
#include <string>

#include "obs/prometheus.h"

namespace ringshard::obs {

struct ProcessStats {
  double cpu_seconds = 0;          // utime + stime
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;            // soft limit; RLIM_INFINITY shows as UINT64_MAX
  uint64_t virtual_memory_bytes = 0;
  uint64_t resident_memory_bytes = 0;
  double start_time_seconds = 0;   // since the Unix epoch
  uint64_t threads = 0;
};

// False (with a reason in *error when given) if /proc could not be read or
// parsed; out is then partly filled.
bool read_process_stats(ProcessStats& out, std::string* error = nullptr);

// Appends the families above. The writer must not have declared them yet.
void write_process_metrics(PrometheusWriter& writer, const ProcessStats& stats);

}  // namespace ringshard::obs
