// server/options.h: the server's configuration, from flags and an optional
// TOML file (user documentation: docs/configuration.md).
//
// The implementation is split by concern, all driven by one settings table:
// options_table.{h,cc} (the table), options_units (numbers, durations,
// sizes), options_values (checking and storing one value), options_toml
// (the TOML reader; options_toml_guard works around toml++ 3.3.0),
// options_argv.cc (the command line), options_checks (rules across
// settings), options_words (the syntax of strings: origins, header values,
// names), options_records (arrays of tables: auth credentials and rules,
// rate limits), options_help.cc (--help, --version), options_print.cc
// (--print-config) and listen_address.cc (HOST:PORT, parsed by
// engine/socket_address.h).
//
// Precedence: built-in defaults < --config FILE < command-line flags.
// Errors: a bad flag is OptionsError{kUsage} (the binary exits 64); a bad
// config file (unreadable, not TOML, unknown key, wrong type, out-of-range
// value) is OptionsError{kConfig} (exit 78). The message names the flag or
// the file:line:column and the key. --help and --version set `action`.
//
// Value syntax, for flags and TOML strings alike:
//   numbers    decimal digits only: no sign, no spaces, no "0x", no overflow.
//   durations  "<n>ms", "<n>s", "<n>m", "<n>h", or "<n>" (seconds); whole
//              numbers only ("1.5s" is rejected: write "1500ms"). In TOML
//              also a bare integer (seconds).
//   sizes      "<n>" bytes, or "<n>k"/"<n>K"/"<n>KiB", "<n>m"/"<n>M"/"<n>MiB",
//              "<n>g"/"<n>G"/"<n>GiB" (powers of 1024). In TOML also a bare
//              integer (bytes).
//   lists      flags: "a,b,c" (spaces around entries dropped; "" is empty);
//              TOML: an array of strings.
//   arrays of tables ([[auth.token]], [[auth.api_key]], [[auth.rule]],
//              [[rate_limit]], [[upstream]], [[route]]): in TOML blocks or
//              inline arrays; each flag gives one element in a compact form
//              (see the fields below). An element's nested tables
//              ([upstream.pool]) may also be written as dotted keys.
//
// Control plane only: may allocate and may throw internally, but the public
// functions return results, never throw. No global state: every function is
// safe to call from any thread.
//
// Example:
//   auto parsed = parse_options(argc, argv);
//   if (auto* err = std::get_if<OptionsError>(&parsed)) {
//     std::fprintf(stderr, "ringshard: %s\n", err->message.c_str());
//     return err->exit_code();
//   }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proxy/config.h"

namespace ringshard::server {

struct ListenAddress {
  // "0.0.0.0" (also what "*" and an empty host mean), an IPv4 dotted quad, an
  // IPv6 literal WITHOUT brackets ("::1"), or "localhost".
  std::string host = "0.0.0.0";
  uint16_t port = 8080;          // 0 = pick a free port

  friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

// One credential of [[auth.token]] (a bearer token) or [[auth.api_key]] (an
// X-API-Key value). Only the SHA-256 of the secret is configured: the server
// hashes what a client presents and compares.
struct AuthCredential {
  std::string name;                 // [A-Za-z0-9_-]{1,64}, unique in its list (for logs)
  std::string sha256_hex;           // 64 hex digits, stored lower case
  std::vector<std::string> scopes;  // what the credential may do; may be empty

  friend bool operator==(const AuthCredential&, const AuthCredential&) = default;
};

// One [[auth.rule]]: requests whose path starts with `match` (and whose
// method is in `methods`, or any method when it is empty) need a valid
// credential, one carrying `scope` unless `scope` is empty. A request that
// matches no rule needs no credential. Rules are kept in file order; which
// one wins when several match (e.g. the longest prefix) is the server's
// rule, documented in docs/configuration.md.
struct AuthRule {
  std::string match;                 // path prefix, starts with "/"
  std::vector<std::string> methods;  // HTTP method tokens; empty = all
  std::string scope;                 // "" = any valid credential

