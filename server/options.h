// server/options.h: the server's configuration, from flags and an optional
// TOML file (DESIGN.md section 6).
//
// Precedence: built-in defaults < --config FILE < command-line flags.
// Errors: a bad flag is OptionsError{kUsage} (the binary exits 64); a bad
// config file (unreadable, not TOML, unknown key, wrong type, out-of-range
// value) is OptionsError{kConfig} (exit 78). The message names the flag or
// the file:line:column and the key. --help and --version set `action`.
//
// Control plane only: may allocate and may throw internally, but the public
// functions return results, never throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ringshard::server {

struct ListenAddress {
  std::string host = "0.0.0.0";  // IPv4 literal, IPv6 literal, or "localhost"
  uint16_t port = 8080;          // 0 = pick a free port
};

struct Options {
  ListenAddress listen;                  // --listen HOST:PORT  ([server] listen)
  unsigned shards = 0;                   // --shards N, 0 = CPUs in affinity mask
  std::string data_dir = "./data";       // --data-dir DIR
  std::string config_path;               // --config FILE (empty: none)
  // Timeouts, milliseconds.                 flag                 / TOML key
  uint32_t header_timeout_ms = 10'000;   // --header-timeout DUR  / [http] header_timeout
  uint32_t body_timeout_ms = 30'000;     // --body-timeout DUR    / [http] body_timeout
  uint32_t idle_timeout_ms = 60'000;     // --idle-timeout DUR    / [http] idle_timeout
  uint32_t drain_timeout_ms = 10'000;    // --drain-timeout DUR   / [server] drain_timeout
  // HTTP limits.
  uint32_t max_head_bytes = 16 * 1024;   // --max-head-bytes N    / [http] max_head_bytes
  uint32_t max_target_bytes = 8 * 1024;  // --max-target-bytes N  / [http] max_target_bytes
  uint32_t max_headers = 100;            // --max-headers N       / [http] max_headers (1..256)
  uint64_t max_body_bytes = 1 << 20;     // --max-body-bytes N    / [http] max_body_bytes
  // Engine.
  uint32_t max_connections = 65'536;     // --max-connections N   / [engine] max_connections (per shard)
  uint32_t send_queue_limit = 1 << 20;   // --send-queue-limit N  / [engine] send_queue_limit (bytes)
  uint32_t recv_buffer_size = 16 * 1024; // --recv-buffer-size N  / [engine] recv_buffer_size (power of 2, 1 KiB..1 MiB)
  uint32_t recv_buffer_count = 1024;     // --recv-buffers N      / [engine] recv_buffers (power of 2, 16..32768)
  bool access_log = false;               // --access-log          / [server] access_log
};

enum class Action { kRun, kHelp, kVersion, kCheckConfig };

struct OptionsError {
  enum Kind { kUsage, kConfig } kind;
  std::string message;
  int exit_code() const { return kind == kUsage ? 64 : 78; }
};

struct ParsedOptions {
  Action action = Action::kRun;
  Options options;
};

// Parses argv (argv[0] is skipped). Loads --config FILE if given, then
// applies the flags over it. Durations accept "250ms", "10s", "2m" or a bare
// number of seconds. Sizes accept "16384", "16k"/"16KiB", "1m"/"1MiB".
std::variant<ParsedOptions, OptionsError> parse_options(int argc,
                                                        const char* const* argv);

// Parses TOML text (as from a --config file) over `into`. `origin` names the
// source in error messages. Unknown keys and wrong types are errors.
std::optional<OptionsError> apply_config_text(std::string_view toml_text,
                                              std::string_view origin,
                                              Options& into);

// The --help text.
std::string usage_text();

// Parses "HOST:PORT", "[v6]:PORT" or ":PORT" (host 0.0.0.0).
std::optional<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace ringshard::server
