#include "obs/access_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "obs/json_escape.h"
#include "obs/rfc3339.h"

namespace ringshard::obs {

struct AccessLogShard::Buffer {
  std::string data;  // reserved once; clear() keeps the capacity
  uint64_t lines = 0;
};

// A bounded single-producer single-consumer ring of buffer pointers. Its
// capacity is at least the number of buffers of the shard, so a push never
// finds it full: every buffer is in exactly one place (current, full ring,
// free ring, or being written).
class AccessLogShard::Ring {
 public:
  explicit Ring(size_t capacity)
      : mask_(std::bit_ceil(std::max<size_t>(capacity, 2)) - 1), slots_(mask_ + 1) {}
  void push(Buffer* b) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    slots_[tail & mask_] = b;
    tail_.store(tail + 1, std::memory_order_release);
  }
  Buffer* pop() {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return nullptr;
    Buffer* b = slots_[head & mask_];
    head_.store(head + 1, std::memory_order_release);
    return b;
  }

 private:
  const size_t mask_;
  std::vector<Buffer*> slots_;
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) std::atomic<size_t> tail_{0};
};

namespace {

// Field caps: together with kAccessLogMaxLine they bound a line, so a line
// always fits the room reserved past buffer_bytes.
constexpr size_t kMaxPath = 2048;
constexpr size_t kMaxUserAgent = 512;
constexpr size_t kMaxRemote = 64;
constexpr size_t kMaxId = 128;
constexpr size_t kMaxMethod = 32;
constexpr size_t kFixedPart = 512;  // keys, punctuation, numbers, time
static_assert(kFixedPart + json_escaped_max(kMaxPath + kMaxUserAgent + kMaxRemote + 2 * kMaxId +
                                            kMaxMethod) <= kAccessLogMaxLine);

std::string_view cap(std::string_view s, size_t max) { return s.substr(0, std::min(s.size(), max)); }

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void append_line(std::string& out, const AccessLogEntry& e, uint32_t shard) {
  char time[kRfc3339Len];
  format_rfc3339_ms(e.unix_ms, time);
  out.append("{\"time\":\"", 9);
  out.append(time, kRfc3339Len);
  out.append("\",\"remote\":", 11);
  append_json_string(out, cap(e.remote, kMaxRemote));
  out.append(",\"method\":", 10);
  append_json_string(out, cap(e.method, kMaxMethod));
  out.append(",\"path\":", 8);
  append_json_string(out, cap(e.path, kMaxPath));
  out.append(",\"status\":", 10);
  append_uint(out, e.status);
  out.append(",\"bytes_in\":", 12);
  append_uint(out, e.bytes_in);
  out.append(",\"bytes_out\":", 13);
  append_uint(out, e.bytes_out);
  // Seconds with microsecond digits, by integer arithmetic: exact, and no
  // locale or floating-point formatting on the per-request path.
  const uint64_t us = e.duration_ns / 1000;
  out.append(",\"duration\":", 12);
  append_uint(out, us / 1'000'000);
  char frac[7];
  uint64_t f = us % 1'000'000;
  frac[0] = '.';
  for (int i = 6; i >= 1; --i, f /= 10) frac[i] = static_cast<char>('0' + f % 10);
  out.append(frac, 7);
  out.append(",\"request_id\":", 14);
  append_json_string(out, cap(e.request_id, kMaxId));
  out.append(",\"trace_id\":", 12);
  append_json_string(out, cap(e.trace_id, kMaxId));
  out.append(",\"user_agent\":", 14);
  append_json_string(out, cap(e.user_agent, kMaxUserAgent));
  out.append(",\"shard\":", 9);
  append_uint(out, shard);
  out.append("}\n", 2);
}

int open_path(const std::string& path) {
  if (path == "-") return STDOUT_FILENO;
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

}  // namespace

AccessLogShard::AccessLogShard(AccessLog& owner, uint32_t index, const AccessLogOptions& o)
    : owner_(owner),
      index_(index),
      threshold_(o.buffer_bytes),
      interval_ms_(o.flush_interval_ms),
      full_(std::make_unique<Ring>(o.buffers_per_shard)),
      free_(std::make_unique<Ring>(o.buffers_per_shard)) {
  for (size_t i = 0; i < o.buffers_per_shard; ++i) {
    auto b = std::make_unique<Buffer>();
    b->data.reserve(threshold_ + kAccessLogMaxLine);
    if (i == 0) current_ = b.get();
    else free_->push(b.get());
    storage_.push_back(std::move(b));
  }
}

AccessLogShard::~AccessLogShard() = default;

void AccessLogShard::log(const AccessLogEntry& entry) {
  // Past the threshold only when an earlier hand-off found no free buffer:
  // try again, and drop the line if the logger is still behind. Below it,
  // the reserved room past the threshold always holds one more line.
  if (current_->data.size() >= threshold_ && !flush_now()) {
    dropped_.add();
    return;
  }
  append_line(current_->data, entry, index_);
  ++current_->lines;
  if (current_->data.size() >= threshold_) flush_now();
}

bool AccessLogShard::flush_now() {
  if (current_->lines == 0) return true;
  Buffer* fresh = free_->pop();
  if (!fresh) return false;
  full_->push(current_);
  current_ = fresh;
  owner_.wake();
  return true;
}

void AccessLogShard::flush(uint64_t now_ms) {
  if (now_ms < last_flush_ms_ + interval_ms_) return;
  if (current_->lines != 0 && !flush_now()) return;  // retry on the next tick
  last_flush_ms_ = now_ms;
}

std::unique_ptr<AccessLog> AccessLog::open(const AccessLogOptions& options, std::string* error) {
  auto fail = [&](std::string why) {
    if (error) *error = std::move(why);
    return nullptr;
  };
  if (options.shards == 0) return fail("access log: shards must be at least 1");
  if (options.buffers_per_shard < 2)
    return fail("access log: buffers_per_shard must be at least 2 (one filling, one in flight)");
  if (options.buffer_bytes == 0) return fail("access log: buffer_bytes must be positive");
  if (options.path.empty()) return fail("access log: empty path (use \"-\" for standard output)");
  const int fd = open_path(options.path);
  if (fd < 0) return fail("access log: cannot open " + options.path + ": " + std::strerror(errno));
  return std::unique_ptr<AccessLog>(new AccessLog(options, fd));
}

AccessLog::AccessLog(const AccessLogOptions& options, int fd) : path_(options.path), fd_(fd) {
  for (size_t i = 0; i < options.shards; ++i)
    shards_.push_back(std::unique_ptr<AccessLogShard>(
        new AccessLogShard(*this, static_cast<uint32_t>(i), options)));
  thread_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() { stop(); }

void AccessLog::wake() {
  wake_seq_.fetch_add(1, std::memory_order_release);
  wake_seq_.notify_one();
}

void AccessLog::reopen() {
  reopen_requested_.store(true, std::memory_order_release);
  wake();
}

void AccessLog::sync() {
  if (stopped_) return;
  const uint64_t target = wake_seq_.fetch_add(1, std::memory_order_acq_rel) + 1;
  wake_seq_.notify_one();
  for (uint64_t done = done_seq_.load(std::memory_order_acquire); done < target;
       done = done_seq_.load(std::memory_order_acquire))
    done_seq_.wait(done, std::memory_order_acquire);
}

void AccessLog::stop() {
  if (stopped_) return;
  stopped_ = true;
  stop_requested_.store(true, std::memory_order_release);
  wake();
  thread_.join();
  if (fd_ != STDOUT_FILENO) ::close(fd_);
  fd_ = -1;
}

uint64_t AccessLog::lines_dropped() const {
  uint64_t n = lost_.get();
  for (const auto& s : shards_) n += s->lines_dropped();
  return n;
}

void AccessLog::run() {
  // EPIPE instead of SIGPIPE when stdout is a pipe whose reader went away.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  for (;;) {
    // Everything requested up to `seen` is visible now; done_seq_ = seen
    // below tells sync() that it has been handled.
    const uint64_t seen = wake_seq_.load(std::memory_order_acquire);
    const bool stopping = stop_requested_.load(std::memory_order_acquire);
    const bool reopen = reopen_requested_.exchange(false, std::memory_order_acq_rel);
    drain();
    if (reopen) do_reopen();
    if (stopping) {
      // The shards have stopped (the caller's contract), so their current
      // buffers are ours to write.
      drain();
      for (auto& s : shards_) write_buffer(*s->current_);
      break;
    }
    done_seq_.store(seen, std::memory_order_release);
    done_seq_.notify_all();
    wake_seq_.wait(seen, std::memory_order_acquire);
  }
  done_seq_.store(UINT64_MAX, std::memory_order_release);
  done_seq_.notify_all();
}

bool AccessLog::drain() {
  bool any = false;
  for (auto& s : shards_) {
    while (AccessLogShard::Buffer* b = s->full_->pop()) {
      write_buffer(*b);
      s->free_->push(b);
      any = true;
    }
  }
  return any;
}

void AccessLog::write_buffer(AccessLogShard::Buffer& b) {
  const std::string& d = b.data;
  size_t done = 0;
  while (done < d.size()) {
    const ssize_t n = ::write(fd_, d.data() + done, d.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      write_errors_.add();
      break;
    }
  }
  // Lines count as written only when their newline reached the kernel.
  const uint64_t complete = done == d.size()
                                ? b.lines
                                : static_cast<uint64_t>(std::count(d.data(), d.data() + done, '\n'));
  written_.add(complete);
  lost_.add(b.lines - complete);
  b.data.clear();
  b.lines = 0;
}

void AccessLog::do_reopen() {
  if (fd_ == STDOUT_FILENO) return;
  const int fd = open_path(path_);
  if (fd < 0) {
    write_errors_.add();
    return;
  }
  ::close(fd_);
  fd_ = fd;
  reopens_.add();
}

}  // namespace ringshard::obs