  friend bool operator==(const AuthRule&, const AuthRule&) = default;
};

// One [[rate_limit]] rule, validated with ratelimit/rate_spec.h: `key` is
// accepted by ratelimit::parse_key_spec and `rate` by ratelimit::parse_rate,
// so the server can parse both again without an error path.
struct RateLimitRule {
  std::string name;    // [A-Za-z0-9_-]{1,64}, unique among the rules
  std::string match;   // path prefix, starts with "/"
  std::string key;     // "ip", "ip/N", "ip/N/M", "header:NAME", "bearer" or "api_key"
  uint64_t burst = 0;  // 1..1,000,000,000
  std::string rate;    // "N/s", "N/m" or "N/h"

  friend bool operator==(const RateLimitRule&, const RateLimitRule&) = default;
};

// One [plugins.NAME] table: the settings of plugin NAME, which reads them
// through rs_config (include/ringshard/plugin.h). Kept as TOML text, a
// document whose only table is [plugins.NAME] (and tables under it), so
// that Options stays a plain value; the server parses it again for the
// plugin. Which plugin NAME is is known once the plugins are loaded: a
// section naming no loaded plugin is a startup error (exit 78).
struct PluginSection {
  std::string name;  // [a-z0-9_-]{1,64}
  std::string toml;

  friend bool operator==(const PluginSection&, const PluginSection&) = default;
};

struct Options {
  ListenAddress listen;                  // --listen HOST:PORT  ([server] listen)
  unsigned shards = 0;                   // --shards N, 0 = CPUs in affinity mask (0..1024)
  std::string data_dir = "./data";       // --data-dir DIR      ([server] data_dir), never empty
  std::string config_path;               // --config FILE (empty: none)
  // Timeouts, milliseconds, 1 ms..24 h.     flag                 / TOML key
  uint32_t header_timeout_ms = 10'000;   // --header-timeout DUR  / [http] header_timeout
  uint32_t body_timeout_ms = 30'000;     // --body-timeout DUR    / [http] body_timeout
  uint32_t idle_timeout_ms = 60'000;     // --idle-timeout DUR    / [http] idle_timeout
  uint32_t drain_timeout_ms = 10'000;    // --drain-timeout DUR   / [server] drain_timeout (0 = close at once)
  uint32_t drain_idle_grace_ms = 1'000;  // --drain-idle-grace DUR / [server] drain_idle_grace (1ms..1h):
                                         // during a drain an idle keep-alive connection is
                                         // closed once idle this long (never past the deadline)
  uint32_t deferred_timeout_ms = 30'000; // --deferred-timeout DUR / [http] deferred_timeout (1ms..24h):
                                         // a deferred (async) request unanswered by then gets 504
  // HTTP limits.
  uint32_t max_head_bytes = 16 * 1024;   // --max-head-bytes N    / [http] max_head_bytes (1 KiB..1 MiB)
  uint32_t max_target_bytes = 8 * 1024;  // --max-target-bytes N  / [http] max_target_bytes (64..max_head_bytes)
  uint32_t max_headers = 100;            // --max-headers N       / [http] max_headers (1..256)
  uint64_t max_body_bytes = 1 << 20;     // --max-body-bytes N    / [http] max_body_bytes (0..64 GiB)
  // Engine.
  uint32_t max_connections = 65'536;     // --max-connections N   / [engine] max_connections (per shard, 1..1,000,000)
  uint32_t send_queue_limit = 1 << 20;   // --send-queue-limit N  / [engine] send_queue_limit (bytes, 4 KiB..1 GiB)
  uint32_t recv_buffer_size = 16 * 1024; // --recv-buffer-size N  / [engine] recv_buffer_size (power of 2, 1 KiB..1 MiB)
  uint32_t recv_buffer_count = 1024;     // --recv-buffers N      / [engine] recv_buffers (power of 2, 16..32768)
  std::string access_log;                // --access-log FILE|-|off / [server] access_log:
                                         // "" = off ("off" in flags and TOML), "-" = stdout,
                                         // else a file path (opened by the server, not here)
  bool defer_accept = true;              // --defer-accept[=BOOL] / [engine] defer_accept
  uint32_t batch_wait_us = 50;           // --batch-wait-us N     / [engine] batch_wait_us (0..10,000;
                                         // 0: off): completion batching (engine/ring_wait.h)
  // TLS (HTTPS beside HTTP on the same shards).
  std::optional<ListenAddress> tls_listen = ListenAddress{"0.0.0.0", 8443};
                                         // --tls-listen HOST:PORT|off / [tls] listen ("off": no HTTPS);
                                         // may not share a nonzero port with listen on an
                                         // overlapping host (SO_REUSEPORT would split connections)
  std::vector<std::string> tls_certs;    // --cert FILE (repeatable)  / [tls] certs = [...]
  std::vector<std::string> tls_keys;     // --key FILE (repeatable)   / [tls] keys = [...]
                                         // paired in order, as many keys as certs, at most 64;
                                         // the first pair is the default certificate, the
                                         // others are chosen by SNI. None: a self-signed
                                         // development certificate in data_dir/tls. Unlike
                                         // other flags these add up, and any --cert/--key
                                         // replaces both of the file's lists. The files are
                                         // not read here; the server loads them at start.
  bool tls_allow_12 = false;             // --tls-min-version 1.2|1.3 / [tls] min_version
  uint32_t tls_ticket_rotation_ms = 3'600'000;  // --tls-ticket-rotation DUR / [tls] ticket_rotation
                                         // (0: no session tickets; else 1s..168h = 7 days)
  uint32_t tls_handshake_timeout_ms = 10'000;   // --tls-handshake-timeout DUR / [tls] handshake_timeout (1ms..1h)

