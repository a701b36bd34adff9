// proxy/health_check.h: active health checks of one upstream group: when
// to probe each backend, and what the answers mean.
//
// The checker is a pure state machine; the probe itself (an HTTP GET of
// HealthConfig::path with its Host, under its timeout, through the HTTP
// client) is the glue's. Per backend:
//   - up/down: `unhealthy_threshold` failed probes in a row take an up
//     backend down, `healthy_threshold` passed probes in a row bring a
//     down one back. Backends start up (a new process sends traffic at
//     once; the first failed checks or requests take dead ones out).
//   - schedule: the first probe of each backend at a random point of the
//     first interval (so probes of many backends and processes spread
//     out), then every interval + random [0, jitter] after the previous
//     probe's answer; one probe in flight per backend at most.
// Every change of up/down is published to the shared UpstreamHealth
// (set_healthy), which the balancers of all shards read.
//
//   proxy::HealthChecker checker(group.health, health, /*seed=*/1, now_ms());
//   // on a timer at checker.next_due_ms():
//   checker.poll(now_ms(), [&](size_t i) { start_probe(i); });
//   // when a probe ends: the status, or 0 for no answer (refused, timeout)
//   checker.report(i, status, now_ms());
//
// Thread: one (the shard the glue runs checks on); UpstreamHealth readers
// are anywhere. Allocation: at construction only. Time: a caller-supplied
// monotonic clock in milliseconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/config.h"
#include "proxy/hash.h"
#include "proxy/upstream_health.h"

namespace ringshard::proxy {

class HealthChecker {
 public:
  HealthChecker(const HealthConfig& config, UpstreamHealth& publish, uint64_t seed,
                uint64_t now_ms);

  // Whether checks are configured (a non-empty path); without them poll()
  // never probes and every backend stays up.
  bool enabled() const { return !config_.path.empty(); }

  // Calls probe(i) for every backend due at now_ms (not already in flight)
  // and marks it in flight. `probe` is any callable taking a size_t.
  template <typename Probe>
  void poll(uint64_t now_ms, Probe&& probe) {
    if (!enabled()) return;
    for (size_t i = 0; i < n_; ++i) {
      if (!backends_[i].in_flight && backends_[i].next_due_ms <= now_ms) {
        backends_[i].in_flight = true;
        probe(i);
      }
    }
  }

  // When poll() has work next: the earliest due time of a backend not in
  // flight, or UINT64_MAX when all are in flight or checks are off.
  uint64_t next_due_ms() const;

  // The end of backend i's probe: `status` 0 means no answer (connect
  // failure, timeout, a malformed response). The glue must report every
  // probe it started, within HealthConfig::timeout_ms (its probe's timeout). Healthy when the status is
  // in expected_min..expected_max. A report for a backend with no probe in
  // flight is ignored.
  void report(size_t i, uint16_t status, uint64_t now_ms);

  bool up(size_t i) const { return backends_[i].up; }
  uint32_t consecutive_failures(size_t i) const { return backends_[i].failures; }
  uint32_t consecutive_successes(size_t i) const { return backends_[i].successes; }
  bool in_flight(size_t i) const { return backends_[i].in_flight; }
  uint64_t probes_sent() const { return probes_; }

 private:
  struct Backend {
    bool up = true;
    bool in_flight = false;
    uint32_t failures = 0;
    uint32_t successes = 0;
    uint64_t next_due_ms = 0;
  };

  HealthConfig config_;
  UpstreamHealth& publish_;
  size_t n_;
  std::unique_ptr<Backend[]> backends_;
  Rng rng_;
  uint64_t probes_ = 0;
};

// The probe's request head: "GET path HTTP/1.1", Host (config.host, else
// `backend_address`), "User-Agent: ringshard-health-check" and
// "Connection: close" (a probe must not hold a pooled connection), into
// `out` (cleared first).
void build_health_probe(const HealthConfig& config, std::string_view backend_address,
                        std::string& out);

}  // namespace ringshard::proxy
