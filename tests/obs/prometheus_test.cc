// Tests for obs/prometheus.h: exact output of families, samples and
// histograms; number spelling; escaping of HELP and hostile label values;
// every validation rule; and promtool's own parser and linter over a
// realistic exposition.
#include "obs/prometheus.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "obs/histogram.h"
#include "obs/process_stats.h"
#include "tests/obs/promtool.h"

namespace ringshard::obs {
namespace RS_UNITY_ID {

std::string value_text(double v) {
  std::string s;
  append_prometheus_value(s, v);
  return s;
}

TEST(PrometheusValue, SpelledAsPrometheusParsesThem) {
  EXPECT_EQ(value_text(0.0), "0");
  EXPECT_EQ(value_text(12.0), "12");
  EXPECT_EQ(value_text(1e6), "1000000") << "integral doubles without exponent";
  EXPECT_EQ(value_text(-3.0), "-3");
  EXPECT_EQ(value_text(0.0005), "0.0005");
  EXPECT_EQ(value_text(2.5), "2.5");
  EXPECT_EQ(value_text(0.1), "0.1");
  EXPECT_EQ(value_text(1.0 / 3), "0.3333333333333333") << "shortest round-trip digits";
  EXPECT_EQ(std::stod(value_text(1.0 / 3)), 1.0 / 3);
  EXPECT_EQ(value_text(1e-7), "1e-07");
  EXPECT_EQ(value_text(2.5e20), "2.5e+20");
  EXPECT_EQ(value_text(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(value_text(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(value_text(std::nan("")), "NaN");
  std::string s;
  append_prometheus_value(s, UINT64_MAX);
  EXPECT_EQ(s, "18446744073709551615");
  s.clear();
  append_prometheus_value(s, int64_t{-42});
  EXPECT_EQ(s, "-42");
}

TEST(PrometheusNames, Validation) {
  EXPECT_TRUE(valid_metric_name("ringshard_http_requests_total"));
  EXPECT_TRUE(valid_metric_name("job:rate:5m"));
  EXPECT_TRUE(valid_metric_name("_x"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_FALSE(valid_metric_name("1abc"));
  EXPECT_FALSE(valid_metric_name("a-b"));
  EXPECT_FALSE(valid_metric_name("a b"));
  EXPECT_FALSE(valid_metric_name("caf\xc3\xa9"));
  EXPECT_TRUE(valid_label_name("route"));
  EXPECT_TRUE(valid_label_name("_x1"));
  EXPECT_FALSE(valid_label_name("__name__")) << "reserved prefix";
  EXPECT_FALSE(valid_label_name("a:b")) << "colons only in metric names";
  EXPECT_FALSE(valid_label_name("9a"));
  EXPECT_FALSE(valid_label_name(""));
}

TEST(PrometheusWriter, CounterFamilyWithManyLabelSets) {
  std::string out;
  PrometheusWriter w(out);
  ASSERT_TRUE(w.family("ringshard_http_requests_total", MetricType::kCounter, "Requests."));
  EXPECT_TRUE(w.sample({{"route", "/json"}, {"method", "GET"}, {"code", "200"}}, 10));
  EXPECT_TRUE(w.sample({{"route", "/json"}, {"method", "POST"}, {"code", "405"}}, uint64_t{2}));
  ASSERT_TRUE(w.family("ringshard_connections_open", MetricType::kGauge, "Open connections."));
  for (uint64_t shard = 0; shard < 2; ++shard)
    EXPECT_TRUE(w.sample({{"shard", DecimalText(shard).view()}}, shard * 5));
  ASSERT_TRUE(w.family("ringshard_up", MetricType::kUntyped, "Always 1."));
  EXPECT_TRUE(w.sample({}, 1.0));
  EXPECT_TRUE(w.ok()) << w.error();
  EXPECT_EQ(out,
            "# HELP ringshard_http_requests_total Requests.\n"
            "# TYPE ringshard_http_requests_total counter\n"
            "ringshard_http_requests_total{route=\"/json\",method=\"GET\",code=\"200\"} 10\n"
            "ringshard_http_requests_total{route=\"/json\",method=\"POST\",code=\"405\"} 2\n"
            "# HELP ringshard_connections_open Open connections.\n"
            "# TYPE ringshard_connections_open gauge\n"
            "ringshard_connections_open{shard=\"0\"} 0\n"
            "ringshard_connections_open{shard=\"1\"} 5\n"
            "# HELP ringshard_up Always 1.\n"
            "# TYPE ringshard_up untyped\n"
            "ringshard_up 1\n");
}

TEST(PrometheusWriter, LabelsFromVectorArrayAndSpan) {
  std::string out;
  PrometheusWriter w(out);
  std::vector<Label> labels{{"a", "1"}, {"b", "2"}};
  ASSERT_TRUE(w.family("g", MetricType::kGauge, "G."));
  EXPECT_TRUE(w.sample(labels, -1.5));
  const std::array<Label, 1> one{{{"c", "3"}}};
  EXPECT_TRUE(w.sample(one, 2));
  EXPECT_TRUE(w.sample(std::span<const Label>(labels).first(1), 0.25));
  EXPECT_NE(out.find("g{a=\"1\",b=\"2\"} -1.5\ng{c=\"3\"} 2\ng{a=\"1\"} 0.25\n"), std::string::npos) << out;
}

TEST(PrometheusWriter, EscapesHelpAndHostileLabelValues) {
  std::string out;
  PrometheusWriter w(out);
  ASSERT_TRUE(w.family("x_total", MetricType::kCounter, "line one\nback\\slash \"quoted\""));
  ASSERT_TRUE(w.sample({{"path", "/a\"b\\c\nd"}, {"bad", "\xff\xc0 ok \xe2\x82\xac"}}, 1));
  EXPECT_EQ(out,
            "# HELP x_total line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE x_total counter\n"
            "x_total{path=\"/a\\\"b\\\\c\\nd\",bad=\"\xEF\xBF\xBD\xEF\xBF\xBD ok \xe2\x82\xac\"} 1\n");
}

TEST(PrometheusWriter, HistogramSeries) {
  Histogram shard0, shard1;
  shard0.observe_ns(300'000);
  shard1.observe_ns(2'000'000'000);
  HistogramSnapshot snap;
  snap.add(shard0);
  snap.add(shard1);
  std::string out;
  PrometheusWriter w(out);
  ASSERT_TRUE(w.family("lat_seconds", MetricType::kHistogram, "Latency."));
  ASSERT_TRUE(w.histogram({{"route", "/r"}}, snap)) << w.error();
  const std::string want =
      "# HELP lat_seconds Latency.\n"
      "# TYPE lat_seconds histogram\n"
      "lat_seconds_bucket{route=\"/r\",le=\"0.0005\"} 1\n"
      "lat_seconds_bucket{route=\"/r\",le=\"0.001\"} 1\n"
      "lat_seconds_bucket{route=\"/r\",le=\"0.0025\"} 1\n"
      "lat_seconds_bucket{route=\"/r\",le=\"0.005\"} 1\n"
      "lat_seconds_bucket{route=\"/r\",le=\"0.01\"} 1\n"
      "lat_seconds_bucket{route=\"/r\",le=\"0.025\"} 1\n"
      "lat_seconds_bucket{route=\"/r\",le=\"0.05\"} 1\n"
      "lat_seconds_bucket{route=\"/r\",le=\"0.1\"} 1\n"
      "lat_seconds_bucket{route=\"/r\",le=\"0.25\"} 1\n"
      "lat_seconds_bucket{route=\"/r\",le=\"0.5\"} 1\n"
      "lat_seconds_bucket{route=\"/r\",le=\"1\"} 1\n"
      "lat_seconds_bucket{route=\"/r\",le=\"2.5\"} 2\n"
      "lat_seconds_bucket{route=\"/r\",le=\"5\"} 2\n"
      "lat_seconds_bucket{route=\"/r\",le=\"10\"} 2\n"
      "lat_seconds_bucket{route=\"/r\",le=\"+Inf\"} 2\n"
      "lat_seconds_sum{route=\"/r\"} 2.0003\n"
      "lat_seconds_count{route=\"/r\"} 2\n";
  EXPECT_EQ(out, want);
}

TEST(PrometheusWriter, HistogramWithoutLabelsAndCustomBounds) {
  std::string out;
  PrometheusWriter w(out);
  ASSERT_TRUE(w.family("size_bytes", MetricType::kHistogram, "Sizes."));
  const double bounds[] = {100, 1000};
  const uint64_t cum[] = {1, 3, 4};
  ASSERT_TRUE(w.histogram({}, bounds, cum, 5123));
  EXPECT_NE(out.find("size_bytes_bucket{le=\"100\"} 1\nsize_bytes_bucket{le=\"1000\"} 3\n"
                     "size_bytes_bucket{le=\"+Inf\"} 4\nsize_bytes_sum 5123\nsize_bytes_count 4\n"),
            std::string::npos)
      << out;
  const uint64_t not_cumulative[] = {3, 1, 4};
  EXPECT_FALSE(w.histogram({}, bounds, not_cumulative, 0));
  const double decreasing[] = {1000, 100};
  EXPECT_FALSE(w.histogram({}, decreasing, cum, 0));
  const uint64_t short_counts[] = {1, 3};
  EXPECT_FALSE(w.histogram({}, bounds, short_counts, 0));
}

TEST(PrometheusWriter, RefusesBadFamiliesAndSamplesWithoutCorruptingOutput) {
  std::string out;
  PrometheusWriter w(out);
  EXPECT_FALSE(w.family("bad-name_total", MetricType::kCounter, "x"));
  EXPECT_FALSE(w.ok());
  const std::string first_error = w.error();
  EXPECT_NE(first_error.find("invalid name"), std::string::npos) << first_error;
  EXPECT_FALSE(w.sample({}, 1)) << "no current family after a refused one";
  EXPECT_FALSE(w.family("requests", MetricType::kCounter, "x")) << "counters end in _total";
  EXPECT_FALSE(w.family("open_total", MetricType::kGauge, "x")) << "only counters end in _total";
  EXPECT_FALSE(w.family("no_help_total", MetricType::kCounter, ""));
  ASSERT_TRUE(w.family("ok_total", MetricType::kCounter, "x"));
  EXPECT_FALSE(w.family("ok_total", MetricType::kCounter, "x")) << "declared twice";
  ASSERT_TRUE(w.family("h", MetricType::kHistogram, "x"));
  EXPECT_FALSE(w.family("h_count", MetricType::kGauge, "x")) << "clashes with h's series";
  ASSERT_TRUE(w.family("c_total", MetricType::kCounter, "x"));
  EXPECT_FALSE(w.sample({{"__name__", "x"}}, 1));
  EXPECT_FALSE(w.sample({{"bad-label", "x"}}, 1));
  EXPECT_FALSE(w.sample({{"a", "1"}, {"a", "2"}}, 1)) << "repeated label";
  EXPECT_FALSE(w.sample({}, -1.0)) << "counters do not go down";
  EXPECT_FALSE(w.sample({}, -1));
  EXPECT_FALSE(w.histogram({}, HistogramSnapshot{})) << "not a histogram family";
  ASSERT_TRUE(w.family("lat_seconds", MetricType::kHistogram, "x"));
  EXPECT_FALSE(w.histogram({{"le", "1"}}, HistogramSnapshot{})) << "le is reserved";
  EXPECT_FALSE(w.sample({}, 1)) << "histograms take histogram()";
  EXPECT_EQ(w.error(), first_error) << "the first error is kept";
  EXPECT_EQ(out,
            "# HELP ok_total x\n# TYPE ok_total counter\n"
            "# HELP h x\n# TYPE h histogram\n"
            "# HELP c_total x\n# TYPE c_total counter\n"
            "# HELP lat_seconds x\n# TYPE lat_seconds histogram\n");
}

TEST(PrometheusWriter, PromtoolAcceptsARealisticExposition) {
  if (!promtool_available()) GTEST_SKIP() << "no " << kPromtool;
  std::string out;
  PrometheusWriter w(out);
  w.family("ringshard_http_requests_total", MetricType::kCounter,
           "HTTP requests answered, by route, method and status code.");
  const char* routes[] = {"/json", "/plaintext", "/v1/deployments/{id}"};
  const char* methods[] = {"GET", "POST", "DELETE"};
  const char* codes[] = {"200", "404", "500"};
  uint64_t n = 1;
  for (const char* r : routes)
    for (const char* m : methods)
      for (const char* c : codes) w.sample({{"route", r}, {"method", m}, {"code", c}}, n++ * 7);
  // Hostile label values: a path chosen by a client.
  w.sample({{"route", "/evil\"} 1\n# TYPE x counter\\"}, {"method", "G\xffT"}, {"code", "400"}}, 1);

  w.family("ringshard_connections_open", MetricType::kGauge, "Connections open now, per shard.");
  w.family("ringshard_connections_accepted_total", MetricType::kCounter, "Accepted connections.");
  for (uint64_t s = 0; s < 2; ++s) w.sample({{"shard", DecimalText(s).view()}}, 1000 + s);
  w.family("ringshard_shard_load_ratio", MetricType::kGauge, "A gauge with odd values.");
  w.sample({{"shard", "0"}}, std::numeric_limits<double>::infinity());
  w.sample({{"shard", "1"}}, std::nan(""));
  w.sample({{"shard", "2"}}, 1e-9);

  w.family("ringshard_http_request_duration_seconds", MetricType::kHistogram,
           "Request latency, summed over shards.");
  for (const char* r : routes) {
    Histogram shard0, shard1;
    for (uint64_t i = 0; i < 1000; ++i) {
      shard0.observe_ns(i * 37'000);
      shard1.observe_ns(i * 11'000'000);
    }
    HistogramSnapshot snap;
    snap.add(shard0);
    snap.add(shard1);
    w.histogram({{"route", r}}, snap);
  }
  ProcessStats stats;
  std::string error;
  ASSERT_TRUE(read_process_stats(stats, &error)) << error;
  write_process_metrics(w, stats);
  ASSERT_TRUE(w.ok()) << w.error();

  const PromtoolResult r = run_promtool_check(out);
  EXPECT_EQ(r.exit_status, 0) << r.output << "\n--- exposition:\n" << out;
  EXPECT_EQ(r.output, "") << "promtool lint findings\n--- exposition:\n" << out;
}

}  // namespace
}  // namespace ringshard::obs