  // WebSocket ([websocket]; see ws/server.h for what each one does).
  uint64_t ws_max_message_bytes = 16u << 20;  // --ws-max-message SIZE / max_message (1 KiB..1 GiB)
  uint64_t ws_max_frame_bytes = 16u << 20;    // --ws-max-frame SIZE   / max_frame (1 KiB..1 GiB)
  uint64_t ws_max_send_queue = 16u << 20;     // --ws-max-send-queue SIZE / max_send_queue (64 KiB..4 GiB)
  uint32_t ws_ping_interval_ms = 30'000;      // --ws-ping-interval DUR / ping_interval (0: no pings)
  uint32_t ws_pong_timeout_ms = 10'000;       // --ws-pong-timeout DUR  / pong_timeout
  uint32_t ws_idle_timeout_ms = 0;            // --ws-idle-timeout DUR  / idle_timeout (0: none)
  uint32_t ws_close_timeout_ms = 5'000;       // --ws-close-timeout DUR / close_timeout
  bool ws_deflate = true;                     // --ws-deflate[=BOOL]    / deflate
  uint32_t ws_deflate_window_bits = 15;       // --ws-deflate-window-bits N / deflate_window_bits (9..15)
  uint32_t ws_deflate_mem_level = 8;          // --ws-deflate-mem-level N   / deflate_mem_level (1..9)
  uint32_t ws_deflate_min_size = 64;          // --ws-deflate-min-size SIZE / deflate_min_size
  bool ws_deflate_no_context_takeover = false;  // --ws-deflate-no-context-takeover[=BOOL]

  // Admin listener ([admin]): health, metrics, and other operator endpoints.
  std::optional<ListenAddress> admin_listen = ListenAddress{"127.0.0.1", 9901};
                                         // --admin-listen HOST:PORT|off / listen; may not
                                         // share a nonzero port with listen or tls listen on
                                         // an overlapping host (as for tls listen)
  bool metrics_on_main = false;          // --metrics-on-main[=BOOL] / metrics_on_main:
                                         // also serve /metrics on the main listener

  // Logging ([log]).
  std::string log_format = "text";       // --log-format text|json / format
  std::string log_level = "info";        // --log-level debug|info|warn|error / level

  // Process-wide connection limits ([connections]); 0 = no limit.
  uint32_t max_connections_total = 0;    // --max-connections-total N / max_total (0..1e9)
  uint32_t max_connections_per_ip = 0;   // --max-connections-per-ip N / max_per_ip (0..1e9)

  bool request_id_enabled = true;        // --request-id[=BOOL]    / [request_id] enabled
  bool trace_context_enabled = true;     // --trace-context[=BOOL] / [trace_context] enabled

