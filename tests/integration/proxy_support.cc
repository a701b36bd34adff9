#include "tests/integration/proxy_support.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "obs/prometheus.h"

namespace ringshard::test {

proxy::UpstreamGroup upstream_group(const std::string& name, const std::vector<uint16_t>& ports) {
  proxy::UpstreamGroup g;
  g.name = name;
  for (uint16_t p : ports) {
    proxy::Backend b;
    b.address = "127.0.0.1:" + std::to_string(p);
    g.backends.push_back(b);
  }
  return g;
}

std::unique_ptr<TestServer> start_proxy(ProxyServerOptions options) {
  if (options.routes.empty() && !options.upstreams.empty()) {
    proxy::ProxyRoute r;
    r.prefix = "/";
    r.upstream = options.upstreams.front().name;
    options.routes.push_back(r);
  }
  TestServerOptions so;
  so.shards = options.shards;
  so.manual_clock = options.manual_clock;
  auto upstreams = options.upstreams;
  auto routes = options.routes;
  auto tweak = options.tweak;
  so.tweak = [upstreams, routes, tweak](server::Options& o) {
    o.upstreams = upstreams;
    o.proxy_routes = routes;
    if (tweak) tweak(o);
  };
  if (const obs::Logger* log = options.log) {
    so.setup = [log](server::ServerApp& app) { app.set_logger(log); };
  }
  return std::make_unique<TestServer>(std::move(so));
}

CapturedLog::CapturedLog(obs::LogLevel min_level) {
  fd_ = memfd_create("ringshard-test-log", MFD_CLOEXEC);
  EXPECT_GE(fd_, 0) << "memfd_create failed";
  obs::LogOptions o;
  o.fd = fd_;
  o.min_level = min_level;
  logger_ = std::make_unique<obs::Logger>(o);
}

CapturedLog::~CapturedLog() {
  logger_.reset();
  if (fd_ >= 0) ::close(fd_);
}

std::string CapturedLog::text() const {
  std::string out;
  char buf[4096];
  off_t at = 0;
  for (;;) {
    const ssize_t n = ::pread(fd_, buf, sizeof(buf), at);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    at += n;
  }
  return out;
}

std::string proxy_metrics(TestServer& proxy) {
  std::string text;
  obs::PrometheusWriter w(text);
  if (const auto* rp = proxy.app().reverse_proxy()) rp->write_metrics(w);
  EXPECT_TRUE(w.ok()) << w.error();  // names, types and labels as Prometheus wants them
  return text;
}

uint64_t metric(const std::string& text, const std::string& name, const std::string& labels) {
  const std::string series = name + "{" + labels + "} ";
  const size_t at = text.find("\n" + series);
  if (at == std::string::npos) return 0;
  return std::strtoull(text.c_str() + at + 1 + series.size(), nullptr, 10);
}

std::string backend_labels(const std::string& group, uint16_t port) {
  return "upstream=\"" + group + "\",backend=\"127.0.0.1:" + std::to_string(port) + "\"";
}

}  // namespace ringshard::test
