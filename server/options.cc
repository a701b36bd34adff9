// server/options.cc: flags and TOML into Options.
//
// Every setting is one row of kSettings (section, key, flag, kind, range,
// field accessors, help). The flag parser, the TOML reader, --help and
// effective_config_text() all read that table, so a setting cannot be
// reachable from one and missing from another, and the help always shows the
// real defaults.
#include "server/options.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <span>
#include <tuple>
#include <type_traits>

// toml++ 3.3.0 (the Debian 12 package) checks a precondition in parse_key()
// that malformed table headers such as "[\n", "[#]" or "[[=" break (fixed
// upstream in marzer/tomlplusplus#301): debug builds abort, and clang release
// builds compile the check to __builtin_assume, which is undefined behaviour.
// With the check off, parse_key() reaches its own "expected bare key starting
// character" parse_error, the right answer. toml++ ignores a user TOML_ASSERT
// when NDEBUG is set, hence NDEBUG is lifted around the include; it only
// drops pure/const hints there.
#pragma push_macro("NDEBUG")
#undef NDEBUG
#define TOML_ASSERT(expr) static_assert(true)
#include <toml++/toml.h>
#pragma pop_macro("NDEBUG")

#ifndef RINGSHARD_VERSION
#define RINGSHARD_VERSION "unknown"
#endif

