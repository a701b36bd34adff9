// ReverseProxy::write_metrics: the proxy's families on /metrics, each
// sample summed over the shards (a scrape reads atomics the shards write).
#include <array>
#include <functional>
#include <string>

#include "client/pool.h"
#include "proxy/proxy_shard.h"
#include "proxy/reverse_proxy.h"
#include "proxy/upstream_health.h"

namespace ringshard::proxy {
namespace {

using obs::MetricType;

constexpr std::array<std::string_view, 6> kClasses = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};

}  // namespace

void ReverseProxy::write_metrics(obs::PrometheusWriter& w) const {
  if (options_.upstreams.empty()) return;
  const unsigned shards = options_.shards;
  // Sums f(pool metrics of backend b of group g) over the shards.
  auto sum = [&](size_t g, size_t b, const std::function<uint64_t(const client::UpstreamMetrics&)>& f) {
    uint64_t total = 0;
    for (unsigned s = 0; s < shards; ++s) {
      const ProxyShard* ps = shard(s);
      if (ps == nullptr) continue;
      const client::Upstream* pool = ps->groups()[g]->backends[b].pool;
      if (pool != nullptr) total += f(pool->metrics());
    }
    return total;
  };
  auto group_sum = [&](size_t g, const std::function<uint64_t(const GroupShard&)>& f) {
    uint64_t total = 0;
    for (unsigned s = 0; s < shards; ++s) {
      if (const ProxyShard* ps = shard(s)) total += f(*ps->groups()[g]);
    }
    return total;
  };
  auto per_backend = [&](std::string_view name, MetricType type, std::string_view help,
                         const std::function<uint64_t(const client::UpstreamMetrics&)>& f) {
    w.family(name, type, help);
    for (size_t g = 0; g < options_.upstreams.size(); ++g) {
      const UpstreamGroup& group = options_.upstreams[g];
      for (size_t b = 0; b < group.backends.size(); ++b) {
        w.sample({{"upstream", group.name}, {"backend", group.backends[b].address}}, sum(g, b, f));
      }
    }
  };

  per_backend("ringshard_upstream_requests_total", MetricType::kCounter,
              "Requests sent to a backend by the HTTP client (retries are one request).",
              [](const client::UpstreamMetrics& m) { return m.requests.get(); });
  w.family("ringshard_upstream_responses_total", MetricType::kCounter,
           "Responses from a backend, by status class.");
  for (size_t g = 0; g < options_.upstreams.size(); ++g) {
    const UpstreamGroup& group = options_.upstreams[g];
    for (size_t b = 0; b < group.backends.size(); ++b) {
      for (size_t c = 0; c < kClasses.size(); ++c) {
        w.sample({{"upstream", group.name}, {"backend", group.backends[b].address},
                  {"class", kClasses[c]}},
                 sum(g, b, [c](const client::UpstreamMetrics& m) { return m.responses[c].get(); }));
      }
    }
  }
  w.family("ringshard_upstream_errors_total", MetricType::kCounter,
           "Exchanges with a backend that failed, by kind.");
  for (size_t g = 0; g < options_.upstreams.size(); ++g) {
    const UpstreamGroup& group = options_.upstreams[g];
    for (size_t b = 0; b < group.backends.size(); ++b) {
      for (size_t k = 1; k < client::kClientErrorCount; ++k) {
        const auto kind = static_cast<client::ClientError>(k);
        w.sample({{"upstream", group.name}, {"backend", group.backends[b].address},
                  {"kind", client::client_error_name(kind)}},
                 sum(g, b, [kind](const client::UpstreamMetrics& m) { return m.error_count(kind); }));
      }
    }
  }
  per_backend("ringshard_upstream_connects_total", MetricType::kCounter,
              "Connections opened to a backend (TCP, and TLS when on).",
              [](const client::UpstreamMetrics& m) { return m.connects.get(); });
  per_backend("ringshard_upstream_reuses_total", MetricType::kCounter,
              "Requests sent on an idle pooled connection.",
              [](const client::UpstreamMetrics& m) { return m.reuses.get(); });
  per_backend("ringshard_upstream_retries_total", MetricType::kCounter,
              "Requests retried after a backoff (within the retry budget).",
              [](const client::UpstreamMetrics& m) {
                return m.retries.get() + m.stale_retries.get();
              });
  per_backend("ringshard_upstream_retry_budget_exhausted_total", MetricType::kCounter,
              "Retries the retry budget refused.",
              [](const client::UpstreamMetrics& m) { return m.budget_exhausted.get(); });
  per_backend("ringshard_upstream_pool_wait_timeouts_total", MetricType::kCounter,
              "Requests that waited for a pooled connection past the wait timeout.",
              [](const client::UpstreamMetrics& m) { return m.wait_timeouts.get(); });

  w.family("ringshard_upstream_pool_connections", MetricType::kGauge,
           "Pooled connections to a backend, by state (active: carrying a request).");
  for (size_t g = 0; g < options_.upstreams.size(); ++g) {
    const UpstreamGroup& group = options_.upstreams[g];
    for (size_t b = 0; b < group.backends.size(); ++b) {
      w.sample({{"upstream", group.name}, {"backend", group.backends[b].address}, {"state", "active"}},
               sum(g, b, [](const client::UpstreamMetrics& m) { return m.active.get(); }));
      w.sample({{"upstream", group.name}, {"backend", group.backends[b].address}, {"state", "idle"}},
               sum(g, b, [](const client::UpstreamMetrics& m) { return m.idle.get(); }));
    }
  }

  w.family("ringshard_upstream_request_duration_seconds", MetricType::kHistogram,
           "Exchanges with a backend, from the request's start to the response's last byte.");
  for (size_t g = 0; g < options_.upstreams.size(); ++g) {
    const UpstreamGroup& group = options_.upstreams[g];
    for (size_t b = 0; b < group.backends.size(); ++b) {
      obs::HistogramSnapshot snap;
      for (unsigned s = 0; s < shards; ++s) {
        const ProxyShard* ps = shard(s);
        if (ps == nullptr) continue;
        if (const client::Upstream* pool = ps->groups()[g]->backends[b].pool) {
          snap.add(pool->metrics().latency);
        }
      }
      w.histogram({{"upstream", group.name}, {"backend", group.backends[b].address}}, snap);
    }
  }

  // Health state, shared by the shards (proxy/upstream_health.h).
  auto per_backend_state = [&](std::string_view name, MetricType type, std::string_view help,
                               const std::function<uint64_t(size_t g, size_t b)>& f) {
    w.family(name, type, help);
    for (size_t g = 0; g < options_.upstreams.size(); ++g) {
      const UpstreamGroup& group = options_.upstreams[g];
      for (size_t b = 0; b < group.backends.size(); ++b) {
        w.sample({{"upstream", group.name}, {"backend", group.backends[b].address}}, f(g, b));
      }
    }
  };
  const uint64_t now = options_.clock != nullptr ? options_.clock->now_ms() : 0;
  per_backend_state("ringshard_upstream_backend_up", MetricType::kGauge,
                    "1 while a backend takes requests: up by the active checks and not ejected.",
                    [&](size_t g, size_t b) { return health_[g]->available(b, now) ? 1 : 0; });
  per_backend_state("ringshard_upstream_backend_healthy", MetricType::kGauge,
                    "1 while the active health checks find a backend up (1 without checks).",
                    [&](size_t g, size_t b) { return health_[g]->healthy(b) ? 1 : 0; });
  per_backend_state("ringshard_upstream_backend_ejected", MetricType::kGauge,
                    "1 while outlier detection keeps a backend out.",
                    [&](size_t g, size_t b) { return health_[g]->ejected(b, now) ? 1 : 0; });
  per_backend_state("ringshard_upstream_ejections_total", MetricType::kCounter,
                    "Times outlier detection ejected a backend.",
                    [&](size_t g, size_t b) { return health_[g]->ejections_total(b); });

  auto per_group = [&](std::string_view name, std::string_view help,
                       const std::function<uint64_t(const GroupShard&)>& f) {
    w.family(name, MetricType::kCounter, help);
    for (size_t g = 0; g < options_.upstreams.size(); ++g) {
      w.sample({{"upstream", options_.upstreams[g].name}}, group_sum(g, f));
    }
  };
  per_group("ringshard_proxy_requests_total", "Requests forwarded to the group.",
            [](const GroupShard& g) { return g.metrics.requests.get(); });
  per_group("ringshard_proxy_no_backend_total",
            "Requests answered 503: no backend of the group was up.",
            [](const GroupShard& g) { return g.metrics.no_backend.get(); });
  per_group("ringshard_proxy_breaker_open_total",
            "Requests answered 503: every eligible backend was at its request limit.",
            [](const GroupShard& g) { return g.metrics.breaker_open.get(); });
  per_group("ringshard_proxy_failovers_total",
            "Requests moved to another backend after a connect failure.",
            [](const GroupShard& g) { return g.metrics.failovers.get(); });
  per_group("ringshard_proxy_upstream_errors_total",
            "Requests answered 502, 503 or 504 after the upstream side failed.",
            [](const GroupShard& g) { return g.metrics.upstream_errors.get(); });
  per_group("ringshard_proxy_client_aborts_total",
            "Forwarded requests whose client went away first.",
            [](const GroupShard& g) { return g.metrics.aborted.get(); });
  per_group("ringshard_proxy_websocket_upgrades_total",
            "WebSocket upgrades relayed to a backend.",
            [](const GroupShard& g) { return g.metrics.upgrades.get(); });
  // WebSocket relays (proxy/tunnel.h): per process, whatever the group.
  auto tunnels = [&](std::string_view name, std::string_view help,
                     const std::function<uint64_t(const TunnelMetrics&)>& f) {
    w.family(name, MetricType::kCounter, help);
    uint64_t total = 0;
    for (unsigned s = 0; s < shards; ++s) {
      if (ProxyShard* ps = shard(s)) total += f(ps->tunnels().metrics());
    }
    w.sample({}, total);
  };
  tunnels("ringshard_proxy_tunnels_opened_total",
          "WebSocket relays opened (client and backend joined after the 101).",
          [](const TunnelMetrics& m) { return m.opened.get(); });
  tunnels("ringshard_proxy_tunnels_closed_total", "WebSocket relays closed.",
          [](const TunnelMetrics& m) { return m.closed.get(); });
  tunnels("ringshard_proxy_tunnel_idle_closes_total",
          "WebSocket relays closed by their idle timeout.",
          [](const TunnelMetrics& m) { return m.idle_closes.get(); });
  w.family("ringshard_proxy_tunnel_bytes_total", MetricType::kCounter,
           "Bytes relayed through WebSocket relays, by direction.");
  uint64_t up = 0, down = 0;
  for (unsigned s = 0; s < shards; ++s) {
    if (ProxyShard* ps = shard(s)) {
      up += ps->tunnels().metrics().bytes_to_upstream.get();
      down += ps->tunnels().metrics().bytes_to_client.get();
    }
  }
  w.sample({{"direction", "to_upstream"}}, up);
  w.sample({{"direction", "to_client"}}, down);

  per_group("ringshard_proxy_health_checks_total", "Active health probes sent.",
            [](const GroupShard& g) { return g.probes.get(); });
  per_group("ringshard_proxy_health_check_failures_total",
            "Active health probes that failed (no answer, or an unexpected status).",
            [](const GroupShard& g) { return g.probe_failures.get(); });
}

}  // namespace ringshard::proxy
