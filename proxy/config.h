// proxy/config.h: what the reverse proxy is told: upstream groups (backends
// and how to reach, balance, check and protect them) and the routes that
// forward to them. Plain values, filled by the server's options
// (server/options.h: [[upstream]], [[route]], --upstream, --route; user
// documentation in docs/configuration.md) or by an embedding program.
//
// Every default below is the documented default. Durations are
// milliseconds; a limit of 0 means "no limit" where the comment says so.
//
//   proxy::UpstreamGroup api;
//   api.name = "api";
//   api.backends.push_back({.address = "10.0.0.7:8080", .weight = 2});
//   proxy::ProxyRoute route{.prefix = "/api/", .upstream = "api"};
//   if (auto e = proxy::validate_proxy_config({&api, 1}, {&route, 1})) fail(e->text());
//
// Control plane only: the validators and parsers allocate their messages
// and never throw (beyond std::bad_alloc). Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringshard::proxy {

inline constexpr uint32_t kMaxWeight = 1000;
inline constexpr size_t kMaxBackends = 256;       // per group
inline constexpr size_t kMaxUpstreams = 256;
inline constexpr size_t kMaxRoutes = 1024;
inline constexpr uint64_t kMaxDurationMs = 24ull * 3600 * 1000;

enum class BalancePolicy : uint8_t {
  kRoundRobin,    // "round_robin": smooth weighted round robin (nginx's)
  kLeastRequest,  // "least_request": power of two random choices, active/weight
  kMaglev,        // "maglev": consistent hashing on hash_key (Maglev table)
};
std::string_view balance_policy_name(BalancePolicy p);
std::optional<BalancePolicy> parse_balance_policy(std::string_view text);

// What a consistent-hash policy hashes: the client's IP address, a request
// header's value, or a cookie's value. A request without the header or
// cookie hashes its client IP instead.
struct HashKey {
  enum class Source : uint8_t { kClientIp, kHeader, kCookie };
  Source source = Source::kClientIp;
  std::string name;  // header or cookie name; empty for kClientIp

  friend bool operator==(const HashKey&, const HashKey&) = default;
};
// "ip", "header:NAME" (a header field name token), "cookie:NAME".
std::optional<std::string> parse_hash_key(std::string_view text, HashKey& out);
std::string format_hash_key(const HashKey& key);

struct Backend {
  // "host:port" or "[v6]:port"; the host may be a DNS name (resolved by
  // client/resolver.h, so a backend may move).
  std::string address;
  uint32_t weight = 1;      // 1..kMaxWeight
  std::string server_name;  // TLS SNI and verified name for this backend ("": the group's)

  friend bool operator==(const Backend&, const Backend&) = default;
};
// "HOST:PORT", optionally followed by space-separated attributes:
// "10.0.0.1:8080 weight=5 server_name=api.internal".
std::optional<std::string> parse_backend(std::string_view text, Backend& out);
// The inverse: attributes only where they differ from the defaults.
std::string format_backend(const Backend& b);
// Splits "host:port" / "[v6]:port" (brackets removed). False if malformed:
// empty host, a port that is not 1..65535, a bad character in the host.
bool split_host_port(std::string_view address, std::string_view& host, uint16_t& port);

struct UpstreamTls {
  bool enabled = false;     // speak HTTPS to the backends
  bool verify = true;       // verify the certificate chain and name
  std::string ca_file;      // "": the system's trust store
  std::string server_name;  // "": each backend's host (unless an IP literal)
  // Public key pins, "sha256/BASE64" of the SubjectPublicKeyInfo (44
  // base64 characters with padding); when any is given, one must match.
  std::vector<std::string> pins;

  friend bool operator==(const UpstreamTls&, const UpstreamTls&) = default;
};

// Per shard: each shard keeps its own pool per backend.
struct PoolConfig {
  uint32_t max_connections = 256;   // open to one backend, per shard (1..100000)
  uint32_t max_idle = 64;           // kept idle per backend, per shard (0..max_connections)
  uint32_t idle_timeout_ms = 4'000; // an idle connection closes after this (below typical
                                    // backend keep-alive timeouts of 5 s: we close first)
  uint32_t wait_timeout_ms = 1'000; // a request waits this long for a connection, then 503
  uint32_t max_waiting = 1'024;     // requests queued for a connection, per shard (0: none wait)

  friend bool operator==(const PoolConfig&, const PoolConfig&) = default;
};

struct TimeoutConfig {
  uint32_t connect_ms = 2'000;      // TCP (and TLS) connect
  uint32_t first_byte_ms = 30'000;  // request sent -> first response byte
  uint32_t idle_ms = 60'000;        // no byte either way during a body
  uint32_t request_ms = 0;          // whole exchange (0: none)

  friend bool operator==(const TimeoutConfig&, const TimeoutConfig&) = default;
};

// Retries of idempotent requests (and of any request that never reached the
// backend: a refused connect), on another backend when there is one.
struct RetryConfig {
  uint32_t attempts = 2;          // tries in all, the first included (1: no retry; 1..10)
  uint32_t base_ms = 25;          // backoff: random in [0, min(cap, base * 2^n)] (full jitter)
  uint32_t cap_ms = 250;
  uint32_t budget_percent = 20;   // retries at most this % of requests in flight (0..100)
  uint32_t min_retries = 3;       // ... but always allow this many concurrent retries
  std::vector<uint16_t> retry_on = {502, 503, 504};  // response statuses that are retried

