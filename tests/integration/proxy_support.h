// tests/integration/proxy_support.h: the reverse-proxy tests' pieces: a
// proxy (an in-process ringshard with upstream groups and routes) in front
// of backends the test starts, and reading the proxy's metrics.
//
// Test code only. Counters are read through the proxy's Prometheus text
// (atomics the shards write; no shard-owned state is touched).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "obs/log.h"
#include "proxy/config.h"
#include "tests/support/test_server.h"

namespace ringshard::test {

// One group named `name` with these "127.0.0.1:PORT" backends, the other
// settings at their defaults; `tweak` adjusts it.
proxy::UpstreamGroup upstream_group(const std::string& name, const std::vector<uint16_t>& ports);

struct ProxyServerOptions {
  std::vector<proxy::UpstreamGroup> upstreams;
  std::vector<proxy::ProxyRoute> routes;  // empty: "/" to the first group
  unsigned shards = 1;
  bool manual_clock = false;
  std::function<void(server::Options&)> tweak;
  const obs::Logger* log = nullptr;  // the proxy's log (CapturedLog); null: none
};

// A server log the test reads back: an obs::Logger writing to an in-memory
// file (memfd). Outlives the server it is given to.
class CapturedLog {
 public:
  explicit CapturedLog(obs::LogLevel min_level = obs::LogLevel::kInfo);
  ~CapturedLog();
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  const obs::Logger* logger() const { return logger_.get(); }
  // Everything logged so far.
  std::string text() const;

 private:
  int fd_ = -1;
  std::unique_ptr<obs::Logger> logger_;
};

std::unique_ptr<TestServer> start_proxy(ProxyServerOptions options);

// The proxy's metrics text (ReverseProxy::write_metrics).
std::string proxy_metrics(TestServer& proxy);
// One sample, e.g. metric(text, "ringshard_upstream_connects_total",
// "upstream=\"app\",backend=\"127.0.0.1:8080\""); 0 when absent.
uint64_t metric(const std::string& text, const std::string& name, const std::string& labels);
// `labels` for one backend of a group.
std::string backend_labels(const std::string& group, uint16_t port);

}  // namespace ringshard::test
