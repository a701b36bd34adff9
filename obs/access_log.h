// obs/access_log.h: the JSON access log, buffered per shard and written by
// one logger thread, so a shard never blocks on the disk.
//
//   std::string error;
//   auto log = obs::AccessLog::open({.path = "/var/log/ringshard/access.log",
//                                    .shards = n}, &error);   // startup; nullptr + error
//   obs::AccessLogShard& mine = log->shard(shard_index);       // hand to shard i
//   mine.log({.unix_ms = obs::unix_now_ms(), .remote = peer, .method = "GET",
//             .path = target, .status = 200, ...});            // shard i, per response
//   mine.flush(now_ms);   // shard i, from its loop or a timer tick
//   log->reopen();        // main thread, on SIGUSR1 (logrotate)
//   log->stop();          // main thread, after the shards stopped: writes everything, joins
//
// One line per request:
//   {"time":"2024-05-01T12:34:56.789Z","remote":"10.0.0.1:5123","method":"GET",
//    "path":"/json","status":200,"bytes_in":87,"bytes_out":152,"duration":0.000231,
//    "request_id":"...","trace_id":"...","user_agent":"curl/8.0","shard":3}
// time: RFC 3339 UTC, milliseconds. duration: seconds, microsecond digits.
// Absent strings are "". Strings are escaped by obs/json_escape.h: control
// bytes as \u00XX, and each byte that is not well-formed UTF-8 as \ufffd,
// so every line is valid JSON of valid UTF-8 whatever the client sent.
// Strings longer than their cap (path 2048 bytes, user agent 512, remote 64,
// request and trace id 128 each, method 32) are cut at the cap, so a line
// never exceeds kAccessLogMaxLine bytes.
//
// Hand-off. Each shard owns `buffers_per_shard` buffers, allocated at open()
// with room for `buffer_bytes` plus one line, and two single-producer single-
// consumer rings of buffer pointers: full (shard -> logger) and free (logger
// -> shard). log() formats straight into the current buffer: no lock, no
// syscall, no allocation. When the buffer reaches buffer_bytes, or flush()
// finds it older than flush_interval_ms, the shard swaps it for a free one
// and wakes the logger (an atomic increment, plus a futex wake only if the
// logger sleeps). The logger thread owns the file descriptor; it writes each
// full buffer with write(2) and returns it to the free ring.
//
// When the logger falls behind (slow disk, a pipe nobody reads) the free
// ring runs dry: the shard keeps its current buffer, and once that is full it
// DROPS new lines and counts them (lines_dropped), rather than block or
// allocate. A failed write(2) counts a write error, and the lines it lost as
// dropped. So at stop(), lines_written + lines_dropped == lines logged.
//
// Threads: AccessLogShard methods only from the shard that owns it. reopen(),
// sync(), stop() and the counters from any other thread (never a shard:
// sync() and stop() wait on the logger, which may be blocked on the disk).
// reopen() is not async-signal-safe: call it from the thread that saw the
// signal (signalfd or a flag checked by the main loop), not a handler.
// Writes to a pipe whose reader left give EPIPE (counted), not SIGPIPE: the
// logger thread blocks SIGPIPE for itself. Path "-" means standard output
// (never closed, reopen() is a no-op for it).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "obs/counter.h"