  // Security response headers ([security_headers]). Values are sent as
  // written; "" sends no such header. None contains CR, LF, NUL or another
  // control character but tab.
  bool security_headers_enabled = false;  // --security-headers[=BOOL] / enabled
  std::string hsts = "max-age=63072000; includeSubDomains";  // --hsts VALUE / hsts
                                          // (Strict-Transport-Security, HTTPS only)
  std::string frame_options = "DENY";     // --frame-options VALUE / frame_options (X-Frame-Options)
  std::string referrer_policy = "no-referrer";  // --referrer-policy VALUE / referrer_policy
  std::string content_security_policy;    // --content-security-policy VALUE / content_security_policy

  // CORS ([cors]).
  bool cors_enabled = false;              // --cors[=BOOL] / enabled
  std::vector<std::string> cors_allow_origins = {"*"};
                                          // --cors-allow-origin ORIGIN (repeatable; any flag
                                          // replaces the file's list) / allow_origins: "*"
                                          // (alone) or scheme://host[:port], stored lower case.
                                          // "*" with allow_credentials: the server echoes the
                                          // request's Origin instead of "*"
  std::vector<std::string> cors_allow_methods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
                                          // --cors-allow-methods LIST / allow_methods
  std::vector<std::string> cors_allow_headers = {"Content-Type", "Authorization", "X-API-Key",
                                                 "X-Request-ID", "Idempotency-Key"};
                                          // --cors-allow-headers LIST / allow_headers
  std::vector<std::string> cors_expose_headers = {
      "X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
      "RateLimit",    "RateLimit-Policy",  "Retry-After"};
                                          // --cors-expose-headers LIST / expose_headers
  bool cors_allow_credentials = false;    // --cors-allow-credentials[=BOOL] / allow_credentials
  uint32_t cors_max_age_ms = 600'000;     // --cors-max-age DUR / max_age (0s..24h; whole
                                          // seconds are sent, Access-Control-Max-Age)

  // Response compression ([compression]).
  bool compression_enabled = false;       // --compression[=BOOL] / enabled
  uint64_t compression_min_size = 1024;   // --compression-min-size SIZE / min_size (0..1GiB)
  std::vector<std::string> compression_types = {
      "text/", "application/json", "application/javascript", "application/xml",
      "image/svg+xml"};                   // --compression-types LIST / types: Content-Type
                                          // prefixes (lower case), compared case-insensitively
  uint32_t gzip_level = 6;                // --gzip-level N / gzip_level (1..9)
  bool brotli = true;                     // --brotli[=BOOL] / brotli
  uint32_t brotli_quality = 4;            // --brotli-quality N / brotli_quality (0..11)

  // Authentication ([auth], [[auth.token]], [[auth.api_key]], [[auth.rule]]).
  bool auth_enabled = false;              // --auth[=BOOL] / [auth] enabled
  std::vector<AuthCredential> auth_tokens;    // --auth-token NAME:SHA256HEX[:SCOPE,...]
  std::vector<AuthCredential> auth_api_keys;  // --auth-api-key NAME:SHA256HEX[:SCOPE,...]
  std::vector<AuthRule> auth_rules;           // --auth-rule PREFIX[:METHODS[:SCOPE]]
                                              // (each repeatable; any flag replaces the
                                              // file's list of that kind)

  // Rate limiting ([[rate_limit]], [rate_limits]).
  std::vector<RateLimitRule> rate_limits;     // --rate-limit "name=..,match=..,key=..,burst=..,rate=.."
                                              // (repeatable; any flag replaces the file's list)
  uint32_t rate_limit_table_capacity = 65'536;  // --rate-limit-table-capacity N /
                                              // [rate_limits] table_capacity (1024..2^26)

  // Plugins ([plugins]; docs/plugins.md), loaded in this order at start.
  std::vector<std::string> plugins = {"deployments"};
                                          // --plugin NAME|PATH (repeatable; the first flag
                                          // replaces the list) / [plugins] load; --no-plugins
                                          // empties it. A NAME ([a-z0-9_-]{1,64}) is a
                                          // built-in plugin, else <exe dir>/plugins/NAME.so,
                                          // else <exe dir>/../lib/ringshard/plugins/NAME.so;
                                          // a reference with a '/' is a path to a .so.
  std::vector<PluginSection> plugin_sections;  // [plugins.NAME] tables, in name order

