// proxy/reverse_proxy.h: the reverse proxy / load balancer. Routes of the
// server forward requests (and WebSocket upgrades) to groups of backends
// through the pooled HTTP client (client/http_client.h).
//
// What one forwarded request does, on the shard that accepted it:
//   1. the route (proxy/route_table.h: prefix, host, methods) names a group;
//   2. the group's balancer (proxy/balancer.h) picks a backend among those
//      that are up (active checks), not ejected (outlier detection) and
//      whose circuit breaker is closed; none: 503;
//   3. the request head is rewritten (proxy/forward_headers.h: hop-by-hop
//      fields out, X-Forwarded-*, Forwarded, Via, request id, traceparent,
//      path rewrite) and sent through the shard's pool for that backend;
//      the request body is streamed as it arrives (http RequestBodyReader),
//      paused while the upstream cannot take more;
//   4. the response head is passed on (hop-by-hop fields out, Via) and the
//      body streamed back (http ResponseWriter), the upstream read paused
//      while the client is slow. Memory per request stays a few buffers.
//   5. failures: 502 (connect refused, reset, garbage), 504 (timeouts),
//      503 (no backend, pool or breaker full), each with the standard error
//      body; the backend and the reason go to the log, never to the client.
//      A request that never reached a backend (connect failed) is tried on
//      another backend when the group has one; the client retries
//      idempotent requests per the group's retry policy and budget.
//   6. a WebSocket upgrade (route `websocket = true`) is forwarded; after
//      the backend's 101 both connections are joined by a byte relay
//      (proxy/tunnel.h).
//
// Per shard: an HttpClient, a resolver cache, a balancer and breaker per
// group, a tunnel handler. Shared by all shards: each group's health
// (proxy/upstream_health.h; atomics), the route table and configuration.
// The active health checks of all groups run on shard 0.
//
//   auto rp = proxy::ReverseProxy::create(options, error);   // control plane
//   rp->register_routes(router);                              // before start
//   // each shard, on its thread: rp->shard_started(shard) ... shard_stopped
//
// Thread: create/register_routes on the main thread before the engine
// starts; shard_* on each shard's thread; write_metrics from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/resolver.h"
#include "engine/clock.h"
#include "engine/shard.h"
#include "http/router.h"
#include "obs/log.h"
#include "obs/prometheus.h"
#include "proxy/config.h"

namespace ringshard::proxy {

class ProxyShard;
class RouteTable;
class UpstreamHealth;

struct ReverseProxyOptions {
  std::vector<UpstreamGroup> upstreams;
  std::vector<ProxyRoute> routes;
  unsigned shards = 1;
  // The engine's clock (the health state's time base); any thread reads it.
  const engine::Clock* clock = nullptr;
  // Name resolution for backend host names (IP literals and "localhost"
  // need none). Null: made by create() with the system configuration.
  client::Resolver* resolver = nullptr;
  const obs::Logger* log = nullptr;  // null: no log lines
  std::string via = "ringshard";     // the Via pseudonym
  // Request bodies through the proxy: limit (0: none). Bodies are streamed,
  // so this bounds a transfer, not memory.
  uint64_t max_body_bytes = 0;
  // Idle timeout of a WebSocket relayed through the proxy.
  uint32_t tunnel_idle_timeout_ms = 600'000;
};

class ReverseProxy {
 public:
  // Null with `error` when the configuration is invalid (validated again
  // here for embedders) or the resolver cannot start.
  static std::unique_ptr<ReverseProxy> create(ReverseProxyOptions options, std::string& error);
  ~ReverseProxy();
  ReverseProxy(const ReverseProxy&) = delete;
  ReverseProxy& operator=(const ReverseProxy&) = delete;

  // One prefix route per distinct route prefix (http/router.h add_prefix);
  // the route table decides host and method among the routes sharing it.
  void register_routes(http::Router& router);

  void shard_started(engine::Shard& shard);
  void shard_draining(engine::Shard& shard);
  void shard_stopped(engine::Shard& shard);

  // Per upstream and backend: requests, errors by kind, latency, pool
  // sizes, connects, reuses, retries, ejections, health state.
  void write_metrics(obs::PrometheusWriter& w) const;

  const ReverseProxyOptions& options() const { return options_; }
  size_t group_count() const { return options_.upstreams.size(); }
  const UpstreamHealth& health(size_t group) const { return *health_[group]; }
  // Shard i's state (tests: through the shard's mailbox only).
  ProxyShard* shard(unsigned i) const;

 private:
  friend class ProxyShard;
  explicit ReverseProxy(ReverseProxyOptions options);

  ReverseProxyOptions options_;
  std::unique_ptr<client::Resolver> owned_resolver_;
  client::Resolver* resolver_ = nullptr;
  std::vector<std::unique_ptr<UpstreamHealth>> health_;
  std::vector<size_t> route_group_;  // per route: its group's index
  std::unique_ptr<RouteTable> table_;
  // Each written by its own shard (start, exit), read by scrapes.
  std::unique_ptr<std::atomic<ProxyShard*>[]> shards_;
};

}  // namespace ringshard::proxy