namespace ringshard::server {
namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;
constexpr uint64_t kSecondMs = 1000;
constexpr uint64_t kMinuteMs = 60 * kSecondMs;
constexpr uint64_t kHourMs = 60 * kMinuteMs;
// A config file is a few hundred bytes; the cap keeps "--config /dev/zero"
// from eating memory.
constexpr size_t kMaxConfigBytes = 1 << 20;

// Most --cert/--key pairs: one SNI lookup walks them all, and a config with
// more names than this wants a wildcard certificate instead.
constexpr uint64_t kMaxTlsPairs = 64;

enum class Kind {
  kListen,          // Options::listen
  kOptionalListen,  // Options::tls_listen; "off" turns it off
  kPath,            // Options::data_dir
  kPathList,        // `list`; each flag appends, a TOML array replaces
  kChoice,          // one of `choices`, stored through `set`
  kBool,
  kCount,
  kSize,
  kDuration,
};

// A kChoice value: the text the user writes and what `set` stores.
struct Choice {
  std::string_view text;
  uint64_t value;
};

struct Setting {
  std::string_view section;  // TOML table
  std::string_view key;      // TOML key
  std::string_view flag;     // "--name"
  std::string_view metavar;  // shown in --help
  Kind kind;
  uint64_t min = 0;  // numeric kinds, in base units (count, bytes, ms)
  uint64_t max = 0;  // also the most entries of a kPathList
  // Nonzero: values in 1..min_nonzero-1 are refused although min is 0
  // ("0 turns it off, else at least min_nonzero").
  uint64_t min_nonzero = 0;
  bool power_of_two = false;
  uint64_t (*get)(const Options&) = nullptr;  // numeric, bool and choice kinds
  void (*set)(Options&, uint64_t) = nullptr;
  std::vector<std::string> Options::*list = nullptr;  // kPathList
  std::span<const Choice> choices = {};                // kChoice, as --help lists them
  std::string_view when_empty;  // kPathList: what no entry means, for --help
  std::string_view help;
};

constexpr Choice kTlsVersions[] = {{"1.2", 1}, {"1.3", 0}};  // stored in tls_allow_12

template <auto Member>
uint64_t get_field(const Options& o) {
  return static_cast<uint64_t>(o.*Member);
}

template <auto Member>
void set_field(Options& o, uint64_t v) {
  o.*Member = static_cast<std::remove_reference_t<decltype(o.*Member)>>(v);
}

#define RINGSHARD_FIELD(name) \
  .get = get_field<&Options::name>, .set = set_field<&Options::name>

// Order: sections, then keys within a section, as --help and
// effective_config_text() show them.
constexpr Setting kSettings[] = {
    {.section = "server", .key = "listen", .flag = "--listen",
     .metavar = "HOST:PORT", .kind = Kind::kListen,
     .help = "address to serve HTTP on"},
    {.section = "server", .key = "shards", .flag = "--shards", .metavar = "N",
     .kind = Kind::kCount, .min = 0, .max = 1024, RINGSHARD_FIELD(shards),
     .help = "reactor threads, one per core (0: one per CPU in the affinity mask)"},
    {.section = "server", .key = "data_dir", .flag = "--data-dir",
     .metavar = "DIR", .kind = Kind::kPath,
     .help = "directory for persistent state"},
    {.section = "server", .key = "drain_timeout", .flag = "--drain-timeout",
     .metavar = "DUR", .kind = Kind::kDuration, .min = 0, .max = 24 * kHourMs,
     RINGSHARD_FIELD(drain_timeout_ms),
     .help = "time to finish in-flight work after SIGTERM/SIGINT (0: close at once)"},
    {.section = "server", .key = "access_log", .flag = "--access-log",
     .metavar = "[=BOOL]", .kind = Kind::kBool, RINGSHARD_FIELD(access_log),
     .help = "write JSON access log lines; --no-access-log turns them off"},
    {.section = "http", .key = "header_timeout", .flag = "--header-timeout",
     .metavar = "DUR", .kind = Kind::kDuration, .min = 1, .max = 24 * kHourMs,
     RINGSHARD_FIELD(header_timeout_ms),
     .help = "time allowed to receive a request head"},
    {.section = "http", .key = "body_timeout", .flag = "--body-timeout",
     .metavar = "DUR", .kind = Kind::kDuration, .min = 1, .max = 24 * kHourMs,
     RINGSHARD_FIELD(body_timeout_ms),
     .help = "time allowed to receive a request body"},
    {.section = "http", .key = "idle_timeout", .flag = "--idle-timeout",
     .metavar = "DUR", .kind = Kind::kDuration, .min = 1, .max = 24 * kHourMs,
     RINGSHARD_FIELD(idle_timeout_ms),
     .help = "time a keep-alive connection may wait for its next request"},
    {.section = "http", .key = "max_head_bytes", .flag = "--max-head-bytes",
     .metavar = "SIZE", .kind = Kind::kSize, .min = kKiB, .max = kMiB,
     RINGSHARD_FIELD(max_head_bytes),
     .help = "largest request line plus headers"},
    {.section = "http", .key = "max_target_bytes", .flag = "--max-target-bytes",
     .metavar = "SIZE", .kind = Kind::kSize, .min = 64, .max = kMiB,
     RINGSHARD_FIELD(max_target_bytes),
     .help = "longest request target; at most max-head-bytes"},
    {.section = "http", .key = "max_headers", .flag = "--max-headers",
     .metavar = "N", .kind = Kind::kCount, .min = 1, .max = 256,
     RINGSHARD_FIELD(max_headers),
     .help = "most header fields in one request"},
    {.section = "http", .key = "max_body_bytes", .flag = "--max-body-bytes",
     .metavar = "SIZE", .kind = Kind::kSize, .min = 0, .max = 64 * kGiB,
     RINGSHARD_FIELD(max_body_bytes),
     .help = "largest request body (0: refuse every body)"},
    {.section = "engine", .key = "max_connections", .flag = "--max-connections",
     .metavar = "N", .kind = Kind::kCount, .min = 1, .max = 1'000'000,
     RINGSHARD_FIELD(max_connections),
     .help = "open connections per shard"},
    {.section = "engine", .key = "send_queue_limit", .flag = "--send-queue-limit",
     .metavar = "SIZE", .kind = Kind::kSize, .min = 4 * kKiB, .max = kGiB,
     RINGSHARD_FIELD(send_queue_limit),
     .help = "most unsent bytes queued on one connection"},
    {.section = "engine", .key = "recv_buffer_size", .flag = "--recv-buffer-size",
     .metavar = "SIZE", .kind = Kind::kSize, .min = kKiB, .max = kMiB,
     .power_of_two = true, RINGSHARD_FIELD(recv_buffer_size),
     .help = "size of each provided receive buffer (power of two)"},
    {.section = "engine", .key = "recv_buffers", .flag = "--recv-buffers",
     .metavar = "N", .kind = Kind::kCount, .min = 16, .max = 32768,
     .power_of_two = true, RINGSHARD_FIELD(recv_buffer_count),
     .help = "receive buffers in each shard's ring (power of two)"},
    {.section = "engine", .key = "defer_accept", .flag = "--defer-accept",
     .metavar = "[=BOOL]", .kind = Kind::kBool, RINGSHARD_FIELD(defer_accept),
     .help = "accept a connection only once its first bytes arrive (TCP_DEFER_ACCEPT)"},
    {.section = "tls", .key = "listen", .flag = "--tls-listen",
     .metavar = "HOST:PORT|off", .kind = Kind::kOptionalListen,
     .help = "address to serve HTTPS on; off: no HTTPS"},
    {.section = "tls", .key = "certs", .flag = "--cert", .metavar = "FILE",
     .kind = Kind::kPathList, .max = kMaxTlsPairs, .list = &Options::tls_certs,
     .when_empty = "self-signed, in DATA_DIR/tls",
     .help = "PEM certificate chain, repeatable; SNI picks one, else the first"},
    {.section = "tls", .key = "keys", .flag = "--key", .metavar = "FILE",
     .kind = Kind::kPathList, .max = kMaxTlsPairs, .list = &Options::tls_keys,
     .help = "PEM private key for the --cert in the same position"},
    {.section = "tls", .key = "min_version", .flag = "--tls-min-version",
     .metavar = "1.2|1.3", .kind = Kind::kChoice, RINGSHARD_FIELD(tls_allow_12),
     .choices = kTlsVersions,
     .help = "oldest TLS version accepted (1.2: ECDHE with AEAD suites only)"},
    {.section = "tls", .key = "ticket_rotation", .flag = "--tls-ticket-rotation",
     .metavar = "DUR", .kind = Kind::kDuration, .min = 0, .max = 168 * kHourMs,
     .min_nonzero = kSecondMs, RINGSHARD_FIELD(tls_ticket_rotation_ms),
     .help = "lifetime of a session ticket key, shared by all shards (0: no "
             "session tickets)"},
    {.section = "tls", .key = "handshake_timeout", .flag = "--tls-handshake-timeout",
     .metavar = "DUR", .kind = Kind::kDuration, .min = 1, .max = kHourMs,
     RINGSHARD_FIELD(tls_handshake_timeout_ms),
     .help = "time allowed to complete the TLS handshake"},
    {.section = "websocket", .key = "max_message", .flag = "--ws-max-message",
     .metavar = "SIZE", .kind = Kind::kSize, .min = kKiB, .max = kGiB,
     RINGSHARD_FIELD(ws_max_message_bytes),
     .help = "largest WebSocket message, after decompression (larger: close 1009)"},
    {.section = "websocket", .key = "max_frame", .flag = "--ws-max-frame",
     .metavar = "SIZE", .kind = Kind::kSize, .min = kKiB, .max = kGiB,
     RINGSHARD_FIELD(ws_max_frame_bytes),
     .help = "largest WebSocket frame (larger: close 1009)"},
    {.section = "websocket", .key = "max_send_queue", .flag = "--ws-max-send-queue",
     .metavar = "SIZE", .kind = Kind::kSize, .min = 64 * kKiB, .max = 4 * kGiB,
     RINGSHARD_FIELD(ws_max_send_queue),
     .help = "unsent bytes a WebSocket may hold before it is closed with 1008"},
    {.section = "websocket", .key = "ping_interval", .flag = "--ws-ping-interval",
     .metavar = "DUR", .kind = Kind::kDuration, .min = 0, .max = 24 * kHourMs,
     RINGSHARD_FIELD(ws_ping_interval_ms),
     .help = "ping a WebSocket peer that has been quiet this long (0: never)"},
    {.section = "websocket", .key = "pong_timeout", .flag = "--ws-pong-timeout",
     .metavar = "DUR", .kind = Kind::kDuration, .min = 1, .max = kHourMs,
     RINGSHARD_FIELD(ws_pong_timeout_ms),
     .help = "close a WebSocket whose peer does not answer a ping within this"},
    {.section = "websocket", .key = "idle_timeout", .flag = "--ws-idle-timeout",
     .metavar = "DUR", .kind = Kind::kDuration, .min = 0, .max = 168 * kHourMs,
     RINGSHARD_FIELD(ws_idle_timeout_ms),
     .help = "close a WebSocket that sent no message for this long (0: never)"},
    {.section = "websocket", .key = "close_timeout", .flag = "--ws-close-timeout",
     .metavar = "DUR", .kind = Kind::kDuration, .min = 1, .max = kHourMs,
     RINGSHARD_FIELD(ws_close_timeout_ms),
     .help = "time to wait for the peer's reply to our close frame"},
    {.section = "websocket", .key = "deflate", .flag = "--ws-deflate",
     .metavar = "[=BOOL]", .kind = Kind::kBool, RINGSHARD_FIELD(ws_deflate),
     .help = "accept permessage-deflate; --no-ws-deflate turns it off"},
    {.section = "websocket", .key = "deflate_window_bits", .flag = "--ws-deflate-window-bits",
     .metavar = "N", .kind = Kind::kCount, .min = 9, .max = 15,
     RINGSHARD_FIELD(ws_deflate_window_bits),
     .help = "LZ77 window (2^N bytes) for both directions"},
    {.section = "websocket", .key = "deflate_mem_level", .flag = "--ws-deflate-mem-level",
     .metavar = "N", .kind = Kind::kCount, .min = 1, .max = 9,
     RINGSHARD_FIELD(ws_deflate_mem_level),
     .help = "zlib memLevel of the compressor (memory per connection)"},
    {.section = "websocket", .key = "deflate_min_size", .flag = "--ws-deflate-min-size",
     .metavar = "SIZE", .kind = Kind::kSize, .min = 0, .max = kGiB,
     RINGSHARD_FIELD(ws_deflate_min_size),
     .help = "messages shorter than this are sent uncompressed"},
    {.section = "websocket", .key = "deflate_no_context_takeover",
     .flag = "--ws-deflate-no-context-takeover", .metavar = "[=BOOL]", .kind = Kind::kBool,
     RINGSHARD_FIELD(ws_deflate_no_context_takeover),
     .help = "reset the compression window after every message, both ways "
             "(no zlib memory held between messages)"},
};

#undef RINGSHARD_FIELD

struct Section {
  std::string_view name;   // TOML table
  std::string_view title;  // --help group
};

constexpr Section kSections[] = {
    {"server", "Server"}, {"http", "HTTP"},   {"engine", "Engine"},
    {"tls", "TLS"},       {"websocket", "WebSocket"}};

// "[server], [http], [engine] and [tls]" (with `last` = "and").
std::string section_list(std::string_view last) {
  std::string out;
  for (size_t i = 0; i < std::size(kSections); ++i) {
    if (i != 0) out += i + 1 == std::size(kSections) ? " " + std::string(last) + " " : ", ";
    out += "[" + std::string(kSections[i].name) + "]";
  }
  return out;
}

const Setting* find_by_flag(std::string_view flag) {
  for (const Setting& s : kSettings) {
    if (s.flag == flag) return &s;
  }
  return nullptr;
}

const Setting* find_by_key(std::string_view section, std::string_view key) {
  for (const Setting& s : kSettings) {
    if (s.section == section && s.key == key) return &s;
  }
  return nullptr;
}

// User text made safe for a one-line message: bytes outside printable ASCII
// become \xHH and long text is cut, so no input can forge or break a line.
std::string printable(std::string_view text, size_t limit = 64) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == limit) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string quote(std::string_view text, size_t limit = 64) {
  return "'" + printable(text, limit) + "'";
}