  // Reverse proxy ([[upstream]], [[route]]; every key, its meaning and its
  // default: proxy/config.h and docs/configuration.md). Checked with
  // proxy::validate_upstream / validate_route, and every route names an
  // upstream. Unlike other repeatable flags these merge into the file's lists:
  std::vector<proxy::UpstreamGroup> upstreams;  // --upstream NAME=HOST:PORT[,HOST:PORT...]:
                                              // the backends of upstream NAME (replaced if the
                                              // file has it, else a new group with defaults)
  std::vector<proxy::ProxyRoute> proxy_routes;  // --route PREFIX=NAME: forward PREFIX to
                                              // upstream NAME (replaces the upstream of the
                                              // file's route of that prefix with no host and
                                              // no methods, else adds one)

  friend bool operator==(const Options&, const Options&) = default;
};

// kCheckConfig: --check-config or --print-config; the binary prints
// effective_config_text() (secrets redacted) and exits 0, binding nothing.
enum class Action { kRun, kHelp, kVersion, kCheckConfig };

struct OptionsError {
  enum Kind { kUsage, kConfig } kind;
  std::string message;  // one line, no trailing newline, no program name
  int exit_code() const { return kind == kUsage ? 64 : 78; }
};

struct ParsedOptions {
  Action action = Action::kRun;
  // --print-config was given (action is kCheckConfig): the caller prints
  // only the configuration. With --check-config alone it may print less.
  bool print_config = false;
  // --check-config was given: the caller also loads the plugins and runs
  // their validate() on their sections (--print-config alone does not).
  bool check_config = false;
  Options options;
};

// Parses argv (argv[0] is skipped). Loads --config FILE if given, then
// applies the flags over it, wherever --config stands among them. Durations
// accept "250ms", "10s", "2m" or a bare number of seconds. Sizes accept
// "16384", "16k"/"16KiB", "1m"/"1MiB".
// Valued flags take "--flag VALUE" or "--flag=VALUE"; a VALUE that starts
// with "--" must use the "=" form. A repeated flag: the last one wins.
// --help/-h or --version/-V anywhere wins over everything else (help first)
// and nothing else is checked or read. With --check-config or
// --print-config the file and the flags are fully validated and `action` is
// kCheckConfig. Boolean flags take "--flag", "--flag=BOOL" or "--no-flag".
// List flags (--cert, --key, --cors-allow-origin, --auth-*, --rate-limit,
// --plugin) add up; the first one replaces the file's list (--cert/--key:
// both lists). --no-plugins empties the plugin list where it stands
// (--no-plugins --plugin x loads x alone).
std::variant<ParsedOptions, OptionsError> parse_options(int argc,
                                                        const char* const* argv);

// Parses TOML text (as from a --config file) over `into`. `origin` names the
// source in error messages. Unknown keys and wrong types are errors. On
// error `into` is left unchanged; when a document has several errors, the
// one first in the text is reported. Non-ASCII characters are accepted in
// strings and comments, except right after a backslash in a multi-line basic
// string (a guard against undefined behaviour in toml++ 3.3.0).
std::optional<OptionsError> apply_config_text(std::string_view toml_text,
                                              std::string_view origin,
                                              Options& into);

// The --help text (ends with a newline).
std::string usage_text();

// The --version text, "ringshard X.Y.Z" (no newline).
std::string version_text();

enum class Redact { kSecrets, kNothing };

// The effective configuration as a TOML document with every key, every
// section and every array of tables (what --print-config and
// --check-config show). Values of the settings table's secret column are
// shown as "<redacted>" unless `redact` is kNothing. With kNothing,
// apply_config_text() on it reproduces `options` except config_path, for
// any `options` whose strings are valid UTF-8.
std::string effective_config_text(const Options& options, Redact redact = Redact::kSecrets);

// Parses "HOST:PORT", "[v6]:PORT" or ":PORT" (host 0.0.0.0). HOST is an IPv4
// dotted quad (no leading zeros), a bracketed IPv6 literal (no zone id),
// "localhost" (any case), or "*" (= 0.0.0.0). PORT is 0..65535.
std::optional<ListenAddress> parse_listen_address(std::string_view text);

// The inverse of parse_listen_address: "0.0.0.0:8080", "[::1]:443".
std::string format_listen_address(const ListenAddress& address);

}  // namespace ringshard::server
