// proxy/upstreams.h: the proxy's state for a running server, split into
// what the process shares and what each shard owns, so the forwarding
// glue only asks "which route, which backend" and reports what happened.
//
//   Upstreams (one per process, built at startup, outlives the shards):
//     the validated groups and routes, the route table (read-only), one
//     UpstreamHealth per group (shared atomics, proxy/upstream_health.h).
//     Its active HealthCheckers are separate (health_checker()): whoever
//     runs them (one shard's timer, the glue's choice) owns them.
//   ShardUpstreams (one per shard, its thread only): per group a Balancer,
//     UpstreamMetrics and a CircuitBreaker per backend.
//
//   std::string error;
//   auto ups = proxy::Upstreams::create(options.upstreams, options.proxy_routes, error);
//   proxy::ShardUpstreams mine(*ups, shard.id());          // on each shard
//   // per request:
//   size_t route = ups->routes().match_index(req.host, req.method_text, req.path);
//   size_t g = ups->route_group(route);
//   auto lease = mine.begin(g, proxy::request_key_hash(...), now_ms);
//   if (!lease.ok()) return 503;              // none eligible, or breakers open
//   ... forward to ups->group(g).backends[lease.backend] ...
//   mine.end(lease, status_or_0, outcome, latency_ns, now_ms);
//
// Eligibility of a backend on a shard: available in the shared health
// (up and not ejected) and its breaker on this shard not open for
// requests. begin() takes the breaker's request slot and counts the
// request; end() gives it back, feeds outlier detection and the metrics.
// Allocation: at construction; begin()/end() allocate nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "proxy/balancer.h"
#include "proxy/config.h"
#include "proxy/health_check.h"
#include "proxy/metrics.h"
#include "proxy/route_table.h"
#include "proxy/upstream_health.h"

namespace ringshard::proxy {

class Upstreams {
 public:
  // Validates (validate_proxy_config) and builds; null with `error` set
  // ("[[route]] 2: upstream: ...") when the configuration is invalid.
  static std::unique_ptr<Upstreams> create(std::span<const UpstreamGroup> groups,
                                           std::span<const ProxyRoute> routes,
                                           std::string& error);

  size_t size() const { return groups_.size(); }
  const UpstreamGroup& group(size_t g) const { return groups_[g]; }
  UpstreamHealth& health(size_t g) const { return *health_[g]; }
  // The index of the group named `name`, or kNone.
  size_t find(std::string_view name) const;

  const RouteTable& routes() const { return routes_; }
  // The group a route (an index of the configured routes) forwards to.
  size_t route_group(size_t route) const { return route_group_[route]; }

  // A new active checker for group g, publishing to health(g); its owner
  // drives it (proxy/health_check.h). `seed`: e.g. the group index.
  std::unique_ptr<HealthChecker> health_checker(size_t g, uint64_t seed, uint64_t now_ms) const;

 private:
  Upstreams(std::span<const UpstreamGroup> groups, std::span<const ProxyRoute> routes);
  std::vector<UpstreamGroup> groups_;
  std::vector<std::unique_ptr<UpstreamHealth>> health_;
  RouteTable routes_;
  std::vector<size_t> route_group_;
};

class ShardUpstreams {
 public:
  // `seed` makes least_request's choices differ per shard (the shard id).
  ShardUpstreams(const Upstreams& upstreams, uint64_t seed);

  struct Lease {
    size_t group = kNone;
    size_t backend = kNone;
    bool ok() const { return backend != kNone; }
  };

  // A backend of group g for a request, with its breaker slot taken and
  // the request counted; !ok() when none is eligible (counted as
  // unavailable: answer 503).
  Lease begin(size_t g, uint64_t key_hash, uint64_t now_ms);

  // The end of a leased request: `status` the backend's answer (0: none),
  // `outcome` for outlier detection, `latency_ns` (0: not observed, as
  // after an error), `error` the kind when there was no answer.
  void end(const Lease& lease, uint16_t status, Outcome outcome, uint64_t latency_ns,
           uint64_t now_ms);
  void end_with_error(const Lease& lease, ProxyError error, Outcome outcome, uint64_t now_ms);

  Balancer& balancer(size_t g) { return *groups_[g].balancer; }
  UpstreamMetrics& metrics(size_t g) { return *groups_[g].metrics; }
  const UpstreamMetrics& metrics(size_t g) const { return *groups_[g].metrics; }
  CircuitBreaker& breaker(size_t g, size_t b) { return groups_[g].breakers[b]; }

 private:
  void release(const Lease& lease, Outcome outcome, uint64_t now_ms);

  struct Group {
    std::unique_ptr<Balancer> balancer;
    std::unique_ptr<UpstreamMetrics> metrics;
    std::vector<CircuitBreaker> breakers;
  };
  const Upstreams& upstreams_;
  std::vector<Group> groups_;
};

}  // namespace ringshard::proxy