// ---- Numbers, durations, sizes -------------------------------------------

enum class NumberStatus { kOk, kSyntax, kOverflow };

// Decimal digits only: no sign, space, prefix or exponent.
NumberStatus parse_decimal(std::string_view text, uint64_t& value) {
  if (text.empty()) return NumberStatus::kSyntax;
  uint64_t v = 0;
  bool overflow = false;
  for (char c : text) {
    if (c < '0' || c > '9') return NumberStatus::kSyntax;
    overflow = overflow || __builtin_mul_overflow(v, 10u, &v) ||
               __builtin_add_overflow(v, static_cast<uint64_t>(c - '0'), &v);
  }
  if (overflow) return NumberStatus::kOverflow;
  value = v;
  return NumberStatus::kOk;
}

struct Unit {
  std::string_view suffix;
  uint64_t scale;
};

constexpr Unit kDurationUnits[] = {
    {"", kSecondMs}, {"ms", 1}, {"s", kSecondMs}, {"m", kMinuteMs}, {"h", kHourMs}};
constexpr Unit kSizeUnits[] = {{"", 1},       {"k", kKiB}, {"K", kKiB},
                               {"KiB", kKiB}, {"m", kMiB}, {"M", kMiB},
                               {"MiB", kMiB}, {"g", kGiB}, {"G", kGiB},
                               {"GiB", kGiB}};

// "<digits><suffix>" with the suffix from `units`, scaled to base units.
NumberStatus parse_scaled(std::string_view text, std::span<const Unit> units,
                          uint64_t& value) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  if (digits == 0) return NumberStatus::kSyntax;
  const Unit* unit = nullptr;
  for (const Unit& u : units) {
    if (u.suffix == text.substr(digits)) unit = &u;
  }
  if (unit == nullptr) return NumberStatus::kSyntax;
  uint64_t n = 0;
  NumberStatus status = parse_decimal(text.substr(0, digits), n);
  if (status != NumberStatus::kOk) return status;
  if (__builtin_mul_overflow(n, unit->scale, &value)) {
    return NumberStatus::kOverflow;
  }
  return NumberStatus::kOk;
}

std::string format_duration(uint64_t ms) {
  if (ms == 0) return "0s";
  if (ms % kHourMs == 0) return std::to_string(ms / kHourMs) + "h";
  if (ms % kMinuteMs == 0) return std::to_string(ms / kMinuteMs) + "m";
  if (ms % kSecondMs == 0) return std::to_string(ms / kSecondMs) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_size(uint64_t bytes) {
  if (bytes != 0 && bytes % kGiB == 0) return std::to_string(bytes / kGiB) + "GiB";
  if (bytes != 0 && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "MiB";
  if (bytes != 0 && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + "KiB";
  return std::to_string(bytes);
}

std::string format_value(const Setting& s, uint64_t v) {
  switch (s.kind) {
    case Kind::kDuration:
      return format_duration(v);
    case Kind::kSize:
      return format_size(v);
    case Kind::kBool:
      return v != 0 ? "true" : "false";
    default:
      return std::to_string(v);
  }
}

std::string range_text(const Setting& s) {
  if (s.key == "max_target_bytes") {
    return format_value(s, s.min) + "..max_head_bytes";
  }
  if (s.min_nonzero != 0) {
    return format_value(s, s.min) + " or " + format_value(s, s.min_nonzero) +
           ".." + format_value(s, s.max);
  }
  return format_value(s, s.min) + ".." + format_value(s, s.max);
}

// Range and power-of-two check, then store. `shown` is the value as the user
// wrote it. Returns what is wrong, or nothing.
std::optional<std::string> store_number(const Setting& s, uint64_t v,
                                        std::string_view shown, Options& o) {
  bool pow2_ok = !s.power_of_two || (v != 0 && (v & (v - 1)) == 0);
  bool gap_ok = v == 0 || v >= s.min_nonzero;
  if (v < s.min || v > s.max || !pow2_ok || !gap_ok) {
    return quote(shown) + (s.power_of_two ? " is not a power of two in "
                                          : " is out of range ") +
           range_text(s);
  }
  s.set(o, v);
  return std::nullopt;
}

std::string syntax_hint(Kind kind) {
  switch (kind) {
    case Kind::kDuration:
      return "is not a duration; use a whole number with ms, s, m or h "
             "(250ms, 10s, 2m, 1h) or whole seconds";
    case Kind::kSize:
      return "is not a size; use bytes or a whole number with k, KiB, m, "
             "MiB, g or GiB (16k, 1MiB)";
    default:
      return "is not a number; use decimal digits only";
  }
}

// What is wrong with a file or directory name, or nothing. Files are not
// opened here: the server reports an unreadable one when it starts.
std::optional<std::string> path_problem(std::string_view text) {
  if (text.empty()) return std::string("must not be empty");
  if (text.find('\0') != std::string_view::npos) {
    return std::string("must not contain a NUL character");
  }
  return std::nullopt;
}

std::string choice_list(const Setting& s) {
  std::string out;
  for (size_t i = 0; i < s.choices.size(); ++i) {
    if (i != 0) out += i + 1 == s.choices.size() ? " or " : ", ";
    out += s.choices[i].text;
  }
  return out;
}

std::string_view choice_text(const Setting& s, const Options& o) {
  for (const Choice& c : s.choices) {
    if (c.value == s.get(o)) return c.text;
  }
  return "?";
}

// Parses and stores the text form of any setting: a flag's value or a TOML
// string (for kPathList: one entry, appended). Returns what is wrong, or
// nothing.
std::optional<std::string> apply_text(const Setting& s, std::string_view text,
                                      Options& o) {
  switch (s.kind) {
    case Kind::kListen:
    case Kind::kOptionalListen: {
      bool optional = s.kind == Kind::kOptionalListen;
      if (optional && text == "off") {
        o.tls_listen.reset();
        return std::nullopt;
      }
      auto address = parse_listen_address(text);
      if (!address) {
        return quote(text) + (optional ? " is not HOST:PORT or off (e.g. "
                                         "127.0.0.1:8443, [::1]:8443, :8443)"
                                       : " is not HOST:PORT (e.g. 127.0.0.1:8080, "
                                         "[::1]:8080, :8080)");
      }
      if (optional) {
        o.tls_listen = *address;
      } else {
        o.listen = *address;
      }
      return std::nullopt;
    }
    case Kind::kPath:
      if (auto problem = path_problem(text)) return problem;
      o.data_dir = std::string(text);
      return std::nullopt;
    case Kind::kPathList:
      if (auto problem = path_problem(text)) return problem;
      (o.*s.list).emplace_back(text);
      return std::nullopt;
    case Kind::kChoice:
      for (const Choice& c : s.choices) {
        if (c.text == text) {
          s.set(o, c.value);
          return std::nullopt;
        }
      }
      return quote(text) + " is not allowed; use " + choice_list(s);
    case Kind::kBool:
      if (text == "true" || text == "false") {
        s.set(o, text == "true");
        return std::nullopt;
      }
      return quote(text) + " is not a boolean; use true or false";
    case Kind::kCount:
    case Kind::kSize:
    case Kind::kDuration: {
      uint64_t v = 0;
      NumberStatus status =
          s.kind == Kind::kCount ? parse_decimal(text, v)
          : s.kind == Kind::kSize ? parse_scaled(text, kSizeUnits, v)
                                  : parse_scaled(text, kDurationUnits, v);
      if (status == NumberStatus::kSyntax) {
        return quote(text) + " " + syntax_hint(s.kind);
      }
      if (status == NumberStatus::kOverflow) {
        return quote(text) + " is out of range " + range_text(s);
      }
      return store_number(s, v, text, o);
    }
  }
  return std::string("unsupported setting");
}

// ---- Guarding toml++ 3.3.0 --------------------------------------------------
//
// toml++ 3.3.0 reaches __builtin_unreachable() (undefined behaviour: a
// crash or worse) when it asks whether some non-ASCII code points are
// whitespace, e.g. U+00A1..U+0499 (marzer/tomlplusplus#190, #295; fixed
// upstream by #305, after the Debian 12 package). It asks that of every
// character it meets outside strings and comments, and in a multi-line
// basic string of the character after a backslash and of the first one after
// a line-ending backslash. Valid TOML has non-ASCII only in strings and
// comments, so guard_toml() finds those risky positions and hands toml++ a
// copy with each risky non-ASCII character turned into one '\x01', which
// toml++ rejects safely at the same line and column.
//
// The walk follows TOML's structure (keys, values, arrays, inline tables)
// because toml++ scans a bare value up to a terminator straight through
// quotes ("x = 1"é..."), so a quote opens a string only where a key or a
// value can start. Where it cannot tell, it assumes "outside a string",
// which can only add errors to text that toml++ rejects anyway.

struct GuardHit {
  uint32_t line = 0;
  uint32_t column = 0;
  std::string message;
};

struct GuardedText {
  std::string text;              // what toml++ may parse
  std::optional<GuardHit> hit;   // the first risky character, if any
};

// The length of the well-formed UTF-8 sequence at `s[i]` (lead byte
// 0xC0..0xF7 and its continuation bytes), or 0. Deliberately loose (overlong
// forms and surrogates count) so that nothing toml++ could decode slips by.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto lead = static_cast<unsigned char>(s[i]);
  size_t length = lead >= 0xF0 && lead <= 0xF7   ? 4
                  : lead >= 0xE0 && lead <= 0xEF ? 3
                  : lead >= 0xC0 && lead <= 0xDF ? 2
                                                 : 0;
  if (length == 0 || i + length > s.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return length;
}

std::string describe_code_point(std::string_view sequence) {
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(sequence[k])); };
  uint32_t cp = sequence.size() == 2   ? ((b(0) & 0x1F) << 6) | (b(1) & 0x3F)
                : sequence.size() == 3 ? ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F)
                                       : ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) |
                                             ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  uint32_t min = sequence.size() == 2 ? 0x80 : sequence.size() == 3 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return "invalid UTF-8";
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", cp);
  return std::string("character ") + buf;
}