  friend bool operator==(const RetryConfig&, const RetryConfig&) = default;
};

// Active health checks: off while `path` is empty.
struct HealthConfig {
  std::string path;                    // "/healthz"; must start with '/'
  uint32_t interval_ms = 5'000;        // between probes of one backend
  uint32_t timeout_ms = 1'000;         // a probe unanswered by then failed
  uint16_t expected_min = 200;         // healthy statuses: expected_min..expected_max
  uint16_t expected_max = 399;         // ("200" or "200-399" in the config)
  uint32_t unhealthy_threshold = 3;    // consecutive failures: up -> down
  uint32_t healthy_threshold = 2;      // consecutive successes: down -> up
  uint32_t jitter_ms = 500;            // each interval + random [0, jitter]
  std::string host;                    // Host header of probes ("": the backend's address)

  friend bool operator==(const HealthConfig&, const HealthConfig&) = default;
};
// "200" or "200-399" (100..599, min <= max).
std::optional<std::string> parse_status_range(std::string_view text, uint16_t& min,
                                              uint16_t& max);
std::string format_status_range(uint16_t min, uint16_t max);

// Passive outlier detection from the answers of real requests.
struct OutlierConfig {
  uint32_t consecutive_5xx = 5;               // 0: off
  uint32_t consecutive_connect_failures = 3;  // 0: off
  uint32_t base_ejection_ms = 30'000;         // ejection n lasts base * 2^(n-1) ...
  uint32_t max_ejection_ms = 300'000;         // ... at most this
  uint32_t max_ejection_percent = 50;         // of the group ejected at once (0..100)

  friend bool operator==(const OutlierConfig&, const OutlierConfig&) = default;
};

// Per backend, per shard; 0: no limit.
struct BreakerConfig {
  uint32_t max_connections = 0;  // open connections
  uint32_t max_pending = 0;      // requests waiting for a connection
  uint32_t max_requests = 0;     // requests in flight

  friend bool operator==(const BreakerConfig&, const BreakerConfig&) = default;
};

struct UpstreamGroup {
  std::string name;                 // [A-Za-z0-9_-]{1,64}, unique
  std::vector<Backend> backends;    // 1..kMaxBackends, addresses unique
  BalancePolicy balance = BalancePolicy::kRoundRobin;
  HashKey hash_key;                 // kMaglev only
  UpstreamTls tls;
  PoolConfig pool;
  TimeoutConfig timeouts;
  RetryConfig retry;
  HealthConfig health;
  OutlierConfig outlier;
  BreakerConfig breaker;
  // "http://[user:password@]host:port": the backends are reached through
  // this HTTP forward proxy (CONNECT for TLS, absolute-form otherwise;
  // client/proxy_env.h parses it); "": directly.
  std::string forward_proxy;

  friend bool operator==(const UpstreamGroup&, const UpstreamGroup&) = default;
};

// A route that forwards to an upstream group. Matching: proxy/route_table.h.
struct ProxyRoute {
  std::string prefix;                // path prefix, starts with '/'
  std::string host;                  // "" any, "api.example.com" exact, "*.example.com"
                                     // any subdomain (stored lower case)
  std::vector<std::string> methods;  // empty: any method
  std::string upstream;              // an UpstreamGroup's name
  bool strip_prefix = false;         // "/api/users" -> "/users" for prefix "/api"
  std::string replace_prefix;        // non-empty: the prefix becomes this ("/v2/")
  bool trust_forwarded = false;      // keep the client's X-Forwarded-* / Forwarded and
                                     // append; false: replace them with ours
  bool preserve_host = false;        // send the client's Host instead of the backend's
  bool websocket = false;            // forward WebSocket upgrades

  friend bool operator==(const ProxyRoute&, const ProxyRoute&) = default;
};

// What is wrong, and the key of the config it is about ("backends",
// "pool.max_idle", "upstream"), relative to the element.
struct ConfigError {
  std::string key;
  std::string message;
  std::string text() const { return key.empty() ? message : key + ": " + message; }
};

// One group or route on its own (names, syntax, ranges, consistency).
std::optional<ConfigError> validate_upstream(const UpstreamGroup& group);
std::optional<ConfigError> validate_route(const ProxyRoute& route);

// The whole: each element, unique upstream names, every route naming a
// known upstream, no two routes with the same prefix, host and methods.
// `index` gets the position of the offending element; `is_route` whether
// it is a route.
struct ProxyConfigError {
  ConfigError error;
  bool is_route = false;
  size_t index = 0;
};
std::optional<ProxyConfigError> validate_proxy_config(std::span<const UpstreamGroup> upstreams,
                                                      std::span<const ProxyRoute> routes);

// "sha256/" + 44 base64 characters decoding to 32 bytes.
bool is_valid_pin(std::string_view pin);
// The base64 SHA-256 of a valid pin, without "sha256/" (what the HTTP
// client's UpstreamTls::pins holds).
inline std::string_view pin_digest_base64(std::string_view pin) {
  return pin.starts_with("sha256/") ? pin.substr(7) : pin;
}
// [A-Za-z0-9_-]{1,64}.
bool is_valid_upstream_name(std::string_view name);

}  // namespace ringshard::proxy
