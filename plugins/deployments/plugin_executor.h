// plugins/deployments/plugin_executor.h: what moves a deployment through
// its lifecycle. The API records intent (pending, terminating); an
// executor does the work and reports the outcome (running or failed,
// terminated) back through the store.
//
// The executor built in is SimulatedExecutor ("simulated" in the logs,
// /health and the README): it schedules nothing anywhere; after
// start_delay_ms a pending deployment becomes running (or failed, with
// probability failure_rate), after stop_delay_ms a terminating one becomes
// terminated. A real executor (containers, VMs) implements the same
// interface: start() and stop() must not block (hand the work to a thread
// of its own) and report() from any thread.
//
// Thread: the executor shard's (shard 0) for start/stop/recover.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>

#include "plugins/deployments/deployment.h"
#include "plugins/deployments/plugin_config.h"
#include "ringshard/plugin.hpp"

namespace ringshard::deployments {

// How an executor reports: deployment `id` moved from `from` to `to`. The
// store applies it only if the deployment is still in `from` (a delete
// that came first wins). Any thread.
using ReportFn = std::function<void(const std::string& id, Status from, Status to)>;

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::string_view name() const = 0;
  // A deployment is pending (new, or found pending at start): run it.
  virtual void start(ringshard::plugin::Shard& shard, const Deployment& d) = 0;
  // A deployment is terminating: stop it.
  virtual void stop(ringshard::plugin::Shard& shard, const Deployment& d) = 0;
};

class SimulatedExecutor final : public Executor {
 public:
  SimulatedExecutor(ExecutorConfig config, ReportFn report);
  std::string_view name() const override { return "simulated"; }
  void start(ringshard::plugin::Shard& shard, const Deployment& d) override;
  void stop(ringshard::plugin::Shard& shard, const Deployment& d) override;

 private:
  ExecutorConfig config_;
  ReportFn report_;
  std::mt19937_64 rng_;  // shard 0 only
};

}  // namespace ringshard::deployments
