// client/upstream.h: what the HTTP client needs to know about one upstream
// (an origin server, or a forward proxy in front of it): where it is, TLS,
// pool limits, timeouts, retry policy. Plain configuration structs, filled
// by the caller (a plugin, the reverse proxy's config) and copied into the
// client's per-shard pool for that upstream (HttpClient::upstream).
//
// Pools are keyed by everything that decides which connection may carry a
// request: scheme, host, port, TLS settings (SNI, verification, CA, pins)
// and the forward proxy (upstream_key). Two option sets with the same key
// share one pool; the first one's limits, timeouts and retry policy apply.
//
// Thread: none of its own; plain values. Allocation: the strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ringshard::client {

// A forward HTTP proxy: plain upstreams are reached through it with
// absolute-form request targets (RFC 9112 section 3.2.2); TLS upstreams
// through a CONNECT tunnel (RFC 9110 section 9.3.6), TLS starting after the
// proxy's 2xx.
struct UpstreamProxy {
  std::string host;  // IP literal, "localhost" or a name for the resolver
  uint16_t port = 3128;
  // Sent as Proxy-Authorization (CONNECT, absolute-form requests) when not
  // empty: "Basic BASE64(user:password)" (client/proxy_env.h makes it).
  std::string authorization;
};

struct UpstreamTls {
  bool enabled = false;
  bool verify_peer = true;
  std::string ca_file;      // PEM roots; empty: the system's
  std::string server_name;  // SNI and the verified name; empty: the host
                            // when it is not an IP literal
  // SHA-256 SPKI pins (base64), checked by tls/ once its ClientOptions
  // carry them; part of the pool key already.
  std::vector<std::string> pins;
  bool allow_tls12 = false;
};

struct PoolOptions {
  uint32_t max_connections = 64;  // open (connecting, busy, idle) per shard
  uint32_t max_idle = 32;         // kept for reuse; more are closed
  uint32_t max_waiters = 1'024;   // requests queued at the cap; more: pool_full
  uint32_t wait_timeout_ms = 1'000;  // a queued request fails with pool_timeout
  // Below common server keep-alive timeouts (Node 5 s, nginx 75 s), so the
  // client, not the server, closes an idle connection.
  uint32_t idle_timeout_ms = 4'000;
};

struct TimeoutOptions {
  uint32_t connect_ms = 2'000;     // TCP connect, TLS handshake included
  uint32_t first_byte_ms = 30'000; // request sent -> first response byte
  uint32_t idle_body_ms = 30'000;  // between response bytes
  uint32_t total_ms = 60'000;      // the whole exchange, retries included; 0: none
};

struct RetryOptions {
  // Retries after the first attempt, for idempotent requests (GET, HEAD,
  // OPTIONS, TRACE, PUT, DELETE) or ones with an Idempotency-Key header,
  // whose body is buffered; on connect failures, resets and first-byte
  // timeouts before any response head, and on `statuses`.
  uint32_t max_retries = 2;
  uint32_t base_ms = 25;   // backoff: random(0, min(cap, base * 2^attempt))
  uint32_t cap_ms = 250;
  std::vector<uint16_t> statuses;  // e.g. {502, 503, 504}; none by default
  // Retry budget: concurrent retries <= budget_ratio * active requests, but
  // at least budget_min_concurrent.
  double budget_ratio = 0.2;
  uint32_t budget_min_concurrent = 3;
};

struct UpstreamOptions {
  std::string host;        // IP literal, "localhost" or a name for the resolver
  uint16_t port = 80;
  UpstreamTls tls;
  PoolOptions pool;
  TimeoutOptions timeouts;
  RetryOptions retry;
  std::optional<UpstreamProxy> proxy;
  uint32_t max_response_head_bytes = 64 * 1024;
  uint64_t max_response_body = 0;  // 0: no limit (streamed bodies)
};

// The pool key: scheme, host, port, TLS settings and proxy, as one string.
std::string upstream_key(const UpstreamOptions& options);

}  // namespace ringshard::client
