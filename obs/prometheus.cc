#include "obs/prometheus.h"

#include <algorithm>
#include <cmath>

#include "obs/utf8.h"

namespace ringshard::obs {
namespace {

bool name_char(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// HELP text: backslash and newline escaped (format 0.0.4). Ill-formed UTF-8
// becomes U+FFFD, as in label values.
void append_help(std::string& out, std::string_view in) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  for (size_t i = 0; i < in.size();) {
    const unsigned char c = p[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (size_t len = utf8_sequence_len(p + i, in.size() - i); len != 0) {
      out.append(in.data() + i, len);
      i += len;
      continue;
    } else {
      out += kUtf8Replacement;
    }
    ++i;
  }
}

// Label values: backslash, double quote and newline escaped.
void append_label_value(std::string& out, std::string_view in) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  for (size_t i = 0; i < in.size();) {
    const unsigned char c = p[i];
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\' || c == '\n') {
      out += c == '\\' ? "\\\\" : "\\n";
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (size_t len = utf8_sequence_len(p + i, in.size() - i); len != 0) {
      out.append(in.data() + i, len);
      i += len;
      continue;
    } else {
      out += kUtf8Replacement;
    }
    ++i;
  }
}

std::string_view type_name(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
    case MetricType::kUntyped: return "untyped";
  }
  return "untyped";
}

}  // namespace

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, true)) return false;
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, false)) return false;
  return true;
}

void append_prometheus_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  // Shortest round-trip digits. Fixed notation where it reads naturally
  // ("0.0005", "12", "3.25"); Prometheus (Go's ParseFloat) also reads the
  // exponent form used outside that range ("1e-07", "2.5e+20").
  char buf[64];
  const double mag = std::fabs(v);
  const bool fixed = mag == 0 || (mag >= 1e-4 && mag < 1e15);
  const auto r = fixed ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                       : std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  out.append(buf, r.ptr);
}

void append_prometheus_value(std::string& out, uint64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void append_prometheus_value(std::string& out, int64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

bool PrometheusWriter::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
  return false;
}

bool PrometheusWriter::family(std::string_view name, MetricType type, std::string_view help) {
  current_.clear();
  const std::string quoted = "metric family \"" + std::string(name) + "\": ";
  if (!valid_metric_name(name)) return fail(quoted + "invalid name");
  if (type == MetricType::kCounter && !ends_with(name, "_total"))
    return fail(quoted + "a counter's name must end in _total");
  if (type != MetricType::kCounter && type != MetricType::kUntyped && ends_with(name, "_total"))
    return fail(quoted + "only counters end in _total");
  if (help.empty()) return fail(quoted + "empty HELP");

  std::vector<std::string> names{std::string(name)};
  if (type == MetricType::kHistogram)
    for (std::string_view s : {"_bucket", "_sum", "_count"}) names.push_back(std::string(name) + std::string(s));
  for (const std::string& n : names)
    if (std::find(declared_.begin(), declared_.end(), n) != declared_.end())
      return fail(quoted + "declared twice (or clashes with a histogram's series)");
  declared_.insert(declared_.end(), names.begin(), names.end());

  out_ += "# HELP ";
  out_ += name;
  out_.push_back(' ');
  append_help(out_, help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_.push_back(' ');
  out_ += type_name(type);
  out_.push_back('\n');
  current_ = name;
  type_ = type;
  return true;
}

bool PrometheusWriter::check_sample(Labels labels, bool histogram) {
  if (current_.empty()) return fail("sample without a (valid) family");
  if (histogram != (type_ == MetricType::kHistogram))
    return fail("family \"" + current_ + "\": " +
                (histogram ? "histogram() on a non-histogram" : "sample() on a histogram"));
  const auto items = labels.items();
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string_view n = items[i].name;
    if (!valid_label_name(n))
      return fail("family \"" + current_ + "\": invalid label name \"" + std::string(n) + "\"");
    if (histogram && n == "le")
      return fail("family \"" + current_ + "\": label \"le\" is reserved for buckets");
    for (size_t j = 0; j < i; ++j)
      if (items[j].name == n)
        return fail("family \"" + current_ + "\": label \"" + std::string(n) + "\" repeated");
  }
  return true;
}

void PrometheusWriter::append_series(std::string_view suffix, Labels labels, std::string_view le) {
  out_ += current_;
  out_ += suffix;
  const auto items = labels.items();
  if (items.empty() && le.empty()) {
    out_.push_back(' ');
    return;
  }
  out_.push_back('{');
  bool first = true;
  for (const Label& l : items) {
    if (!first) out_.push_back(',');
    first = false;
    out_ += l.name;
    out_ += "=\"";
    append_label_value(out_, l.value);
    out_.push_back('"');
  }
  if (!le.empty()) {
    if (!first) out_.push_back(',');
    out_ += "le=\"";
    out_ += le;
    out_.push_back('"');
  }
  out_ += "} ";
}

bool PrometheusWriter::sample(Labels labels, double value) {
  if (!check_sample(labels, false)) return false;
  if (type_ == MetricType::kCounter && value < 0)
    return fail("counter \"" + current_ + "\": negative value");
  append_series("", labels, {});
  append_prometheus_value(out_, value);
  out_.push_back('\n');
  return true;
}

bool PrometheusWriter::sample_uint(Labels labels, uint64_t value) {
  if (!check_sample(labels, false)) return false;
  append_series("", labels, {});
  append_prometheus_value(out_, value);
  out_.push_back('\n');
  return true;
}

bool PrometheusWriter::sample_int(Labels labels, int64_t value) {
  if (value >= 0) return sample_uint(labels, static_cast<uint64_t>(value));
  if (!check_sample(labels, false)) return false;
  if (type_ == MetricType::kCounter) return fail("counter \"" + current_ + "\": negative value");
  append_series("", labels, {});
  append_prometheus_value(out_, value);
  out_.push_back('\n');
  return true;
}

bool PrometheusWriter::histogram(Labels labels, std::span<const double> bounds,
                                 std::span<const uint64_t> cumulative, double sum) {
  if (!check_sample(labels, true)) return false;
  const std::string who = "histogram \"" + current_ + "\": ";
  if (cumulative.size() != bounds.size() + 1) return fail(who + "needs one count per bound plus +Inf");
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) return fail(who + "bounds must be finite (+Inf is implied)");
    if (i > 0 && !(bounds[i] > bounds[i - 1])) return fail(who + "bounds must increase");
  }
  for (size_t i = 1; i < cumulative.size(); ++i)
    if (cumulative[i] < cumulative[i - 1]) return fail(who + "counts must be cumulative");

  std::string le;
  for (size_t i = 0; i < cumulative.size(); ++i) {
    le.clear();
    if (i < bounds.size()) append_prometheus_value(le, bounds[i]);
    else le = "+Inf";
    append_series("_bucket", labels, le);
    append_prometheus_value(out_, cumulative[i]);
    out_.push_back('\n');
  }
  append_series("_sum", labels, {});
  append_prometheus_value(out_, sum);
  out_.push_back('\n');
  append_series("_count", labels, {});
  append_prometheus_value(out_, cumulative.back());
  out_.push_back('\n');
  return true;
}

bool PrometheusWriter::histogram(Labels labels, const HistogramSnapshot& snapshot) {
  const auto cumulative = snapshot.cumulative();
  return histogram(labels, kHistogramBoundsSeconds, cumulative, snapshot.sum_seconds());
}

}  // namespace ringshard::obs