namespace ringshard::obs {

struct AccessLogEntry {
  int64_t unix_ms = 0;          // wall-clock time, ms since the Unix epoch
  std::string_view remote;      // peer address, e.g. "10.0.0.1:5123"
  std::string_view method;
  std::string_view path;        // request target as received
  uint16_t status = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t duration_ns = 0;
  std::string_view request_id;  // X-Request-ID
  std::string_view trace_id;    // from traceparent
  std::string_view user_agent;
};

inline constexpr size_t kAccessLogMaxLine = 18 * 1024;

struct AccessLogOptions {
  std::string path;                 // file to append to; "-" is standard output
  size_t shards = 1;
  size_t buffer_bytes = 64 * 1024;  // hand a buffer to the logger at this size
  size_t buffers_per_shard = 4;     // how far the logger may fall behind before drops
  uint64_t flush_interval_ms = 1000;
};

class AccessLog;

class AccessLogShard {
 public:
  // Shard thread only. Appends one line; never blocks, never allocates.
  void log(const AccessLogEntry& entry);
  // Shard thread only. Hands the buffer to the logger if it holds lines and
  // now_ms (any monotonic clock, in ms) is at least flush_interval_ms past
  // the previous hand-off made by flush(). Cheap to call every loop turn.
  void flush(uint64_t now_ms);
  // Shard thread only. Hands the buffer over now if it holds lines. False if
  // the logger is behind (no free buffer); the lines stay buffered.
  bool flush_now();

  uint64_t lines_dropped() const { return dropped_.get(); }  // any thread

  AccessLogShard(const AccessLogShard&) = delete;
  AccessLogShard& operator=(const AccessLogShard&) = delete;
  ~AccessLogShard();

 private:
  friend class AccessLog;
  struct Buffer;
  class Ring;
  AccessLogShard(AccessLog& owner, uint32_t index, const AccessLogOptions& options);

  AccessLog& owner_;
  const uint32_t index_;
  const size_t threshold_;
  const uint64_t interval_ms_;
  std::vector<std::unique_ptr<Buffer>> storage_;
  std::unique_ptr<Ring> full_;  // shard -> logger
  std::unique_ptr<Ring> free_;  // logger -> shard
  Buffer* current_ = nullptr;
  uint64_t last_flush_ms_ = 0;
  Counter dropped_;
};

class AccessLog {
 public:
  // Startup: opens the file (O_APPEND|O_CREAT, mode 0644) and starts the
  // logger thread. nullptr with a reason in *error if the file cannot be
  // opened or the options are unusable.
  static std::unique_ptr<AccessLog> open(const AccessLogOptions& options, std::string* error);
  ~AccessLog();  // stop()

  AccessLogShard& shard(size_t index) { return *shards_[index]; }
  size_t shards() const { return shards_.size(); }

  // The logger closes and reopens the path after writing the buffers handed
  // over before this call. Returns at once. If the reopen fails, the old
  // descriptor is kept (lines go on to the old file) and a write error counts.
  void reopen();
  // Waits until the logger has written every buffer handed over, and done
  // every reopen() requested, before this call. For tests and for the main
  // thread; never from a shard.
  void sync();
  // The shards must have stopped calling their AccessLogShard. Writes every
  // buffer, including the shards' partly filled ones, closes the file and
  // joins the logger. Idempotent.
  void stop();

  uint64_t lines_written() const { return written_.get(); }
  uint64_t lines_dropped() const;  // by shards (logger behind) and by failed writes
  uint64_t write_errors() const { return write_errors_.get(); }
  uint64_t reopens() const { return reopens_.get(); }

  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

 private:
  friend class AccessLogShard;
  AccessLog(const AccessLogOptions& options, int fd);
  void wake();
  void run();
  bool drain();  // logger thread: write every full buffer; true if any
  void write_buffer(AccessLogShard::Buffer& buffer);
  void do_reopen();

  const std::string path_;
  int fd_;
  std::vector<std::unique_ptr<AccessLogShard>> shards_;
  std::atomic<uint64_t> wake_seq_{0};   // bumped by every request to the logger
  std::atomic<uint64_t> done_seq_{0};   // the wake_seq_ the logger last finished
  std::atomic<bool> reopen_requested_{false};
  std::atomic<bool> stop_requested_{false};
  bool stopped_ = false;                // control thread only
  Counter written_;                     // logger thread writes these
  Counter lost_;                        // lines in failed writes
  Counter write_errors_;
  Counter reopens_;
  std::thread thread_;
};

}  // namespace ringshard::obs
