#include "obs/log.h"

#include <cerrno>
#include <charconv>
#include <cstring>

#include "obs/json_escape.h"
#include "obs/rfc3339.h"

namespace ringshard::obs {
namespace {

// Appends into the caller's kMaxLogLine buffer. Callers keep within it: the
// fixed parts are bounded by kReserve and the message is escaped with a
// limit.
struct LineBuffer {
  char* data;
  size_t len = 0;
  void append(const char* s, size_t n) {
    std::memcpy(data + len, s, n);
    len += n;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }
  void push_back(char c) { data[len++] = c; }
};

// Room for everything but the message: time, level, shard, conn, keys,
// the truncation mark and the closing characters.
constexpr size_t kReserve = 160;

void append_uint(LineBuffer& b, uint64_t v) {
  char buf[24];
  b.append(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}

void append_shard(LineBuffer& b, int shard) {
  if (shard < 0) b.append("main");
  else append_uint(b, static_cast<uint64_t>(shard));
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  append_escaped(out, s.substr(0, 64), EscapeStyle::kJson);
  out += s.size() > 64 ? "...\"" : "\"";
  return out;
}

}  // namespace

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::string_view log_format_name(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "text";
}

bool parse_log_level(std::string_view text, LogLevel& out, std::string* error) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == log_level_name(l)) {
      out = l;
      return true;
    }
  }
  if (text == "warning") {
    out = LogLevel::kWarn;
    return true;
  }
  if (error) *error = "unknown log level " + quoted(text) + " (expected debug, info, warn or error)";
  return false;
}

bool parse_log_format(std::string_view text, LogFormat& out, std::string* error) {
  if (text == "text" || text == "json") {
    out = text == "json" ? LogFormat::kJson : LogFormat::kText;
    return true;
  }
  if (error) *error = "unknown log format " + quoted(text) + " (expected text or json)";
  return false;
}

size_t format_log_line(char* out, LogFormat format, int64_t unix_ms, LogLevel level, int shard,
                       std::optional<uint64_t> conn, std::string_view message) {
  LineBuffer b{out};
  char time[kRfc3339Len];
  format_rfc3339_ms(unix_ms, time);
  const size_t limit = kMaxLogLine - kReserve;
  if (format == LogFormat::kJson) {
    b.append("{\"time\":\"");
    b.append(time, kRfc3339Len);
    b.append("\",\"level\":\"");
    b.append(log_level_name(level));
    b.append("\",\"shard\":\"");
    append_shard(b, shard);
    b.push_back('"');
    if (conn) {
      b.append(",\"conn\":");
      append_uint(b, *conn);
    }
    b.append(",\"msg\":\"");
    const bool whole = append_escaped(b, message, EscapeStyle::kJson, limit - b.len);
    b.push_back('"');
    if (!whole) b.append(",\"truncated\":true");
    b.append("}\n");
  } else {
    b.append(time, kRfc3339Len);
    b.push_back(' ');
    b.append(log_level_name(level));
    b.append(" shard=");
    append_shard(b, shard);
    if (conn) {
      b.append(" conn=");
      append_uint(b, *conn);
    }
    b.push_back(' ');
    if (!append_escaped(b, message, EscapeStyle::kText, limit - b.len)) b.append(" [truncated]");
    b.push_back('\n');
  }
  return b.len;
}

void Logger::log(LogLevel level, int shard, std::string_view message,
                 std::optional<uint64_t> conn) const {
  if (!enabled(level)) return;
  char line[kMaxLogLine];
  const size_t len = format_log_line(line, format_, unix_now_ms(), level, shard, conn, message);
  // One write(2) per line: the kernel keeps it whole against other
  // writers (atomic up to PIPE_BUF on a pipe; O_APPEND files and ttys take
  // it in one piece). A short write (a full disk, a signal) finishes the
  // line with more writes rather than leave it cut.
  size_t done = 0;
  while (done < len) {
    const ssize_t n = ::write(fd_, line + done, len - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
}

}  // namespace ringshard::obs