GuardedText guard_toml(std::string_view in) {
  enum class Mode { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  enum class Expect { kKey, kAfterKey, kValue, kBareValue, kAfterValue };
  enum class Nest { kArray, kTable };

  GuardedText out;
  out.text.reserve(in.size());
  std::vector<Nest> nesting;
  Mode mode = Mode::kCode;
  Expect expect = Expect::kKey;
  bool after_backslash = false;  // multi-line basic: next character is risky
  bool skipping = false;         // multi-line basic: after a line-ending backslash
  uint32_t line = 1;
  uint32_t column = 0;

  size_t i = 0;
  if (in.substr(0, 3) == "\xEF\xBB\xBF") {  // toml++ skips a BOM, uncounted
    out.text += in.substr(0, 3);
    i = 3;
  }
  // Copies the character at `i` (a risky one as '\x01'); returns its length.
  auto copy = [&](bool risky, bool in_string) {
    size_t length = 1;
    if (static_cast<unsigned char>(in[i]) >= 0x80) {
      size_t sequence = utf8_sequence_length(in, i);
      if (risky && sequence != 0) {
        if (!out.hit) {
          std::string what = describe_code_point(in.substr(i, sequence));
          out.hit = GuardHit{
              line, column,
              in_string ? what + " after a backslash in a multi-line string "
                                 "is not supported"
                        : "unexpected " + what + " outside a string or comment"};
        }
        out.text += '\x01';
        return sequence;
      }
    }
    out.text += in[i];
    return length;
  };
  auto quote_run = [&](char q) {
    size_t n = 0;
    while (i + n < in.size() && in[i + n] == q) ++n;
    return n;
  };
  auto end_bare_value = [&] {
    if (expect == Expect::kBareValue) expect = Expect::kAfterValue;
  };

  while (i < in.size()) {
    char c = in[i];
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++column;
    switch (mode) {
      case Mode::kComment:
        if (c == '\n') {
          mode = Mode::kCode;
          continue;  // the newline again, as code
        }
        i += copy(false, false);
        continue;
      case Mode::kBasic:
      case Mode::kLiteral:
        if (c == '\n') {
          mode = Mode::kCode;
          continue;
        }
        if (mode == Mode::kBasic && c == '\\' && i + 1 < in.size() && in[i + 1] != '\n') {
          out.text += c;
          ++i;
          ++column;
          i += copy(false, false);
          continue;
        }
        if (c == (mode == Mode::kBasic ? '"' : '\'')) mode = Mode::kCode;
        i += copy(false, false);
        continue;
      case Mode::kMultiLiteral:
      case Mode::kMultiBasic: {
        const char q = mode == Mode::kMultiBasic ? '"' : '\'';
        if (mode == Mode::kMultiBasic && after_backslash) {
          after_backslash = false;
          skipping = c == ' ' || c == '\t' || c == '\r' || c == '\n';
          i += copy(true, true);
        } else if (c == q) {
          size_t n = quote_run(q);
          if (n >= 3) {
            n = std::min<size_t>(n, 5);
            mode = Mode::kCode;
          }
          out.text.append(n, q);
          i += n;
          column += static_cast<uint32_t>(n - 1);
          skipping = false;
        } else if (mode == Mode::kMultiBasic && c == '\\') {
          after_backslash = true;
          skipping = false;
          i += copy(false, false);
        } else if (skipping && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
          skipping = false;
          i += copy(true, true);
        } else {
          i += copy(false, false);
        }
        if (c == '\n') {
          ++line;
          column = 0;
        }
        continue;
      }
      case Mode::kCode:
        break;
    }

    // Outside strings and comments: every character is risky.
    switch (c) {
      case ' ':
      case '\t':
        end_bare_value();
        break;
      case '\n':
      case '\r':
        end_bare_value();
        if (nesting.empty()) {
          expect = Expect::kKey;
        } else if (nesting.back() == Nest::kTable) {
          expect = Expect::kAfterValue;  // inline tables are one line
        }
        break;
      case '#':
        end_bare_value();
        mode = Mode::kComment;
        break;
      case '"':
      case '\'':
        if (expect == Expect::kKey || expect == Expect::kValue) {
          size_t n = quote_run(c);
          bool multi = n >= 3;
          mode = c == '"' ? (multi ? Mode::kMultiBasic : Mode::kBasic)
                          : (multi ? Mode::kMultiLiteral : Mode::kLiteral);
          expect = expect == Expect::kKey ? Expect::kAfterKey : Expect::kAfterValue;
          after_backslash = false;
          skipping = false;
          size_t opening = multi ? 3 : 1;
          out.text.append(opening, c);
          i += opening;
          column += static_cast<uint32_t>(opening - 1);
          continue;
        }
        if (expect != Expect::kBareValue) expect = Expect::kAfterValue;
        break;
      case '=':
        if (expect == Expect::kKey || expect == Expect::kAfterKey) {
          expect = Expect::kValue;
        } else if (expect != Expect::kBareValue) {
          expect = Expect::kAfterValue;
        }
        break;
      case '.':
        if (expect == Expect::kAfterKey) {
          expect = Expect::kKey;
        } else if (expect == Expect::kValue) {
          expect = Expect::kBareValue;
        } else if (expect != Expect::kBareValue) {
          expect = Expect::kAfterValue;
        }
        break;
      case '[':
        if (expect == Expect::kValue) {
          nesting.push_back(Nest::kArray);
        } else if (expect == Expect::kKey && nesting.empty()) {
          // a table header: a key follows
        } else if (expect != Expect::kBareValue) {
          expect = Expect::kAfterValue;
        }
        break;
      case '{':
        if (expect == Expect::kValue) {
          nesting.push_back(Nest::kTable);
          expect = Expect::kKey;
        } else if (expect != Expect::kBareValue) {
          expect = Expect::kAfterValue;
        }
        break;
      case ']':
      case '}':
        end_bare_value();
        if (!nesting.empty() &&
            nesting.back() == (c == ']' ? Nest::kArray : Nest::kTable)) {
          nesting.pop_back();
        }
        expect = Expect::kAfterValue;
        break;
      case ',':
        end_bare_value();
        if (nesting.empty()) {
          expect = Expect::kAfterValue;
        } else {
          expect = nesting.back() == Nest::kArray ? Expect::kValue : Expect::kKey;
        }
        break;
      default: {
        bool bare_key_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (expect == Expect::kValue) {
          expect = Expect::kBareValue;
        } else if (expect == Expect::kKey && bare_key_char) {
          expect = Expect::kAfterKey;
        } else if (expect == Expect::kAfterKey && bare_key_char) {
          // still the same bare key
        } else if (expect != Expect::kBareValue) {
          expect = Expect::kAfterValue;
        }
      }
    }
    i += copy(true, false);
    if (c == '\n') {
      ++line;
      column = 0;
    }
  }
  return out;
}

// ---- Checks across settings -------------------------------------------------
//
// These depend on two settings at once, so they run once everything that can
// set them has been applied: the TOML reader runs them over its document
// (CrossErrors), parse_options again after the flags, which may repair what
// the file broke. The error names whoever set the offending value.

// What the TLS listener's address collides with, or nothing. The engine
// binds every listener with SO_REUSEPORT, so the kernel would accept the
// same address twice and split its connections between HTTP and HTTPS, and
// a wildcard beside a specific address would lose that address's clients to
// the other protocol; hence an error here rather than a quiet bind. Port 0
// (a free port each) never collides.
std::optional<std::string> tls_listen_conflict(const Options& o) {
  if (!o.tls_listen || o.tls_listen->port == 0 ||
      o.tls_listen->port != o.listen.port) {
    return std::nullopt;
  }
  struct Binary {
    int family = AF_UNSPEC;
    unsigned char bytes[16] = {};
  };
  auto binary = [](const std::string& host) {
    Binary b;
    const std::string& literal = host == "localhost" ? "127.0.0.1" : host;
    if (inet_pton(AF_INET, literal.c_str(), b.bytes) == 1) {
      b.family = AF_INET;
    } else if (inet_pton(AF_INET6, literal.c_str(), b.bytes) == 1) {
      b.family = AF_INET6;
    }
    return b;
  };
  auto is_any = [](const Binary& b) {
    return std::all_of(std::begin(b.bytes), std::end(b.bytes),
                       [](unsigned char c) { return c == 0; });
  };
  Binary http = binary(o.listen.host);
  Binary https = binary(o.tls_listen->host);
  std::string tls_text = format_listen_address(*o.tls_listen);
  if (http.family == https.family &&
      std::equal(std::begin(http.bytes), std::end(http.bytes), https.bytes)) {
    return "tls listen address " + tls_text + " is the same as listen";
  }
  // 0.0.0.0 covers every IPv4 address; :: (dual-stack) covers everything.
  bool overlap = (is_any(http) && (http.family == AF_INET6 || https.family == AF_INET)) ||
                 (is_any(https) && (https.family == AF_INET6 || http.family == AF_INET));
  if (!overlap) return std::nullopt;
  return "tls listen address " + tls_text + " overlaps listen (" +
         format_listen_address(o.listen) + ")";
}

// "(2 certificates, 1 key)" when the lists differ in length, or nothing.
std::optional<std::string> tls_pair_counts(const Options& o) {
  size_t certs = o.tls_certs.size();
  size_t keys = o.tls_keys.size();
  if (certs == keys) return std::nullopt;
  return "(" + std::to_string(certs) + (certs == 1 ? " certificate, " : " certificates, ") +
         std::to_string(keys) + (keys == 1 ? " key)" : " keys)");
}

// A document's cross-setting errors, each with its position, when the
// document set one of the settings involved.
struct CrossErrors {
  std::optional<std::string> head_target;
  std::optional<std::string> tls_listen;
  std::optional<std::string> tls_pairs;
};

// ---- TOML -----------------------------------------------------------------

std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

std::string expected_type(const Setting& s) {
  switch (s.kind) {
    case Kind::kListen: return "a string like \"127.0.0.1:8080\"";
    case Kind::kOptionalListen: return "a string like \"0.0.0.0:8443\" or \"off\"";
    case Kind::kPath: return "a string";
    case Kind::kPathList: return "an array of strings like [\"cert.pem\"]";
    case Kind::kChoice: return "a string (" + choice_list(s) + ")";
    case Kind::kBool: return "a boolean (true or false)";
    case Kind::kCount: return "an integer";
    case Kind::kSize: return "an integer (bytes) or a string like \"16KiB\"";
    case Kind::kDuration:
      return "an integer (seconds) or a string like \"10s\"";
  }
  return "a value";
}

std::string where(std::string_view origin, const toml::source_region& region) {
  std::string out = printable(origin, 256);
  if (region.begin.line != 0) {
    out += ":" + std::to_string(region.begin.line) + ":" +
           std::to_string(region.begin.column);
  }
  return out + ": ";
}

// Walks a parsed document over a copy of the options and keeps the error
// that comes first in the text (toml::table iterates in key order).
class ConfigReader {
 public:
  ConfigReader(std::string_view origin, Options& out)
      : origin_(origin), out_(out) {}

  void read(const toml::table& root) {
    for (const auto& [key, node] : root) {
      bool is_section = false;
      for (const Section& section : kSections) {
        is_section = is_section || key.str() == section.name;
      }
      if (!is_section) {
        unknown_root_key(key, node);
      } else if (const toml::table* table = node.as_table()) {
        read_section(key.str(), *table);
      } else {
        fail(key.source(), quote(key.str()) + " must be a table ([" +
                               std::string(key.str()) + "]), not " +
                               std::string(type_name(node.type())));
      }
    }
  }

  // The checks across settings that fail and involve a key of this document.
  // `first` gets the one that comes first in the text.
  CrossErrors cross_check(std::optional<std::string>* first) const {
    CrossErrors out;
    std::optional<Located> earliest;
    auto report = [&](std::optional<std::string>& slot, const toml::node& node,
                      std::string message) {
      Located e{node.source().begin.line, node.source().begin.column,
                where(origin_, node.source()) + message};
      if (!earliest || std::tie(e.line, e.column) <
                           std::tie(earliest->line, earliest->column)) {
        earliest = e;
      }
      slot = std::move(e.message);
    };
    if (out_.max_target_bytes > out_.max_head_bytes) {
      std::string head = format_size(out_.max_head_bytes);
      std::string target = format_size(out_.max_target_bytes);
      if (const toml::node* node = seen("http", "max_target_bytes")) {
        report(out.head_target, *node,
               "[http] max_target_bytes: " + target +
                   " is larger than max_head_bytes (" + head + ")");
      } else if (const toml::node* node = seen("http", "max_head_bytes")) {
        report(out.head_target, *node,
               "[http] max_head_bytes: " + head +
                   " is smaller than max_target_bytes (" + target +
                   "); lower max_target_bytes too");
      }
    }
    if (auto conflict = tls_listen_conflict(out_)) {
      if (const toml::node* node = seen("tls", "listen")) {
        report(out.tls_listen, *node, "[tls] listen: " + *conflict);
      } else if (const toml::node* node = seen("server", "listen")) {
        report(out.tls_listen, *node,
               "[server] listen: " + *conflict +
                   "; change [tls] listen or set it to \"off\"");
      }
    }
    if (auto counts = tls_pair_counts(out_)) {
      const toml::node* node = seen("tls", "certs");
      if (node == nullptr) node = seen("tls", "keys");
      if (node != nullptr) {
        report(out.tls_pairs, *node,
               "[tls] certs and keys must come in pairs " + *counts);
      }
    }
    if (earliest) *first = std::move(earliest->message);
    return out;
  }

  std::optional<std::string> error() const {
    if (!first_) return std::nullopt;
    return first_->message;
  }

 private:
  struct Located {
    uint32_t line;
    uint32_t column;
    std::string message;
  };

  void fail(const toml::source_region& region, std::string message) {
    Located e{region.begin.line, region.begin.column,
              where(origin_, region) + message};
    if (!first_ || std::tie(e.line, e.column) <
                       std::tie(first_->line, first_->column)) {
      first_ = std::move(e);
    }
  }

  // The sections that have a key of this name: "[server] or [tls]".
  static std::string sections_with_key(std::string_view key) {
    std::string out;
    for (const Setting& s : kSettings) {
      if (s.key == key) {
        out += (out.empty() ? "[" : " or [") + std::string(s.section) + "]";
      }
    }
    return out;
  }

  void unknown_root_key(const toml::key& key, const toml::node& node) {
    if (node.is_table()) {
      fail(key.source(), "unknown section [" + printable(key.str()) +
                             "]; sections are " + section_list("and"));
      return;
    }
    std::string home = sections_with_key(key.str());
    if (!home.empty()) {
      fail(key.source(), "key " + quote(key.str()) + " belongs in " + home);
      return;
    }
    fail(key.source(), "unknown key " + quote(key.str()) + "; settings go in " +
                           section_list("or"));
  }

  void read_section(std::string_view section, const toml::table& table) {
    for (const auto& [key, node] : table) {
      const Setting* s = find_by_key(section, key.str());
      if (s == nullptr) {
        std::string message = "unknown key " + quote(key.str()) + " in [" +
                              std::string(section) + "]";
        std::string home = sections_with_key(key.str());
        if (!home.empty()) message += "; it belongs in " + home;
        fail(key.source(), message);
        continue;
      }
      seen_.push_back({s, &node});
      std::string name = "[" + std::string(section) + "] " + std::string(s->key);
      if (s->kind == Kind::kPathList && node.is_array()) {
        read_list(*s, *node.as_array(), name);
      } else if (auto problem = read_value(*s, node)) {
        fail(node.source(), name + ": " + *problem);
      }
    }
  }

  // A TOML array replaces the list (flags append instead).
  void read_list(const Setting& s, const toml::array& array,
                 const std::string& name) {
    if (array.size() > s.max) {
      fail(array.source(), name + ": at most " + std::to_string(s.max) +
                               " entries, got " + std::to_string(array.size()));
      return;
    }
    std::vector<std::string> entries;
    for (size_t i = 0; i < array.size(); ++i) {
      const toml::node& entry = *array.get(i);
      std::string label = name + ": entry " + std::to_string(i + 1) + ": ";
      const auto* str = entry.as_string();
      if (str == nullptr) {
        fail(entry.source(), label + "expected a string, got " +
                                 std::string(type_name(entry.type())));
        return;
      }
      if (auto problem = path_problem(str->get())) {
        fail(entry.source(), label + *problem);
        return;
      }
      entries.push_back(str->get());
    }
    out_.*s.list = std::move(entries);
  }

  std::optional<std::string> read_value(const Setting& s,
                                        const toml::node& node) {
    if (const auto* str = node.as_string()) {
      if (s.kind != Kind::kBool && s.kind != Kind::kCount &&
          s.kind != Kind::kPathList) {
        return apply_text(s, str->get(), out_);
      }
    } else if (const auto* integer = node.as_integer()) {
      int64_t n = integer->get();
      std::string shown = std::to_string(n);
      uint64_t scale = s.kind == Kind::kDuration ? kSecondMs : 1;
      uint64_t v = 0;
      if (s.kind == Kind::kCount || s.kind == Kind::kSize ||
          s.kind == Kind::kDuration) {
        if (n < 0 || __builtin_mul_overflow(static_cast<uint64_t>(n), scale, &v)) {
          return quote(shown) + " is out of range " + range_text(s);
        }
        return store_number(s, v, shown, out_);
      }
    } else if (const auto* boolean = node.as_boolean()) {
      if (s.kind == Kind::kBool) {
        s.set(out_, boolean->get());
        return std::nullopt;
      }
    }
    return "expected " + expected_type(s) + ", got " +
           std::string(type_name(node.type()));
  }

  // The node this document gave a setting, or nullptr.
  const toml::node* seen(std::string_view section, std::string_view key) const {
    for (const auto& [setting, node] : seen_) {
      if (setting->section == section && setting->key == key) return node;
    }
    return nullptr;
  }

  std::string_view origin_;
  Options& out_;
  std::vector<std::pair<const Setting*, const toml::node*>> seen_;
  std::optional<Located> first_;
};

// apply_config_text, with the checks across settings optionally handed back
// to the caller (parse_options runs them after the flags, which may fix them).
std::optional<OptionsError> apply_config(std::string_view text,
                                         std::string_view origin, Options& into,
                                         CrossErrors* deferred) {
  GuardedText guarded = guard_toml(text);
  toml::table root;
  try {
    root = toml::parse(guarded.text, origin);
  } catch (const toml::parse_error& e) {
    // The error toml++ found first wins, unless it is on the guard's line
    // or later: there it may be about the '\x01' the guard put in.
    const GuardHit* hit = guarded.hit ? &*guarded.hit : nullptr;
    if (hit == nullptr || e.source().begin.line < hit->line) {
      return OptionsError{OptionsError::kConfig,
                          where(origin, e.source()) +
                              printable(e.description(), 200)};
    }
  }
  if (guarded.hit) {
    toml::source_region region;
    region.begin = {guarded.hit->line, guarded.hit->column};
    return OptionsError{OptionsError::kConfig,
                        where(origin, region) + guarded.hit->message};
  }
  Options copy = into;
  ConfigReader reader(origin, copy);
  reader.read(root);
  if (auto error = reader.error()) {
    return OptionsError{OptionsError::kConfig, std::move(*error)};
  }
  std::optional<std::string> first_cross;
  CrossErrors cross = reader.cross_check(&first_cross);
  if (first_cross && deferred == nullptr) {
    return OptionsError{OptionsError::kConfig, std::move(*first_cross)};
  }
  if (deferred != nullptr) *deferred = std::move(cross);
  into = std::move(copy);
  return std::nullopt;
}

std::optional<std::string> read_file(const std::string& path,
                                     std::string& contents) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    char buf[128];
    return std::string(strerror_r(errno, buf, sizeof buf));
  }
  char chunk[4096];
  size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, file)) > 0) {
    contents.append(chunk, n);
    if (contents.size() > kMaxConfigBytes) {
      std::fclose(file);
      return "larger than " + format_size(kMaxConfigBytes);
    }
  }
  int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0) {
    char buf[128];
    return std::string(strerror_r(error, buf, sizeof buf));
  }
  return std::nullopt;
}

