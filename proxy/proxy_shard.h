// proxy/proxy_shard.h: the reverse proxy's state on one shard, and the
// forwarding of one request (Forward). Internal to proxy/: the server sees
// proxy/reverse_proxy.h.
//
// Per group: the balancer, per backend the client pool (client::Upstream),
// its circuit breaker and request counts. Per request: a Forward, taken
// from a free list, that is at once the client exchange's ResponseSink and
// the owner of the server side's deferred answer, body reader and response
// writer; it joins the two sides' backpressure and ends exactly once.
//
// Thread: the shard's only (metrics counters are atomics: any reader).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/http_client.h"
#include "client/resolver.h"
#include "engine/metrics.h"
#include "engine/shard.h"
#include "engine/timer_wheel.h"
#include "http/response_head.h"
#include "http/server.h"
#include "proxy/balancer.h"
#include "proxy/config.h"
#include "proxy/health_check.h"
#include "proxy/tunnel.h"
#include "proxy/upstream_health.h"

namespace ringshard::proxy {

class ReverseProxy;
class ProxyShard;

// Why a forwarded request failed, for the metrics (beside the client's
// error kinds, which the pools count).
struct ProxyMetrics {
  engine::Counter requests;          // forwarded requests (a backend was picked)
  engine::Counter no_backend;        // 503: no eligible backend
  engine::Counter breaker_open;      // 503: every eligible backend's breaker is full
  engine::Counter failovers;         // a request moved to another backend after a connect failure
  engine::Counter upstream_errors;   // answered 502/503/504 after a client error
  engine::Counter aborted;           // the client went away mid-request
  engine::Counter upgrades;          // WebSocket upgrades relayed
};

struct BackendShard {
  client::Upstream* pool = nullptr;  // null: its options were refused (logged)
  std::unique_ptr<CircuitBreaker> breaker;
};

struct GroupShard {
  const UpstreamGroup* config = nullptr;
  size_t index = 0;
  UpstreamHealth* health = nullptr;
  std::unique_ptr<Balancer> balancer;
  std::vector<BackendShard> backends;
  ProxyMetrics metrics;
  // Active checks (shard 0 only): the state machine, the timer that polls
  // it, and the probe pools.
  std::unique_ptr<HealthChecker> checker;
  engine::TimerEntry check_timer;
  ProxyShard* owner = nullptr;
  std::vector<std::unique_ptr<client::ResponseSink>> probes_by_backend;
  engine::Counter probes, probe_failures;
};

class Forward;

class ProxyShard {
 public:
  ProxyShard(ReverseProxy& proxy, engine::Shard& shard);
  ~ProxyShard();
  ProxyShard(const ProxyShard&) = delete;
  ProxyShard& operator=(const ProxyShard&) = delete;

  // The route handler: forwards the request of `route` (an index into the
  // proxy's routes).
  void handle(size_t route, http::ServerRequest& req, http::Response& res);
  void drain();

  engine::Shard& shard() const { return shard_; }
  ReverseProxy& proxy() const { return proxy_; }
  client::HttpClient& client() { return *client_; }
  TunnelHandler& tunnels() { return tunnels_; }
  const std::vector<std::unique_ptr<GroupShard>>& groups() const { return groups_; }
  uint64_t now_ms() const { return shard_.now_ms(); }
  void log_warn(std::string_view message) const;
  bool logging() const;
  // Arms the group's check timer for its next due probe (shard 0).
  void schedule_checks(GroupShard& g);

  // Scratch for the response fields a Forward passes to the client (one
  // response head at a time is being written on a shard).
  std::vector<http::HeaderField>& field_scratch() { return fields_; }
  std::vector<std::pair<std::string_view, std::string_view>>& header_scratch() {
    return headers_;
  }
  std::string& via_scratch() { return via_; }

  // Forward's life: the free list.
  Forward* acquire_forward();
  void release_forward(Forward* f);

  // Picks a backend of `g` for a request, skipping `exclude` (a failed
  // one; kNone: none); kNone when none is eligible. `breaker_full` tells
  // whether eligible backends were passed over for their breakers only.
  size_t pick(GroupShard& g, uint64_t key_hash, size_t exclude, bool& breaker_full);

 private:
  void start_checks(GroupShard& g);
  void probe(GroupShard& g, size_t backend);
  static void check_timer_fired(engine::TimerEntry& e);

  ReverseProxy& proxy_;
  engine::Shard& shard_;
  std::unique_ptr<client::ShardResolver> resolver_;
  std::unique_ptr<client::HttpClient> client_;
  TunnelHandler tunnels_;
  std::vector<std::unique_ptr<GroupShard>> groups_;
  std::vector<Forward*> free_;
  std::vector<std::unique_ptr<Forward>> all_;
  bool draining_ = false;
  std::vector<http::HeaderField> fields_ = std::vector<http::HeaderField>(http::kMaxHeadersCeiling);
  std::vector<std::pair<std::string_view, std::string_view>> headers_;
  std::string via_;
};

}  // namespace ringshard::proxy
