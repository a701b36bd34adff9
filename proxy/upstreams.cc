// proxy/upstreams.cc: building the proxy's shared and per-shard state, and
// the per-request bookkeeping (the contract: proxy/upstreams.h).
#include "proxy/upstreams.h"

namespace ringshard::proxy {

std::unique_ptr<Upstreams> Upstreams::create(std::span<const UpstreamGroup> groups,
                                             std::span<const ProxyRoute> routes,
                                             std::string& error) {
  if (auto e = validate_proxy_config(groups, routes)) {
    error = std::string(e->is_route ? "[[route]] " : "[[upstream]] ") +
            std::to_string(e->index + 1) + ": " + e->error.text();
    return nullptr;
  }
  return std::unique_ptr<Upstreams>(new Upstreams(groups, routes));
}

Upstreams::Upstreams(std::span<const UpstreamGroup> groups, std::span<const ProxyRoute> routes)
    : groups_(groups.begin(), groups.end()), routes_(routes) {
  for (const UpstreamGroup& g : groups_) health_.push_back(std::make_unique<UpstreamHealth>(g));
  for (const ProxyRoute& r : routes) route_group_.push_back(find(r.upstream));
}

size_t Upstreams::find(std::string_view name) const {
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (groups_[g].name == name) return g;
  }
  return kNone;
}

std::unique_ptr<HealthChecker> Upstreams::health_checker(size_t g, uint64_t seed,
                                                         uint64_t now_ms) const {
  return std::make_unique<HealthChecker>(groups_[g].health, *health_[g], seed, now_ms);
}

ShardUpstreams::ShardUpstreams(const Upstreams& upstreams, uint64_t seed) : upstreams_(upstreams) {
  groups_.resize(upstreams.size());
  for (size_t g = 0; g < upstreams.size(); ++g) {
    const UpstreamGroup& config = upstreams.group(g);
    groups_[g].balancer = make_balancer(config, seed * 0x9e3779b97f4a7c15ull + g);
    groups_[g].metrics = std::make_unique<UpstreamMetrics>(config.backends.size());
    groups_[g].breakers.assign(config.backends.size(), CircuitBreaker(config.breaker));
  }
}

ShardUpstreams::Lease ShardUpstreams::begin(size_t g, uint64_t key_hash, uint64_t now_ms) {
  Group& group = groups_[g];
  const UpstreamHealth& health = upstreams_.health(g);
  auto eligible = [&](size_t b) {
    return health.available(b, now_ms) && !group.breakers[b].open(CircuitBreaker::kRequest);
  };
  size_t b = group.balancer->pick(key_hash, eligible);
  if (b == kNone || !group.breakers[b].try_acquire(CircuitBreaker::kRequest)) {
    group.metrics->unavailable.add();
    return Lease{g, kNone};
  }
  group.balancer->on_start(b);
  group.metrics->backend(b).requests.add();
  return Lease{g, b};
}

void ShardUpstreams::release(const Lease& lease, Outcome outcome, uint64_t now_ms) {
  Group& group = groups_[lease.group];
  group.breakers[lease.backend].release(CircuitBreaker::kRequest);
  group.balancer->on_finish(lease.backend);
  upstreams_.health(lease.group).on_result(lease.backend, outcome, now_ms);
}

void ShardUpstreams::end(const Lease& lease, uint16_t status, Outcome outcome,
                         uint64_t latency_ns, uint64_t now_ms) {
  if (!lease.ok()) return;
  BackendMetrics& m = groups_[lease.group].metrics->backend(lease.backend);
  m.response(status);
  if (latency_ns != 0) m.latency.observe_ns(latency_ns);
  release(lease, outcome, now_ms);
}

void ShardUpstreams::end_with_error(const Lease& lease, ProxyError error, Outcome outcome,
                                    uint64_t now_ms) {
  if (!lease.ok()) return;
  groups_[lease.group].metrics->backend(lease.backend).error(error);
  release(lease, outcome, now_ms);
}

}  // namespace ringshard::proxy
