// proxy/metrics.h: what the reverse proxy counts, per upstream group and
// per backend, and how a scrape renders it in the Prometheus text format.
//
// Each shard owns one UpstreamMetrics per group (beside its Balancer): its
// counters and gauges have one writer, that shard, with relaxed
// load+store like obs/counter.h, so counting costs no locked instruction.
// A scrape (any thread, e.g. the admin listener's) sums the shards of each
// group and adds the shared health state (proxy/upstream_health.h):
//
//   ringshard_upstream_requests_total{upstream,backend}          counter
//   ringshard_upstream_responses_total{upstream,backend,class}   counter: 1xx..5xx
//   ringshard_upstream_errors_total{upstream,backend,kind}       counter: see ProxyError
//   ringshard_upstream_request_duration_seconds{upstream,backend} histogram: request
//                                                                sent -> response done
//   ringshard_upstream_connections{upstream,backend,state}       gauge: active / idle
//   ringshard_upstream_connects_total{upstream,backend}          counter: new connections
//   ringshard_upstream_connection_reuses_total{upstream,backend} counter: pooled ones used
//   ringshard_upstream_retries_total{upstream}                   counter
//   ringshard_upstream_unavailable_total{upstream}               counter: no eligible
//                                                                backend (503)
//   ringshard_upstream_ejections_total{upstream,backend}         counter (shared state)
//   ringshard_upstream_backend_healthy{upstream,backend}         gauge: active checks, 0/1
//   ringshard_upstream_backend_ejected{upstream,backend}         gauge: 0/1 now
//
// Series with nothing to say (a response class or error kind never seen)
// are left out, as server/metrics_page.cc does for status codes.
//
// Allocation: UpstreamMetrics allocates its backends at construction; the
// counters never allocate; rendering appends to the caller's string.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "obs/counter.h"
#include "obs/histogram.h"
#include "obs/prometheus.h"
#include "proxy/config.h"
#include "proxy/upstream_health.h"

namespace ringshard::proxy {

// Why a request to a backend failed (the `kind` label).
enum class ProxyError : uint8_t {
  kConnect,       // "connect": refused, unreachable, connect timeout
  kTls,           // "tls": handshake or verification failed
  kTimeout,       // "timeout": first byte, idle or request timeout
  kReset,         // "reset": the connection closed or reset mid-exchange
  kProtocol,      // "protocol": a malformed response
  kPoolTimeout,   // "pool_timeout": no connection free within wait_timeout
  kBreakerOpen,   // "breaker_open": refused by the circuit breaker
  kCount
};
std::string_view proxy_error_name(ProxyError e);

// A value with one writer, read by scrapes.
struct Gauge {
  std::atomic<uint64_t> v{0};
  void set(uint64_t n) { v.store(n, std::memory_order_relaxed); }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

struct BackendMetrics {
  obs::Counter requests;
  obs::Counter responses[5];  // by class: [0] 1xx .. [4] 5xx
  obs::Counter errors[static_cast<size_t>(ProxyError::kCount)];
  obs::Histogram latency;
  Gauge active_connections;   // filled by the glue from its pool
  Gauge idle_connections;
  obs::Counter connects;
  obs::Counter reuses;

  // Shard thread only.
  void response(uint16_t status) {
    if (status >= 100 && status <= 599) responses[status / 100 - 1].add();
  }
  void error(ProxyError e) { errors[static_cast<size_t>(e)].add(); }
};

// One shard's metrics of one group.
class UpstreamMetrics {
 public:
  explicit UpstreamMetrics(size_t backends)
      : n_(backends), backends_(new BackendMetrics[backends]) {}
  size_t size() const { return n_; }
  BackendMetrics& backend(size_t i) { return backends_[i]; }
  const BackendMetrics& backend(size_t i) const { return backends_[i]; }
  obs::Counter retries;
  obs::Counter unavailable;

 private:
  size_t n_;
  std::unique_ptr<BackendMetrics[]> backends_;
};

// What a scrape needs of one group: its config (names), every shard's
// metrics of it (same backend count), and the shared health (may be null).
struct UpstreamScrape {
  const UpstreamGroup* group = nullptr;
  std::span<const UpstreamMetrics* const> shards;
  const UpstreamHealth* health = nullptr;
};

// Writes every family above for `upstreams` (each family once, all groups
// together). `now_ms` is the health clock (for "ejected now"). Returns
// writer.ok().
bool write_proxy_metrics(obs::PrometheusWriter& writer, std::span<const UpstreamScrape> upstreams,
                         uint64_t now_ms);

}  // namespace ringshard::proxy
