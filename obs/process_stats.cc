#include "obs/process_stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

namespace ringshard::obs {
namespace {

bool set_error(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

// Reads a small /proc file whole; /proc reports size 0, hence the loop.
bool read_file(const char* path, std::string& out) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return n == 0;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

bool parse_u64(std::string_view s, uint64_t& v) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// Seconds since the epoch at which the machine booted: `btime` in /proc/stat.
bool boot_time(uint64_t& out) {
  std::string text;
  if (!read_file("/proc/stat", text)) return false;
  const size_t at = text.find("\nbtime ");
  if (at == std::string::npos) return false;
  const size_t begin = at + 7;
  const size_t end = text.find('\n', begin);
  return parse_u64(std::string_view(text).substr(begin, end - begin), out);
}

uint64_t count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return 0;
  uint64_t n = 0;
  while (const dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') ++n;
  ::closedir(dir);
  // The directory stream itself held one descriptor while we counted.
  return n > 0 ? n - 1 : 0;
}

}  // namespace

bool read_process_stats(ProcessStats& out, std::string* error) {
  out.open_fds = count_open_fds();
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0)
    out.max_fds = lim.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(lim.rlim_cur);

  std::string stat;
  if (!read_file("/proc/self/stat", stat)) return set_error(error, "cannot read /proc/self/stat");
  // The command name (field 2) is in parentheses and may itself contain
  // spaces and parentheses: fields are counted from the last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return set_error(error, "malformed /proc/self/stat");
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  std::string_view rest = std::string_view(stat).substr(close + 1);
  while (!rest.empty()) {
    const size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const size_t end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end);
  }
  // proc(5) field numbers, 1-based: utime 14, stime 15, num_threads 20,
  // starttime 22, vsize 23, rss 24.
  auto field = [&](size_t number, uint64_t& v) {
    return number - 3 < fields.size() && parse_u64(fields[number - 3], v);
  };
  uint64_t utime, stime, threads, start_ticks, vsize, rss_pages;
  if (!field(14, utime) || !field(15, stime) || !field(20, threads) || !field(22, start_ticks) ||
      !field(23, vsize) || !field(24, rss_pages))
    return set_error(error, "malformed /proc/self/stat");

  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (ticks <= 0 || page <= 0) return set_error(error, "sysconf failed");
  out.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks);
  out.threads = threads;
  out.virtual_memory_bytes = vsize;
  out.resident_memory_bytes = rss_pages * static_cast<uint64_t>(page);

  uint64_t boot = 0;
  if (!boot_time(boot)) return set_error(error, "no btime in /proc/stat");
  out.start_time_seconds =
      static_cast<double>(boot) + static_cast<double>(start_ticks) / static_cast<double>(ticks);
  return true;
}

void write_process_metrics(PrometheusWriter& w, const ProcessStats& s) {
  w.family("process_cpu_seconds_total", MetricType::kCounter,
           "Total user and system CPU time spent in seconds.");
  w.sample({}, s.cpu_seconds);
  w.family("process_open_fds", MetricType::kGauge, "Number of open file descriptors.");
  w.sample({}, s.open_fds);
  w.family("process_max_fds", MetricType::kGauge, "Maximum number of open file descriptors.");
  if (s.max_fds == UINT64_MAX) w.sample({}, std::numeric_limits<double>::infinity());
  else w.sample({}, s.max_fds);
  w.family("process_virtual_memory_bytes", MetricType::kGauge, "Virtual memory size in bytes.");
  w.sample({}, s.virtual_memory_bytes);
  w.family("process_resident_memory_bytes", MetricType::kGauge, "Resident memory size in bytes.");
  w.sample({}, s.resident_memory_bytes);
  w.family("process_start_time_seconds", MetricType::kGauge,
           "Start time of the process since unix epoch in seconds.");
  w.sample({}, s.start_time_seconds);
  w.family("process_threads", MetricType::kGauge, "Number of OS threads in the process.");
  w.sample({}, s.threads);
}

}  // namespace ringshard::obs
