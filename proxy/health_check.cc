// proxy/health_check.cc: the active checker's schedule and thresholds
// (the contract: proxy/health_check.h).
#include "proxy/health_check.h"

namespace ringshard::proxy {

HealthChecker::HealthChecker(const HealthConfig& config, UpstreamHealth& publish, uint64_t seed,
                             uint64_t now_ms)
    : config_(config),
      publish_(publish),
      n_(publish.size()),
      backends_(new Backend[publish.size()]),
      rng_(seed) {
  for (size_t i = 0; i < n_; ++i) {
    backends_[i].next_due_ms = now_ms + rng_.below(uint64_t{config_.interval_ms} + 1);
  }
}

uint64_t HealthChecker::next_due_ms() const {
  uint64_t next = UINT64_MAX;
  if (!enabled()) return next;
  for (size_t i = 0; i < n_; ++i) {
    if (!backends_[i].in_flight && backends_[i].next_due_ms < next) next = backends_[i].next_due_ms;
  }
  return next;
}

void HealthChecker::report(size_t i, uint16_t status, uint64_t now_ms) {
  Backend& b = backends_[i];
  if (!b.in_flight) return;
  b.in_flight = false;
  ++probes_;
  uint64_t jitter = config_.jitter_ms == 0 ? 0 : rng_.below(uint64_t{config_.jitter_ms} + 1);
  b.next_due_ms = now_ms + config_.interval_ms + jitter;
  bool ok = status >= config_.expected_min && status <= config_.expected_max;
  if (ok) {
    b.failures = 0;
    ++b.successes;
    if (!b.up && b.successes >= config_.healthy_threshold) {
      b.up = true;
      publish_.set_healthy(i, true);
    }
  } else {
    b.successes = 0;
    ++b.failures;
    if (b.up && b.failures >= config_.unhealthy_threshold) {
      b.up = false;
      publish_.set_healthy(i, false);
    }
  }
}

void build_health_probe(const HealthConfig& config, std::string_view backend_address,
                        std::string& out) {
  out.clear();
  out.append("GET ");
  out.append(config.path.empty() ? std::string_view("/") : std::string_view(config.path));
  out.append(" HTTP/1.1\r\nHost: ");
  out.append(config.host.empty() ? backend_address : std::string_view(config.host));
  out.append("\r\nUser-Agent: ringshard-health-check\r\nConnection: close\r\n\r\n");
}

}  // namespace ringshard::proxy
