// plugins/deployments/plugin_config.h: the [plugins.deployments] section.
//
//   [plugins.deployments]
//   history_events = 100000        # events kept for /v1/stream?since= (1000..10000000)
//   cache_entries = 100000         # deployments cached per shard (0: no cache)
//   store_max_batch = 512          # writes per transaction at most (1..10000)
//   idempotency_ttl_hours = 24     # Idempotency-Key retention (24..720)
//   rate_limit_burst = 100         # per bearer token (0: no limit)
//   rate_limit_per_second = 10.0
//   [plugins.deployments.executor]
//   kind = "simulated"             # the only executor built in
//   start_delay_ms = 2000          # pending -> running
//   stop_delay_ms = 1000           # terminating -> terminated
//   failure_rate = 0.0             # share of starts that end in failed (0..1)
//
// Unknown keys are refused, naming the key.
#pragma once

#include <cstdint>
#include <string>

#include "ringshard/plugin.hpp"

namespace ringshard::deployments {

struct ExecutorConfig {
  std::string kind = "simulated";
  uint64_t start_delay_ms = 2000;
  uint64_t stop_delay_ms = 1000;
  double failure_rate = 0.0;
};

struct PluginConfig {
  uint64_t history_events = 100'000;
  uint64_t cache_entries = 100'000;
  uint32_t store_max_batch = 512;
  uint64_t idempotency_ttl_hours = 24;
  uint64_t rate_limit_burst = 100;
  double rate_limit_per_second = 10.0;
  ExecutorConfig executor;
};

// Throws std::invalid_argument naming the key and what it must be.
PluginConfig parse_plugin_config(const ringshard::plugin::Config& config);

}  // namespace ringshard::deployments
