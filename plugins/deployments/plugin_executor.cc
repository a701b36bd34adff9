// plugins/deployments/plugin_executor.cc: the simulated executor.
#include "plugins/deployments/plugin_executor.h"

#include <utility>

namespace ringshard::deployments {

SimulatedExecutor::SimulatedExecutor(ExecutorConfig config, ReportFn report)
    : config_(std::move(config)), report_(std::move(report)), rng_(std::random_device{}()) {}

void SimulatedExecutor::start(ringshard::plugin::Shard& shard, const Deployment& d) {
  bool fail = false;
  if (config_.failure_rate > 0) {
    fail = std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < config_.failure_rate;
  }
  Status to = fail ? Status::kFailed : Status::kRunning;
  shard.after(config_.start_delay_ms, [this, id = d.id, to](ringshard::plugin::Shard&) {
    report_(id, Status::kPending, to);
  });
}

void SimulatedExecutor::stop(ringshard::plugin::Shard& shard, const Deployment& d) {
  shard.after(config_.stop_delay_ms, [this, id = d.id](ringshard::plugin::Shard&) {
    report_(id, Status::kTerminating, Status::kTerminated);
  });
}

}  // namespace ringshard::deployments