// ---- Flags ----------------------------------------------------------------

OptionsError usage_error(std::string message) {
  return OptionsError{OptionsError::kUsage, std::move(message) + " (see --help)"};
}

struct FlagUse {
  const Setting* setting;
  std::string_view flag;  // as the user spelled it
  std::string value;
};

struct ScannedArgs {
  bool help = false;
  bool version = false;
  bool check_config = false;
  std::optional<std::string> config_path;
  std::vector<FlagUse> uses;
  std::optional<OptionsError> error;  // the first one
};

// First pass: what each argument is, without judging values, so that --help
// wins even over a bad flag before it.
ScannedArgs scan(int argc, const char* const* argv) {
  ScannedArgs out;
  auto fail = [&out](std::string message) {
    if (!out.error) out.error = usage_error(std::move(message));
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i] != nullptr ? argv[i] : "";
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      continue;
    }
    if (arg == "-V" || arg == "--version") {
      out.version = true;
      continue;
    }
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      fail(arg.size() > 1 && arg[0] == '-' && arg != "--"
               ? "unknown flag " + quote(arg)
               : "unexpected argument " + quote(arg));
      continue;
    }
    size_t eq = arg.find('=');
    std::string_view name = arg.substr(0, eq);
    std::optional<std::string_view> inline_value;
    if (eq != std::string_view::npos) inline_value = arg.substr(eq + 1);

    if (name == "--help" || name == "--version" || name == "--check-config" ||
        name == "--no-access-log") {
      if (inline_value) {
        fail(std::string(name) + ": does not take a value");
      } else if (name == "--check-config") {
        out.check_config = true;
      } else if (name == "--no-access-log") {
        out.uses.push_back({find_by_flag("--access-log"), name, "false"});
      }
      continue;
    }
    const Setting* setting = find_by_flag(name);
    if (setting == nullptr && name != "--config") {
      fail("unknown flag " + quote(name));
      continue;
    }
    std::string value;
    if (inline_value) {
      value = std::string(*inline_value);
    } else if (setting != nullptr && setting->kind == Kind::kBool) {
      value = "true";
    } else if (i + 1 < argc && argv[i + 1] != nullptr &&
               std::string_view(argv[i + 1]).substr(0, 2) != "--") {
      value = argv[++i];
    } else {
      fail(std::string(name) + ": missing value");
      continue;
    }
    if (setting == nullptr) {
      if (value.empty()) {
        fail("--config: must not be empty");
      } else {
        out.config_path = std::move(value);
      }
    } else {
      out.uses.push_back({setting, name, std::move(value)});
    }
  }
  return out;
}

