// Tests for proxy/metrics.h: the Prometheus rendering sums the shards of a
// group, leaves out empty classes and kinds, and shows the shared health.
#include "proxy/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringshard::proxy {
namespace {

UpstreamGroup group() {
  UpstreamGroup g;
  g.name = "api";
  g.backends = {{.address = "10.0.0.1:80"}, {.address = "10.0.0.2:80"}};
  g.outlier.consecutive_connect_failures = 1;
  g.outlier.max_ejection_percent = 100;
  return g;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(ProxyMetrics, RendersEveryFamilySummedOverShards) {
  UpstreamGroup g = group();
  UpstreamMetrics shard0(2), shard1(2);
  shard0.backend(0).requests.add(3);
  shard1.backend(0).requests.add(2);
  shard0.backend(0).response(200);
  shard1.backend(0).response(204);
  shard1.backend(0).response(503);
  shard0.backend(1).error(ProxyError::kConnect);
  shard0.backend(0).latency.observe_ns(2'000'000);
  shard1.backend(0).active_connections.set(4);
  shard0.backend(0).idle_connections.set(1);
  shard0.backend(0).connects.add(2);
  shard1.backend(0).reuses.add(7);
  shard0.retries.add(1);
  shard1.unavailable.add(2);
  UpstreamHealth health(g);
  health.on_result(1, Outcome::kConnectFailure, 0);  // ejected
  health.set_healthy(0, false);

  const UpstreamMetrics* shards[] = {&shard0, &shard1};
  UpstreamScrape scrape{&g, shards, &health};
  std::string text;
  obs::PrometheusWriter w(text);
  ASSERT_TRUE(write_proxy_metrics(w, {&scrape, 1}, 10)) << w.error();

  const std::string a = "upstream=\"api\",backend=\"10.0.0.1:80\"";
  const std::string b = "upstream=\"api\",backend=\"10.0.0.2:80\"";
  EXPECT_TRUE(has_line(text, "ringshard_upstream_requests_total{" + a + "} 5")) << text;
  EXPECT_TRUE(has_line(text, "ringshard_upstream_requests_total{" + b + "} 0"));
  EXPECT_TRUE(has_line(text, "ringshard_upstream_responses_total{" + a + ",class=\"2xx\"} 2"));
  EXPECT_TRUE(has_line(text, "ringshard_upstream_responses_total{" + a + ",class=\"5xx\"} 1"));
  EXPECT_EQ(text.find("class=\"4xx\""), std::string::npos);
  EXPECT_TRUE(has_line(text, "ringshard_upstream_errors_total{" + b + ",kind=\"connect\"} 1"));
  EXPECT_TRUE(has_line(text, "ringshard_upstream_request_duration_seconds_count{" + a + "} 1"));
  EXPECT_TRUE(has_line(text,
                       "ringshard_upstream_request_duration_seconds_bucket{" + a +
                           ",le=\"0.0025\"} 1"));
  EXPECT_TRUE(has_line(text, "ringshard_upstream_connections{" + a + ",state=\"active\"} 4"));
  EXPECT_TRUE(has_line(text, "ringshard_upstream_connections{" + a + ",state=\"idle\"} 1"));
  EXPECT_TRUE(has_line(text, "ringshard_upstream_connects_total{" + a + "} 2"));
  EXPECT_TRUE(has_line(text, "ringshard_upstream_connection_reuses_total{" + a + "} 7"));
  EXPECT_TRUE(has_line(text, "ringshard_upstream_retries_total{upstream=\"api\"} 1"));
  EXPECT_TRUE(has_line(text, "ringshard_upstream_unavailable_total{upstream=\"api\"} 2"));
  EXPECT_TRUE(has_line(text, "ringshard_upstream_ejections_total{" + b + "} 1"));
  EXPECT_TRUE(has_line(text, "ringshard_upstream_backend_healthy{" + a + "} 0"));
  EXPECT_TRUE(has_line(text, "ringshard_upstream_backend_healthy{" + b + "} 1"));
  EXPECT_TRUE(has_line(text, "ringshard_upstream_backend_ejected{" + b + "} 1"));
  EXPECT_TRUE(has_line(text, "ringshard_upstream_backend_ejected{" + a + "} 0"));
  EXPECT_TRUE(has_line(text, "# TYPE ringshard_upstream_request_duration_seconds histogram"));
}

TEST(ProxyMetrics, SeveralGroupsShareEachFamilyOnce) {
  UpstreamGroup g1 = group();
  UpstreamGroup g2 = group();
  g2.name = "web";
  UpstreamMetrics m1(2), m2(2);
  const UpstreamMetrics* s1[] = {&m1};
  const UpstreamMetrics* s2[] = {&m2};
  UpstreamScrape scrapes[] = {{&g1, s1, nullptr}, {&g2, s2, nullptr}};
  std::string text;
  obs::PrometheusWriter w(text);
  ASSERT_TRUE(write_proxy_metrics(w, scrapes, 0)) << w.error();
  size_t first = text.find("# TYPE ringshard_upstream_requests_total counter");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(text.find("# TYPE ringshard_upstream_requests_total counter", first + 1),
            std::string::npos);
  EXPECT_TRUE(has_line(text, "ringshard_upstream_retries_total{upstream=\"web\"} 0"));
  // Without health state a backend shows healthy and not ejected.
  EXPECT_TRUE(has_line(text,
                       "ringshard_upstream_backend_healthy{upstream=\"web\",backend=\"10.0.0.1:80\"} 1"));
}

TEST(ProxyMetrics, ErrorNames) {
  EXPECT_EQ(proxy_error_name(ProxyError::kConnect), "connect");
  EXPECT_EQ(proxy_error_name(ProxyError::kPoolTimeout), "pool_timeout");
  EXPECT_EQ(proxy_error_name(ProxyError::kBreakerOpen), "breaker_open");
}

}  // namespace
}  // namespace ringshard::proxy
