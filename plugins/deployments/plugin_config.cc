// plugins/deployments/plugin_config.cc: reads and checks the section.
#include "plugins/deployments/plugin_config.h"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace ringshard::deployments {
namespace {

uint64_t ranged(const ringshard::plugin::Config& c, const char* key, uint64_t fallback,
                int64_t lo, int64_t hi) {
  auto v = c.integer(key);
  if (!v) return fallback;
  if (*v < lo || *v > hi) {
    throw std::invalid_argument(std::string(key) + " must be between " + std::to_string(lo) +
                                " and " + std::to_string(hi));
  }
  return static_cast<uint64_t>(*v);
}

double ranged_number(const ringshard::plugin::Config& c, const char* key, double fallback,
                     double lo, double hi) {
  std::optional<double> v;
  // An integer is a fine number too (rate_limit_per_second = 10).
  try {
    v = c.number(key);
  } catch (const std::invalid_argument&) {
    auto i = c.integer(key);
    if (!i) throw;
    v = static_cast<double>(*i);
  }
  if (!v) return fallback;
  if (!(*v >= lo && *v <= hi)) {
    throw std::invalid_argument(std::string(key) + " must be between " + std::to_string(lo) +
                                " and " + std::to_string(hi));
  }
  return *v;
}

void refuse_unknown(const ringshard::plugin::Config& c, const char* table,
                    std::initializer_list<std::string_view> known) {
  for (std::string_view k : c.keys(table)) {
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      std::string where = *table != 0 ? std::string(table) + "." : std::string();
      throw std::invalid_argument("unknown key " + where + std::string(k));
    }
  }
}

}  // namespace

PluginConfig parse_plugin_config(const ringshard::plugin::Config& c) {
  refuse_unknown(c, "",
                 {"history_events", "cache_entries", "store_max_batch", "idempotency_ttl_hours",
                  "rate_limit_burst", "rate_limit_per_second", "executor"});
  PluginConfig out;
  out.history_events = ranged(c, "history_events", out.history_events, 1000, 10'000'000);
  out.cache_entries = ranged(c, "cache_entries", out.cache_entries, 0, 10'000'000);
  out.store_max_batch =
      static_cast<uint32_t>(ranged(c, "store_max_batch", out.store_max_batch, 1, 10'000));
  out.idempotency_ttl_hours =
      ranged(c, "idempotency_ttl_hours", out.idempotency_ttl_hours, 24, 720);
  out.rate_limit_burst = ranged(c, "rate_limit_burst", out.rate_limit_burst, 0, 1'000'000'000);
  out.rate_limit_per_second =
      ranged_number(c, "rate_limit_per_second", out.rate_limit_per_second, 0.001, 1e9);

  bool has_executor = false;
  for (std::string_view k : c.keys("")) has_executor |= k == "executor";
  if (has_executor) {
    refuse_unknown(c, "executor", {"kind", "start_delay_ms", "stop_delay_ms", "failure_rate"});
    if (auto kind = c.string("executor.kind")) {
      if (*kind != "simulated") {
        throw std::invalid_argument("executor.kind must be \"simulated\" (the only executor "
                                    "built in)");
      }
    }
    out.executor.start_delay_ms =
        ranged(c, "executor.start_delay_ms", out.executor.start_delay_ms, 0, 3'600'000);
    out.executor.stop_delay_ms =
        ranged(c, "executor.stop_delay_ms", out.executor.stop_delay_ms, 0, 3'600'000);
    out.executor.failure_rate =
        ranged_number(c, "executor.failure_rate", out.executor.failure_rate, 0.0, 1.0);
  }
  return out;
}

}  // namespace ringshard::deployments
