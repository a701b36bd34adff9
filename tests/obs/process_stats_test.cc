// Tests for obs/process_stats.h: values that must hold for this very
// process (fds it opens show up, limits match getrlimit, it started in the
// past), and the families write_process_metrics() declares.
#include "obs/process_stats.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <ctime>
#include <thread>

namespace ringshard::obs {
namespace RS_UNITY_ID {

ProcessStats read_or_fail() {
  ProcessStats s;
  std::string error;
  EXPECT_TRUE(read_process_stats(s, &error)) << error;
  return s;
}

TEST(ProcessStats, OpenFdsCountsWhatWeOpen) {
  const ProcessStats before = read_or_fail();
  const int a = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int b = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  const ProcessStats after = read_or_fail();
  ::close(a);
  ::close(b);
  EXPECT_EQ(after.open_fds, before.open_fds + 2) << "no other thread opens files here";
  EXPECT_GE(before.open_fds, 3u) << "stdin, stdout, stderr";
}

TEST(ProcessStats, PlausibleValues) {
  const ProcessStats s = read_or_fail();
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_cur != RLIM_INFINITY) {
    EXPECT_EQ(s.max_fds, lim.rlim_cur);
  }
  EXPECT_GT(s.resident_memory_bytes, 0u);
  EXPECT_GE(s.virtual_memory_bytes, s.resident_memory_bytes);
  EXPECT_GE(s.cpu_seconds, 0.0);
  EXPECT_GE(s.threads, 1u);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(s.start_time_seconds, now + 1);
  EXPECT_GT(s.start_time_seconds, now - 24 * 3600.0) << "this test process started recently";
}

TEST(ProcessStats, ThreadCountFollowsThreads) {
  const uint64_t before = read_or_fail().threads;
  uint64_t during = 0;
  std::thread t([&] { during = read_or_fail().threads; });
  t.join();
  EXPECT_EQ(during, before + 1);
}

TEST(ProcessStats, WritesTheStandardFamilies) {
  std::string out;
  PrometheusWriter w(out);
  write_process_metrics(w, read_or_fail());
  EXPECT_TRUE(w.ok()) << w.error();
  for (const char* name : {"process_cpu_seconds_total", "process_open_fds", "process_max_fds",
                           "process_virtual_memory_bytes", "process_resident_memory_bytes",
                           "process_start_time_seconds", "process_threads"})
    EXPECT_NE(out.find(std::string("\n") + name + " "), std::string::npos) << name << "\n" << out;
  EXPECT_NE(out.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos);
}

}  // namespace
}  // namespace ringshard::obs