std::variant<ParsedOptions, OptionsError> parse_options_or_throw(
    int argc, const char* const* argv) {
  ScannedArgs args = scan(argc, argv);
  ParsedOptions parsed;
  if (args.help) {
    parsed.action = Action::kHelp;
    return parsed;
  }
  if (args.version) {
    parsed.action = Action::kVersion;
    return parsed;
  }
  if (args.error) return *args.error;
  if (args.check_config) parsed.action = Action::kCheckConfig;

  Options& o = parsed.options;
  CrossErrors file_cross;
  if (args.config_path) {
    std::string text;
    if (auto problem = read_file(*args.config_path, text)) {
      return OptionsError{OptionsError::kConfig,
                          "cannot read config file " +
                              quote(*args.config_path, 256) + ": " + *problem};
    }
    if (auto error = apply_config(text, *args.config_path, o, &file_cross)) {
      return *error;
    }
    o.config_path = *args.config_path;
  }

  // Any --cert or --key replaces both of the file's lists, so the pairs on
  // the command line are exactly the ones given there.
  auto is_list = [](const FlagUse& use) { return use.setting->kind == Kind::kPathList; };
  bool list_flags = std::any_of(args.uses.begin(), args.uses.end(), is_list);
  if (list_flags) {
    for (const Setting& s : kSettings) {
      if (s.kind == Kind::kPathList) (o.*s.list).clear();
    }
  }
  for (const FlagUse& use : args.uses) {
    if (auto problem = apply_text(*use.setting, use.value, o)) {
      return usage_error(std::string(use.flag) + ": " + *problem);
    }
    if (is_list(use) && (o.*use.setting->list).size() > use.setting->max) {
      return usage_error(std::string(use.flag) + ": given more than " +
                         std::to_string(use.setting->max) + " times");
    }
  }
  // The flag as last spelled for a setting, or "" when no flag set it.
  auto flag_used = [&args](std::string_view flag) {
    std::string_view spelled;
    for (const FlagUse& use : args.uses) {
      if (use.setting->flag == flag) spelled = use.flag;
    }
    return spelled;
  };
  auto file_error = [](std::optional<std::string>& message) {
    return OptionsError{OptionsError::kConfig, std::move(*message)};
  };

  if (o.max_target_bytes > o.max_head_bytes) {
    std::string head = format_size(o.max_head_bytes);
    std::string target = format_size(o.max_target_bytes);
    if (std::string_view flag = flag_used("--max-target-bytes"); !flag.empty()) {
      return usage_error(std::string(flag) + ": " + target +
                         " is larger than max-head-bytes (" + head + ")");
    }
    if (std::string_view flag = flag_used("--max-head-bytes"); !flag.empty()) {
      return usage_error(std::string(flag) + ": " + head +
                         " is smaller than max-target-bytes (" + target +
                         "); lower --max-target-bytes too");
    }
    if (file_cross.head_target) return file_error(file_cross.head_target);
  }
  if (auto conflict = tls_listen_conflict(o)) {
    if (std::string_view flag = flag_used("--tls-listen"); !flag.empty()) {
      return usage_error(std::string(flag) + ": " + *conflict);
    }
    if (std::string_view flag = flag_used("--listen"); !flag.empty()) {
      return usage_error(std::string(flag) + ": " + *conflict +
                         "; move HTTPS with --tls-listen or turn it off with "
                         "--tls-listen off");
    }
    if (file_cross.tls_listen) return file_error(file_cross.tls_listen);
  }
  if (auto counts = tls_pair_counts(o)) {
    if (list_flags) {
      return usage_error("--cert and --key must come in pairs " + *counts);
    }
    if (file_cross.tls_pairs) return file_error(file_cross.tls_pairs);
  }
  return parsed;
}

