// server/options_table.cc: the settings table and the lookups over it.
//
// Rows are designated initializers so that a row names only what it uses;
// RINGSHARD_FIELD(name) fills get/set for a numeric, bool or choice field.
#include "server/options_table.h"

#include <type_traits>

#include "server/options_records.h"
#include "server/options_units.h"
#include "server/options_words.h"

namespace ringshard::server::options_detail {
namespace {

// Most --cert/--key pairs: one SNI lookup walks them all, and a config with
// more names than this wants a wildcard certificate instead.
constexpr uint64_t kMaxTlsPairs = 64;

// Longest list of header names, methods, origins or type prefixes: each is
// walked per request by the middleware that uses it.
constexpr uint64_t kMaxListEntries = 256;

// Most plugins in one process.
constexpr uint64_t kMaxPlugins = 64;

constexpr Choice kTlsVersions[] = {{"1.2", 1}, {"1.3", 0}};  // stored in tls_allow_12
constexpr Choice kLogFormats[] = {{"text", 0}, {"json", 0}};  // stored as text
constexpr Choice kLogLevels[] = {{"debug", 0}, {"info", 0}, {"warn", 0}, {"error", 0}};

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
     .metavar = "HOST:PORT", .kind = Kind::kListen, .address = &Options::listen,
     .help = "address to serve HTTP on"},
    {.section = "server", .key = "shards", .flag = "--shards", .metavar = "N",
     .kind = Kind::kCount, .min = 0, .max = 1024, RINGSHARD_FIELD(shards),
     .help = "reactor threads, one per core (0: one per CPU in the affinity mask)"},
    {.section = "server", .key = "data_dir", .flag = "--data-dir",
     .metavar = "DIR", .kind = Kind::kPath, .text = &Options::data_dir,
     .help = "directory for persistent state"},
    {.section = "server", .key = "drain_timeout", .flag = "--drain-timeout",
     .metavar = "DUR", .kind = Kind::kDuration, .min = 0, .max = 24 * kHourMs,
     RINGSHARD_FIELD(drain_timeout_ms),
     .help = "time to finish in-flight work after SIGTERM/SIGINT (0: close at once)"},
    {.section = "server", .key = "drain_idle_grace", .flag = "--drain-idle-grace",
     .metavar = "DUR", .kind = Kind::kDuration, .min = 1, .max = kHourMs,
     RINGSHARD_FIELD(drain_idle_grace_ms),
     .help = "during a drain, close a keep-alive connection idle this long"},
    {.section = "server", .key = "access_log", .flag = "--access-log",
     .metavar = "FILE|-|off", .kind = Kind::kText, .text = &Options::access_log,
     .when_empty = "off", .check = check_access_log,
     .help = "write JSON access log lines to FILE, or to stdout (-)"},
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
    {.section = "http", .key = "deferred_timeout", .flag = "--deferred-timeout",
     .metavar = "DUR", .kind = Kind::kDuration, .min = 1, .max = 24 * kHourMs,
     RINGSHARD_FIELD(deferred_timeout_ms),
     .help = "a deferred (async) request not answered by then gets 504"},
    {.section = "http", .key = "max_head_bytes", .flag = "--max-head-bytes",
     .metavar = "SIZE", .kind = Kind::kSize, .min = kKiB, .max = kMiB,
     RINGSHARD_FIELD(max_head_bytes),
     .help = "largest request line plus headers"},
    {.section = "http", .key = "max_target_bytes", .flag = "--max-target-bytes",
     .metavar = "SIZE", .kind = Kind::kSize, .min = 64, .max = kMiB,
     .max_text = "max_head_bytes", RINGSHARD_FIELD(max_target_bytes),
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
    {.section = "engine", .key = "batch_wait_us", .flag = "--batch-wait-us",
     .metavar = "N", .kind = Kind::kCount, .min = 0, .max = 10'000,
     RINGSHARD_FIELD(batch_wait_us),
     .help = "under load, wait up to N microseconds for a batch of completions (0: off)"},
    {.section = "tls", .key = "listen", .flag = "--tls-listen",
     .metavar = "HOST:PORT|off", .kind = Kind::kOptionalListen,
     .optional_address = &Options::tls_listen,
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
    {.section = "admin", .key = "listen", .flag = "--admin-listen",
     .metavar = "HOST:PORT|off", .kind = Kind::kOptionalListen,
     .optional_address = &Options::admin_listen,
     .help = "address of the admin endpoints (health, metrics); off: none"},
    {.section = "admin", .key = "metrics_on_main", .flag = "--metrics-on-main",
     .metavar = "[=BOOL]", .kind = Kind::kBool, RINGSHARD_FIELD(metrics_on_main),
     .help = "also serve /metrics on the main listener"},
    {.section = "log", .key = "format", .flag = "--log-format", .metavar = "text|json",
     .kind = Kind::kChoice, .text = &Options::log_format, .choices = kLogFormats,
     .help = "format of the log lines on stderr"},
    {.section = "log", .key = "level", .flag = "--log-level",
     .metavar = "debug|info|warn|error", .kind = Kind::kChoice,
     .text = &Options::log_level, .choices = kLogLevels,
     .help = "least severe log lines written"},
    {.section = "connections", .key = "max_total", .flag = "--max-connections-total",
     .metavar = "N", .kind = Kind::kCount, .min = 0, .max = 1'000'000'000,
     RINGSHARD_FIELD(max_connections_total),
     .help = "open connections in the whole process (0: no cap beyond the shards')"},
    {.section = "connections", .key = "max_per_ip", .flag = "--max-connections-per-ip",
     .metavar = "N", .kind = Kind::kCount, .min = 0, .max = 1'000'000'000,
     RINGSHARD_FIELD(max_connections_per_ip),
     .help = "open connections from one client address (0: no limit)"},
    {.section = "request_id", .key = "enabled", .flag = "--request-id",
     .metavar = "[=BOOL]", .kind = Kind::kBool, RINGSHARD_FIELD(request_id_enabled),
     .help = "give every request and response an X-Request-ID"},
    {.section = "trace_context", .key = "enabled", .flag = "--trace-context",
     .metavar = "[=BOOL]", .kind = Kind::kBool, RINGSHARD_FIELD(trace_context_enabled),
     .help = "propagate W3C trace context (traceparent, tracestate)"},
    {.section = "security_headers", .key = "enabled", .flag = "--security-headers",
     .metavar = "[=BOOL]", .kind = Kind::kBool, RINGSHARD_FIELD(security_headers_enabled),
     .help = "add the security headers below to every response"},
    {.section = "security_headers", .key = "hsts", .flag = "--hsts", .metavar = "VALUE",
     .kind = Kind::kText, .text = &Options::hsts, .check = check_header_value,
     .help = "Strict-Transport-Security on HTTPS responses (\"\": none)"},
    {.section = "security_headers", .key = "frame_options", .flag = "--frame-options",
     .metavar = "VALUE", .kind = Kind::kText, .text = &Options::frame_options,
     .check = check_header_value, .help = "X-Frame-Options (\"\": none)"},
    {.section = "security_headers", .key = "referrer_policy", .flag = "--referrer-policy",
     .metavar = "VALUE", .kind = Kind::kText, .text = &Options::referrer_policy,
     .check = check_header_value, .help = "Referrer-Policy (\"\": none)"},
    {.section = "security_headers", .key = "content_security_policy",
     .flag = "--content-security-policy", .metavar = "VALUE", .kind = Kind::kText,
     .text = &Options::content_security_policy, .check = check_header_value,
     .help = "Content-Security-Policy (\"\": none)"},
    {.section = "cors", .key = "enabled", .flag = "--cors", .metavar = "[=BOOL]",
     .kind = Kind::kBool, RINGSHARD_FIELD(cors_enabled),
     .help = "answer CORS preflights and add CORS headers"},
    {.section = "cors", .key = "allow_origins", .flag = "--cors-allow-origin",
     .metavar = "ORIGIN", .kind = Kind::kList, .max = kMaxListEntries,
     .list = &Options::cors_allow_origins, .when_empty = "no origin",
     .check = check_origin, .list_flag = ListFlag::kRepeat,
     .help = "allowed origin, * or scheme://host[:port]; repeatable"},
    {.section = "cors", .key = "allow_methods", .flag = "--cors-allow-methods",
     .metavar = "LIST", .kind = Kind::kList, .max = kMaxListEntries,
     .list = &Options::cors_allow_methods, .check = check_method,
     .list_flag = ListFlag::kSplit, .help = "methods allowed cross-origin, comma-separated"},
    {.section = "cors", .key = "allow_headers", .flag = "--cors-allow-headers",
     .metavar = "LIST", .kind = Kind::kList, .max = kMaxListEntries,
     .list = &Options::cors_allow_headers, .check = check_header_name,
     .list_flag = ListFlag::kSplit, .help = "request headers allowed cross-origin"},
    {.section = "cors", .key = "expose_headers", .flag = "--cors-expose-headers",
     .metavar = "LIST", .kind = Kind::kList, .max = kMaxListEntries,
     .list = &Options::cors_expose_headers, .check = check_header_name,
     .list_flag = ListFlag::kSplit, .help = "response headers scripts may read"},
    {.section = "cors", .key = "allow_credentials", .flag = "--cors-allow-credentials",
     .metavar = "[=BOOL]", .kind = Kind::kBool, RINGSHARD_FIELD(cors_allow_credentials),
     .help = "allow cookies and credentials (with origin *: the origin is echoed)"},
    {.section = "cors", .key = "max_age", .flag = "--cors-max-age", .metavar = "DUR",
     .kind = Kind::kDuration, .min = 0, .max = 24 * kHourMs,
     RINGSHARD_FIELD(cors_max_age_ms), .help = "how long browsers may cache a preflight"},
    {.section = "compression", .key = "enabled", .flag = "--compression",
     .metavar = "[=BOOL]", .kind = Kind::kBool, RINGSHARD_FIELD(compression_enabled),
     .help = "compress responses (gzip, or brotli when the client accepts it)"},
    {.section = "compression", .key = "min_size", .flag = "--compression-min-size",
     .metavar = "SIZE", .kind = Kind::kSize, .min = 0, .max = kGiB,
     RINGSHARD_FIELD(compression_min_size),
     .help = "smaller responses are sent uncompressed"},
    {.section = "compression", .key = "types", .flag = "--compression-types",
     .metavar = "LIST", .kind = Kind::kList, .max = kMaxListEntries,
     .list = &Options::compression_types, .check = check_type_prefix,
     .list_flag = ListFlag::kSplit,
     .help = "Content-Type prefixes to compress, comma-separated"},
    {.section = "compression", .key = "gzip_level", .flag = "--gzip-level",
     .metavar = "N", .kind = Kind::kCount, .min = 1, .max = 9,
     RINGSHARD_FIELD(gzip_level), .help = "gzip compression level"},
    {.section = "compression", .key = "brotli", .flag = "--brotli", .metavar = "[=BOOL]",
     .kind = Kind::kBool, RINGSHARD_FIELD(brotli),
     .help = "prefer brotli when the client accepts br"},
    {.section = "compression", .key = "brotli_quality", .flag = "--brotli-quality",
     .metavar = "N", .kind = Kind::kCount, .min = 0, .max = 11,
     RINGSHARD_FIELD(brotli_quality), .help = "brotli quality"},
    {.section = "auth", .key = "enabled", .flag = "--auth", .metavar = "[=BOOL]",
     .kind = Kind::kBool, RINGSHARD_FIELD(auth_enabled),
     .help = "require credentials on the paths of the auth rules"},
    {.section = "auth.token", .flag = "--auth-token",
     .metavar = "NAME:SHA256HEX[:SCOPES]", .kind = Kind::kRecords,
     .records = &kAuthTokenRecords,
     .help = "a bearer token, by the SHA-256 of the token; repeatable"},
    {.section = "auth.api_key", .flag = "--auth-api-key",
     .metavar = "NAME:SHA256HEX[:SCOPES]", .kind = Kind::kRecords,
     .records = &kAuthApiKeyRecords,
     .help = "an X-API-Key value, by its SHA-256; repeatable"},
    {.section = "auth.rule", .flag = "--auth-rule", .metavar = "PREFIX[:METHODS[:SCOPE]]",
     .kind = Kind::kRecords, .records = &kAuthRuleRecords,
     .help = "paths (and methods: GET,POST or *) that need a credential with "
             "SCOPE (none: any); repeatable"},
    {.section = "rate_limit", .flag = "--rate-limit", .metavar = "SPEC",
     .kind = Kind::kRecords, .records = &kRateLimitRecords,
     .help = "a rule, \"name=api,match=/v1/,key=ip,burst=100,rate=10/s\"; repeatable"},
    {.section = "rate_limits", .key = "table_capacity",
     .flag = "--rate-limit-table-capacity", .metavar = "N", .kind = Kind::kCount,
     .min = 1024, .max = 1 << 26, RINGSHARD_FIELD(rate_limit_table_capacity),
     .help = "keys the rate-limit table tracks at once, all shards together"},
    // The reverse proxy: each key of an element is in proxy/config.h.
    {.section = "upstream", .flag = "--upstream", .metavar = "NAME=HOST:PORT[,...]",
     .kind = Kind::kRecords, .records = &kUpstreamRecords,
     .help = "the backends of upstream group NAME (a group of the file keeps its other "
             "settings, else one with the defaults); repeatable"},
    {.section = "route", .flag = "--route", .metavar = "PREFIX=UPSTREAM",
     .kind = Kind::kRecords, .records = &kRouteRecords,
     .help = "forward requests under PREFIX to upstream group UPSTREAM; repeatable"},
    // [plugins.NAME] tables beside `load` are each plugin's own settings
    // (Options::plugin_sections), read by options_toml.cc.
    {.section = "plugins", .key = "load", .flag = "--plugin", .metavar = "NAME|PATH",
     .kind = Kind::kList, .max = kMaxPlugins, .list = &Options::plugins, .when_empty = "none",
     .check = check_plugin_ref, .list_flag = ListFlag::kRepeat,
     .help = "a plugin to load: a name (built in, or NAME.so in the binary's plugins/ "
             "or ../lib/ringshard/plugins/) or a path to a .so; repeatable"},
};

#undef RINGSHARD_FIELD

constexpr Section kSections[] = {
    {"server", "Server"},
    {"http", "HTTP"},
    {"engine", "Engine"},
    {"tls", "TLS"},
    {"websocket", "WebSocket"},
    {"admin", "Admin"},
    {"log", "Logging"},
    {"connections", "Connection limits"},
    {"request_id", "Request IDs"},
    {"trace_context", "Trace context"},
    {"security_headers", "Security headers"},
    {"cors", "CORS"},
    {"compression", "Compression"},
    {"auth", "Authentication"},
    {"auth.token", "", Shape::kArrayOfTables},
    {"auth.api_key", "", Shape::kArrayOfTables},
    {"auth.rule", "", Shape::kArrayOfTables},
    {"rate_limit", "Rate limits", Shape::kArrayOfTables},
    {"rate_limits", ""},
    {"upstream", "Reverse proxy", Shape::kArrayOfTables},
    {"route", "", Shape::kArrayOfTables},
    {"plugins", "Plugins"},
};

}  // namespace

std::span<const Setting> settings() { return kSettings; }
std::span<const Section> sections() { return kSections; }

const Section* find_section(std::string_view name) {
  for (const Section& s : kSections) {
    if (s.name == name) return &s;
  }
  return nullptr;
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

std::string section_header(const Section& s) {
  return s.shape == Shape::kArrayOfTables ? "[[" + std::string(s.name) + "]]"
                                          : "[" + std::string(s.name) + "]";
}

std::string setting_name(const Setting& s) {
  if (s.key.empty()) return "[[" + std::string(s.section) + "]]";
  return "[" + std::string(s.section) + "] " + std::string(s.key);
}

namespace {

// "a, b or c" from {"a", "b", "c"}.
std::string join_names(const std::vector<std::string>& names, std::string_view last) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i != 0) out += i + 1 == names.size() ? " " + std::string(last) + " " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace

std::string section_list(std::string_view last) {
  std::vector<std::string> names;
  for (const Section& s : kSections) {
    if (s.name.find('.') == std::string_view::npos) names.push_back(section_header(s));
  }
  return join_names(names, last);
}

std::string sections_with_key(std::string_view key) {
  std::vector<std::string> names;
  for (const Setting& s : kSettings) {
    if (!key.empty() && s.key == key) names.push_back("[" + std::string(s.section) + "]");
  }
  return join_names(names, "or");
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
  if (s.text != nullptr) return o.*s.text;
  for (const Choice& c : s.choices) {
    if (c.value == s.get(o)) return c.text;
  }
  return "?";
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
  if (!s.max_text.empty()) {
    return format_value(s, s.min) + ".." + std::string(s.max_text);
  }
  if (s.min_nonzero != 0) {
    return format_value(s, s.min) + " or " + format_value(s, s.min_nonzero) +
           ".." + format_value(s, s.max);
  }
  return format_value(s, s.min) + ".." + format_value(s, s.max);
}

}  // namespace ringshard::server::options_detail
