// proxy/metrics.cc: rendering the proxy's metrics (the families:
// proxy/metrics.h).
#include "proxy/metrics.h"

namespace ringshard::proxy {
namespace {

using obs::MetricType;
using obs::PrometheusWriter;

constexpr std::string_view kClasses[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

// Sums a per-backend value over the shards of a group.
template <typename F>
uint64_t sum(const UpstreamScrape& u, size_t backend, F&& get) {
  uint64_t total = 0;
  for (const UpstreamMetrics* m : u.shards) {
    if (m != nullptr && backend < m->size()) total += get(m->backend(backend));
  }
  return total;
}

// One sample per backend of every group.
template <typename F>
void per_backend(PrometheusWriter& w, std::span<const UpstreamScrape> ups, std::string_view name,
                 MetricType type, std::string_view help, F&& value) {
  w.family(name, type, help);
  for (const UpstreamScrape& u : ups) {
    for (size_t b = 0; b < u.group->backends.size(); ++b) {
      w.sample({{"upstream", u.group->name}, {"backend", u.group->backends[b].address}},
               value(u, b));
    }
  }
}

}  // namespace

std::string_view proxy_error_name(ProxyError e) {
  switch (e) {
    case ProxyError::kConnect: return "connect";
    case ProxyError::kTls: return "tls";
    case ProxyError::kTimeout: return "timeout";
    case ProxyError::kReset: return "reset";
    case ProxyError::kProtocol: return "protocol";
    case ProxyError::kPoolTimeout: return "pool_timeout";
    case ProxyError::kBreakerOpen: return "breaker_open";
    case ProxyError::kCount: break;
  }
  return "unknown";
}

bool write_proxy_metrics(PrometheusWriter& w, std::span<const UpstreamScrape> ups,
                         uint64_t now_ms) {
  per_backend(w, ups, "ringshard_upstream_requests_total", MetricType::kCounter,
              "requests sent to a backend of an upstream group",
              [](const UpstreamScrape& u, size_t b) {
                return sum(u, b, [](const BackendMetrics& m) { return m.requests.get(); });
              });

  w.family("ringshard_upstream_responses_total", MetricType::kCounter,
           "responses from a backend, by status class");
  for (const UpstreamScrape& u : ups) {
    for (size_t b = 0; b < u.group->backends.size(); ++b) {
      for (size_t c = 0; c < 5; ++c) {
        uint64_t n = sum(u, b, [c](const BackendMetrics& m) { return m.responses[c].get(); });
        if (n == 0) continue;
        w.sample({{"upstream", u.group->name},
                  {"backend", u.group->backends[b].address},
                  {"class", kClasses[c]}},
                 n);
      }
    }
  }

  w.family("ringshard_upstream_errors_total", MetricType::kCounter,
           "requests to a backend that got no response, by kind");
  for (const UpstreamScrape& u : ups) {
    for (size_t b = 0; b < u.group->backends.size(); ++b) {
      for (size_t k = 0; k < static_cast<size_t>(ProxyError::kCount); ++k) {
        uint64_t n = sum(u, b, [k](const BackendMetrics& m) { return m.errors[k].get(); });
        if (n == 0) continue;
        w.sample({{"upstream", u.group->name},
                  {"backend", u.group->backends[b].address},
                  {"kind", proxy_error_name(static_cast<ProxyError>(k))}},
                 n);
      }
    }
  }

  w.family("ringshard_upstream_request_duration_seconds", MetricType::kHistogram,
           "time from a request sent to a backend to its response received");
  for (const UpstreamScrape& u : ups) {
    for (size_t b = 0; b < u.group->backends.size(); ++b) {
      obs::HistogramSnapshot snap;
      for (const UpstreamMetrics* m : u.shards) {
        if (m != nullptr && b < m->size()) snap.add(m->backend(b).latency);
      }
      if (snap.count() == 0) continue;
      w.histogram({{"upstream", u.group->name}, {"backend", u.group->backends[b].address}}, snap);
    }
  }

  w.family("ringshard_upstream_connections", MetricType::kGauge,
           "pooled connections to a backend, all shards, by state");
  for (const UpstreamScrape& u : ups) {
    for (size_t b = 0; b < u.group->backends.size(); ++b) {
      const std::string_view name = u.group->name;
      const std::string_view addr = u.group->backends[b].address;
      w.sample({{"upstream", name}, {"backend", addr}, {"state", "active"}},
               sum(u, b, [](const BackendMetrics& m) { return m.active_connections.get(); }));
      w.sample({{"upstream", name}, {"backend", addr}, {"state", "idle"}},
               sum(u, b, [](const BackendMetrics& m) { return m.idle_connections.get(); }));
    }
  }

  per_backend(w, ups, "ringshard_upstream_connects_total", MetricType::kCounter,
              "connections opened to a backend", [](const UpstreamScrape& u, size_t b) {
                return sum(u, b, [](const BackendMetrics& m) { return m.connects.get(); });
              });
  per_backend(w, ups, "ringshard_upstream_connection_reuses_total", MetricType::kCounter,
              "requests sent on a pooled (reused) connection",
              [](const UpstreamScrape& u, size_t b) {
                return sum(u, b, [](const BackendMetrics& m) { return m.reuses.get(); });
              });

  w.family("ringshard_upstream_retries_total", MetricType::kCounter,
           "requests tried again after a failure");
  for (const UpstreamScrape& u : ups) {
    uint64_t n = 0;
    for (const UpstreamMetrics* m : u.shards) n += m != nullptr ? m->retries.get() : 0;
    w.sample({{"upstream", u.group->name}}, n);
  }
  w.family("ringshard_upstream_unavailable_total", MetricType::kCounter,
           "requests answered 503 because no backend of the group was eligible");
  for (const UpstreamScrape& u : ups) {
    uint64_t n = 0;
    for (const UpstreamMetrics* m : u.shards) n += m != nullptr ? m->unavailable.get() : 0;
    w.sample({{"upstream", u.group->name}}, n);
  }

  per_backend(w, ups, "ringshard_upstream_ejections_total", MetricType::kCounter,
              "times outlier detection ejected a backend", [](const UpstreamScrape& u, size_t b) {
                return u.health != nullptr && b < u.health->size() ? u.health->ejections_total(b)
                                                                   : uint64_t{0};
              });
  per_backend(w, ups, "ringshard_upstream_backend_healthy", MetricType::kGauge,
              "1 while the active health checks find a backend up",
              [](const UpstreamScrape& u, size_t b) {
                return uint64_t{u.health == nullptr || b >= u.health->size() ||
                                u.health->healthy(b)};
              });
  per_backend(w, ups, "ringshard_upstream_backend_ejected", MetricType::kGauge,
              "1 while outlier detection keeps a backend out",
              [now_ms](const UpstreamScrape& u, size_t b) {
                return uint64_t{u.health != nullptr && b < u.health->size() &&
                                u.health->ejected(b, now_ms)};
              });
  return w.ok();
}

}  // namespace ringshard::proxy