// ---- Addresses ------------------------------------------------------------

bool is_ipv4(std::string_view host) {
  int parts = 0;
  size_t pos = 0;
  while (true) {
    size_t dot = host.find('.', pos);
    std::string_view part = host.substr(pos, dot == std::string_view::npos
                                                 ? std::string_view::npos
                                                 : dot - pos);
    uint64_t v = 0;
    if (part.size() > 3 || (part.size() > 1 && part[0] == '0') ||
        parse_decimal(part, v) != NumberStatus::kOk || v > 255) {
      return false;
    }
    ++parts;
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return parts == 4;
}

bool is_ipv6(std::string_view host) {
  // inet_pton wants a C string; check the characters first so that an
  // embedded NUL cannot cut the text short.
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return false;
  for (char c : host) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
               (c >= 'A' && c <= 'F');
    if (!hex && c != ':' && c != '.') return false;
  }
  std::string copy(host);
  in6_addr addr;
  return inet_pton(AF_INET6, copy.c_str(), &addr) == 1;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

}  // namespace

// ---- Public functions -------------------------------------------------------

std::variant<ParsedOptions, OptionsError> parse_options(int argc,
                                                        const char* const* argv) {
  try {
    return parse_options_or_throw(argc, argv);
  } catch (const std::exception& e) {
    return OptionsError{OptionsError::kConfig,
                        std::string("cannot parse options: ") + e.what()};
  }
}

