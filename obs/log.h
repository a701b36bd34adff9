// obs/log.h: the server log. One line per event, written to stderr (or a
// given fd) with one write(2) of a preformatted buffer, so lines from
// different threads never interleave.
//
//   obs::LogOptions opts;
//   std::string error;
//   if (!obs::parse_log_format(flag_value, opts.format, &error)) exit_usage(error);
//   if (!obs::parse_log_level("warn", opts.min_level, &error)) exit_usage(error);
//   obs::Logger log(opts);                                      // startup, owned by main
//   log.info(obs::kMainShard, "listening on 0.0.0.0:8080");
//   if (log.enabled(obs::LogLevel::kDebug))                     // skip building the message
//     log.log(obs::LogLevel::kDebug, shard_id, "recv closed", conn_id);
//
// text: 2024-05-01T12:34:56.789Z warn shard=3 conn=17 upstream reset
// json: {"time":"2024-05-01T12:34:56.789Z","level":"warn","shard":"3","conn":17,"msg":"upstream reset"}
// time: RFC 3339 UTC with milliseconds. shard: the shard index, or "main"
// (kMainShard) for the main thread and other non-shard threads; a string in
// JSON so the field has one type. conn: only when a connection id is given.
// The message is escaped by obs/json_escape.h (text style: control bytes as
// \n, \t, \u00XX, so one event stays one line; json style: a JSON string);
// bytes that are not UTF-8 become U+FFFD. A line is at most kMaxLogLine
// bytes: a longer message is cut at a character boundary and marked
// (" [truncated]" in text, "truncated":true in JSON). Lines of at most
// PIPE_BUF (4096) bytes reach a pipe atomically.
//
// Threads: log() and the helpers from any thread, concurrently; the Logger
// must outlive every thread that logs. set_min_level() from any thread
// (relaxed: a level change shows up soon, not at once). Allocation: none;
// the line is built in a stack buffer. A failed write is counted
// (write_errors()), never reported by throwing or by logging.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringshard::obs {

enum class LogLevel : uint8_t { kDebug, kInfo, kWarn, kError };
enum class LogFormat : uint8_t { kText, kJson };

inline constexpr int kMainShard = -1;
inline constexpr size_t kMaxLogLine = 4096;

std::string_view log_level_name(LogLevel level);    // "debug", "info", "warn", "error"
std::string_view log_format_name(LogFormat format);  // "text", "json"

// Configuration helpers: exact lowercase names ("warning" is accepted for
// warn). On failure they leave out alone, return false and, if error is
// given, say what was wrong and what is accepted, e.g.
//   unknown log level "verbose" (expected debug, info, warn or error)
bool parse_log_level(std::string_view text, LogLevel& out, std::string* error = nullptr);
bool parse_log_format(std::string_view text, LogFormat& out, std::string* error = nullptr);

// Formats one line, '\n' included, into out (at least kMaxLogLine bytes);
// returns its length. Pure; Logger::log() calls it with the current time.
size_t format_log_line(char* out, LogFormat format, int64_t unix_ms, LogLevel level, int shard,
                       std::optional<uint64_t> conn, std::string_view message);

struct LogOptions {
  int fd = STDERR_FILENO;  // borrowed: the Logger never closes it
  LogFormat format = LogFormat::kText;
  LogLevel min_level = LogLevel::kInfo;
};

class Logger {
 public:
  explicit Logger(const LogOptions& options)
      : fd_(options.fd), format_(options.format), min_level_(options.min_level) {}

  bool enabled(LogLevel level) const { return level >= min_level_.load(std::memory_order_relaxed); }
  void set_min_level(LogLevel level) { min_level_.store(level, std::memory_order_relaxed); }

  void log(LogLevel level, int shard, std::string_view message,
           std::optional<uint64_t> conn = std::nullopt) const;
  void debug(int shard, std::string_view m) const { log(LogLevel::kDebug, shard, m); }
  void info(int shard, std::string_view m) const { log(LogLevel::kInfo, shard, m); }
  void warn(int shard, std::string_view m) const { log(LogLevel::kWarn, shard, m); }
  void error(int shard, std::string_view m) const { log(LogLevel::kError, shard, m); }

  uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }

 private:
  const int fd_;
  const LogFormat format_;
  std::atomic<LogLevel> min_level_;
  mutable std::atomic<uint64_t> write_errors_{0};  // many writers: an RMW, on failure only
};

}  // namespace ringshard::obs
