// obs/prometheus.h: a writer of the Prometheus text exposition format 0.0.4
// (Content-Type: text/plain; version=0.0.4; charset=utf-8) into a string.
//
//   std::string body;
//   obs::PrometheusWriter w(body);
//   w.family("ringshard_http_requests_total", obs::MetricType::kCounter,
//            "HTTP requests answered, by route, method and status code.");
//   for (const auto& r : rows)   // every label set of this family, together
//     w.sample({{"route", r.route}, {"method", r.method}, {"code", r.code}}, r.count);
//
//   w.family("ringshard_connections_open", obs::MetricType::kGauge, "Open connections.");
//   for (size_t i = 0; i < shards; ++i)
//     w.sample({{"shard", obs::DecimalText(i).view()}}, open[i]);
//
//   w.family("ringshard_http_request_duration_seconds", obs::MetricType::kHistogram,
//            "Request latency from first byte to last byte sent.");
//   w.histogram({{"route", "/json"}}, snapshot);  // HistogramSnapshot summed over shards
//
//   if (!w.ok()) log(w.error());  // the bad family/sample was skipped, body is still valid
//
// Contract:
//  - family() writes `# HELP` (backslash and newline escaped) and `# TYPE`
//    once per name; samples that follow belong to it, so a family's samples
//    are contiguous by construction. A name declared twice is refused.
//  - Metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*; counters must end in
//    `_total`, other typed families must not; HELP must not be empty (the
//    promtool linter's rules). Histogram names may not clash with another
//    family's `_bucket`/`_sum`/`_count` series.
//  - Label names must match [a-zA-Z_][a-zA-Z0-9_]*, not start with `__`,
//    not repeat in one sample, and not be `le` on a histogram. Label values
//    are escaped (backslash, double quote, newline); bytes that are not
//    well-formed UTF-8 become U+FFFD, so hostile values cannot break the
//    output. Duplicate label sets within a family are NOT detected.
//  - Numbers: integers in decimal without exponent; doubles in the shortest
//    form that reads back to the same double (fixed notation between 1e-4
//    and 1e15, exponent outside), `NaN`, `+Inf`, `-Inf`.
//  - Errors do not throw: the offending family or sample is not written,
//    the call returns false, and the first error is kept in error().
//
// Threads: a writer belongs to one thread (the one serving the scrape).
// Allocation: appends to the caller's string (reserve it to the last
// scrape's size to avoid regrowth) and keeps the declared names (a scrape is
// control plane, not the request hot path). Labels are borrowed for the call.
#pragma once

#include <array>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "obs/histogram.h"

namespace ringshard::obs {

// The Content-Type of a /metrics response written by PrometheusWriter.
inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType { kCounter, kGauge, kHistogram, kUntyped };

struct Label {
  std::string_view name;
  std::string_view value;
};

// A borrowed list of labels: from a braced list (valid for the call's full
// expression), a std::span, or a std::vector/array.
class Labels {
 public:
  Labels() = default;
  Labels(std::initializer_list<Label> l) : items_(l.begin(), l.size()) {}
  Labels(std::span<const Label> s) : items_(s) {}
  Labels(const std::vector<Label>& v) : items_(v) {}
  template <size_t N>
  Labels(const std::array<Label, N>& a) : items_(a) {}
  std::span<const Label> items() const { return items_; }

 private:
  std::span<const Label> items_;
};

// An unsigned integer as text without allocation, e.g. for {shard="3"}.
// view() is valid while this object lives.
class DecimalText {
 public:
  explicit DecimalText(uint64_t v) {
    len_ = static_cast<size_t>(std::to_chars(buf_, buf_ + sizeof buf_, v).ptr - buf_);
  }
  std::string_view view() const { return {buf_, len_}; }

 private:
  char buf_[20];
  size_t len_;
};

bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);  // also refuses the reserved `__` prefix

// Appends a sample value as Prometheus parses it.
void append_prometheus_value(std::string& out, double v);
void append_prometheus_value(std::string& out, uint64_t v);
void append_prometheus_value(std::string& out, int64_t v);

class PrometheusWriter {
 public:
  // Appends to out, which must outlive the writer.
  explicit PrometheusWriter(std::string& out) : out_(out) {}

  bool family(std::string_view name, MetricType type, std::string_view help);

  // One sample of the current counter, gauge or untyped family. Counters
  // refuse negative values.
  bool sample(Labels labels, double value);
  template <std::integral T>
  bool sample(Labels labels, T value) {
    if constexpr (std::is_signed_v<T>) return sample_int(labels, static_cast<int64_t>(value));
    else return sample_uint(labels, static_cast<uint64_t>(value));
  }

  // One histogram series of the current histogram family: `_bucket` lines
  // for each bound and +Inf, then `_sum` and `_count`. bounds: finite upper
  // bounds, strictly increasing; cumulative: bounds.size() + 1 counts, non-
  // decreasing, the last one (+Inf) being the count.
  bool histogram(Labels labels, std::span<const double> bounds,
                 std::span<const uint64_t> cumulative, double sum);
  bool histogram(Labels labels, const HistogramSnapshot& snapshot);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  bool sample_uint(Labels labels, uint64_t value);
  bool sample_int(Labels labels, int64_t value);
  bool fail(std::string message);
  bool check_sample(Labels labels, bool histogram);
  void append_series(std::string_view suffix, Labels labels, std::string_view le);

  std::string& out_;
  std::vector<std::string> declared_;  // family names and histogram series names
  std::string current_;                // current family; empty after a refused family()
  MetricType type_ = MetricType::kUntyped;
  std::string error_;
};

}  // namespace ringshard::obs