std::optional<OptionsError> apply_config_text(std::string_view toml_text,
                                              std::string_view origin,
                                              Options& into) {
  try {
    return apply_config(toml_text, origin, into, nullptr);
  } catch (const std::exception& e) {
    return OptionsError{OptionsError::kConfig,
                        std::string(origin) + ": " + e.what()};
  }
}

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  uint64_t port = 0;
  if (parse_decimal(text.substr(colon + 1), port) != NumberStatus::kOk ||
      port > 65535) {
    return std::nullopt;
  }
  ListenAddress out;
  out.port = static_cast<uint16_t>(port);
  if (host.empty() || host == "*") {
    out.host = "0.0.0.0";
  } else if (equals_ignoring_case(host, "localhost")) {
    out.host = "localhost";
  } else if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (!is_ipv6(host)) return std::nullopt;
    out.host = std::string(host);
  } else if (is_ipv4(host)) {
    out.host = std::string(host);
  } else {
    return std::nullopt;
  }
  return out;
}

std::string format_listen_address(const ListenAddress& address) {
  bool v6 = address.host.find(':') != std::string::npos;
  return (v6 ? "[" + address.host + "]" : address.host) + ":" +
         std::to_string(address.port);
}

std::string version_text() { return "ringshard " RINGSHARD_VERSION; }

std::string usage_text() {
  const Options defaults;
  std::string out =
      "Usage: ringshard [FLAGS]\n"
      "\n"
      "ringshard serves HTTP and HTTPS on io_uring, one shard per core.\n"
      "Settings come from built-in defaults, then the --config file, then the\n"
      "flags: a flag always wins over the file, wherever --config stands.\n"
      "Valued flags take '--flag VALUE' or '--flag=VALUE'; when a flag is\n"
      "repeated the last one wins, except --cert and --key, which add up (and\n"
      "then replace the file's lists).\n";
  // "  --flag VALUE" in a 30-column gutter, then the help and the default
  // wrapped to 80 columns.
  auto line = [&out](std::string left, std::string_view help,
                     std::string default_text) {
    constexpr size_t kGutter = 30;
    constexpr size_t kWidth = 80;
    std::string text(help);
    if (!default_text.empty()) text += " [" + default_text + "]";
    out += "  " + left;
    size_t column = 2 + left.size();
    bool first_word = true;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find(' ', pos);
      if (end == std::string::npos) end = text.size();
      std::string_view word = std::string_view(text).substr(pos, end - pos);
      size_t start = first_word ? kGutter : column + 1;
      if (column >= start || start + word.size() > kWidth) {
        out += "\n" + std::string(kGutter, ' ');
        column = kGutter;
      } else {
        out += std::string(start - column, ' ');
        column = start;
      }
      out += word;
      column += word.size();
      first_word = false;
      pos = end + 1;
    }
    out += "\n";
  };
  out += "\nGeneral:\n";
  line("-h, --help", "print this help and exit", "");
  line("-V, --version", "print the version and exit", "");
  line("    --config FILE", "read settings from a TOML file", "none");
  line("    --check-config", "check the file and flags, print the result, exit",
       "");
  std::string_view section;
  for (const Setting& s : kSettings) {
    if (s.section != section) {
      section = s.section;
      for (const Section& known : kSections) {
        if (known.name == section) out += "\n" + std::string(known.title) + ":\n";
      }
    }
    std::string left = "    " + std::string(s.flag);
    left += s.kind == Kind::kBool ? std::string(s.metavar)
                                  : " " + std::string(s.metavar);
    std::string default_text;
    switch (s.kind) {
      case Kind::kListen:
        default_text = format_listen_address(defaults.listen);
        break;
      case Kind::kOptionalListen:
        default_text = defaults.tls_listen ? format_listen_address(*defaults.tls_listen)
                                           : "off";
        break;
      case Kind::kPath:
        default_text = defaults.data_dir;
        break;
      case Kind::kPathList:
        default_text = s.when_empty;
        break;
      case Kind::kChoice:
        default_text = choice_text(s, defaults);
        break;
      case Kind::kBool:
        default_text = s.get(defaults) != 0 ? "on" : "off";
        break;
      default:
        default_text = format_value(s, s.get(defaults));
    }
    line(left, s.help, default_text);
  }
  out +=
      "\n"
      "Values:\n"
      "  HOST:PORT  IPv4 (127.0.0.1:8080), bracketed IPv6 ([::1]:8080),\n"
      "             localhost:8080, *:8080 or :8080 (all IPv4 addresses);\n"
      "             port 0 picks a free port\n"
      "  DUR        whole number with ms, s, m or h (250ms, 10s, 2m, 1h);\n"
      "             a bare number is seconds; 1ms..24h (drain: 0s..24h;\n"
      "             TLS handshake: 1ms..1h; ticket rotation: 0 or 1s..168h)\n"
      "  SIZE       bytes, or a whole number with k/K/KiB, m/M/MiB, g/G/GiB\n"
      "             (powers of 1024: 16k = 16384)\n"
      "  N          decimal digits\n"
      "  BOOL       true or false\n"
      "\n"
      "Exit codes:\n"
      "  0   success (also after a graceful drain)\n"
      "  64  bad command line (unknown flag, missing or bad value)\n"
      "  78  bad config file (unreadable, not TOML, unknown key, bad value)\n"
      "\n"
      "Signals:\n"
      "  SIGTERM, SIGINT  stop accepting, finish in-flight requests, close\n"
      "                   connections cleanly, exit within --drain-timeout;\n"
      "                   a second signal exits at once\n"
      "  SIGHUP           reload the TLS certificates and keys; on an error\n"
      "                   the old ones stay in use\n"
      "\n"
      "See docs/configuration.md for the TOML keys.\n";
  return out;
}

std::string effective_config_text(const Options& options) {
  auto toml_string = [](std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
      auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (u < 0x20 || u == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", u);
        out += buf;
      } else {
        out += c;
      }
    }
    return out + "\"";
  };
  std::string out = "# ringshard effective configuration\n";
  std::string_view section;
  for (const Setting& s : kSettings) {
    if (s.section != section) {
      if (!section.empty()) out += "\n";
      section = s.section;
      out += "[" + std::string(section) + "]\n";
    }
    out += std::string(s.key) + " = ";
    switch (s.kind) {
      case Kind::kListen:
        out += toml_string(format_listen_address(options.listen));
        break;
      case Kind::kOptionalListen:
        out += toml_string(options.tls_listen
                               ? format_listen_address(*options.tls_listen)
                               : "off");
        break;
      case Kind::kPath:
        out += toml_string(options.data_dir);
        break;
      case Kind::kPathList: {
        out += "[";
        const std::vector<std::string>& entries = options.*s.list;
        for (size_t i = 0; i < entries.size(); ++i) {
          out += (i == 0 ? "" : ", ") + toml_string(entries[i]);
        }
        out += "]";
        break;
      }
      case Kind::kChoice:
        out += toml_string(choice_text(s, options));
        break;
      case Kind::kBool:
      case Kind::kCount:
        out += format_value(s, s.get(options));
        break;
      case Kind::kSize:
      case Kind::kDuration:
        out += toml_string(format_value(s, s.get(options)));
        break;
    }
    out += "\n";
  }
  return out;
}

}  // namespace ringshard::server
