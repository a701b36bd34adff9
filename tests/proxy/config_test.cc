// Tests for proxy/config.h: the value syntaxes (backends, hash keys,
// status ranges, pins, host:port) and validation messages that name the
// offending key.
#include "proxy/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringshard::proxy {
namespace RS_UNITY_ID {

UpstreamGroup valid_group() {
  UpstreamGroup g;
  g.name = "api";
  g.backends = {{.address = "127.0.0.1:9001"}};
  return g;
}

TEST(ProxyConfig, ParseBackendForms) {
  Backend b;
  ASSERT_FALSE(parse_backend("10.0.0.1:80", b));
  EXPECT_EQ(b, (Backend{"10.0.0.1:80", 1, ""}));
  ASSERT_FALSE(parse_backend("api.internal:8443  weight=7 server_name=api.example.com", b));
  EXPECT_EQ(b, (Backend{"api.internal:8443", 7, "api.example.com"}));
  ASSERT_FALSE(parse_backend("[2001:db8::1]:80", b));
  EXPECT_EQ(b.address, "[2001:db8::1]:80");
  EXPECT_EQ(format_backend(Backend{"h:1", 3, "n"}), "h:1 weight=3 server_name=n");
  EXPECT_EQ(format_backend(Backend{"h:1", 1, ""}), "h:1");
}

TEST(ProxyConfig, ParseBackendErrors) {
  Backend b;
  for (const char* bad : {"", "host", "host:0", "host:65536", "host:08", ":80", "h h:80",
                          "[::1:80", "[zz]:80", "h:1 weight=0", "h:1 weight=1001", "h:1 weight=x",
                          "h:1 color=red", "h:1 weight=2 weight=3", "h:1 server_name=a/b"}) {
    EXPECT_TRUE(parse_backend(bad, b).has_value()) << bad;
  }
}

TEST(ProxyConfig, SplitHostPort) {
  std::string_view host;
  uint16_t port = 0;
  ASSERT_TRUE(split_host_port("[::1]:8080", host, port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(split_host_port("svc_a.local:1", host, port));
  EXPECT_EQ(host, "svc_a.local");
  EXPECT_FALSE(split_host_port("::1:80", host, port));
}

TEST(ProxyConfig, HashKeys) {
  HashKey k;
  ASSERT_FALSE(parse_hash_key("ip", k));
  EXPECT_EQ(k.source, HashKey::Source::kClientIp);
  ASSERT_FALSE(parse_hash_key("header:X-User-ID", k));
  EXPECT_EQ(k.source, HashKey::Source::kHeader);
  EXPECT_EQ(k.name, "x-user-id");
  EXPECT_EQ(format_hash_key(k), "header:x-user-id");
  ASSERT_FALSE(parse_hash_key("cookie:session", k));
  EXPECT_EQ(format_hash_key(k), "cookie:session");
  EXPECT_TRUE(parse_hash_key("header:", k).has_value());
  EXPECT_TRUE(parse_hash_key("cookie:a b", k).has_value());
  EXPECT_TRUE(parse_hash_key("url", k).has_value());
}

TEST(ProxyConfig, StatusRanges) {
  uint16_t lo = 0;
  uint16_t hi = 0;
  ASSERT_FALSE(parse_status_range("200", lo, hi));
  EXPECT_EQ(lo, 200);
  EXPECT_EQ(hi, 200);
  ASSERT_FALSE(parse_status_range("200-399", lo, hi));
  EXPECT_EQ(hi, 399);
  EXPECT_EQ(format_status_range(200, 399), "200-399");
  for (const char* bad : {"", "99", "600", "300-200", "2xx", "200-", "-300"}) {
    EXPECT_TRUE(parse_status_range(bad, lo, hi).has_value()) << bad;
  }
}

TEST(ProxyConfig, Pins) {
  // The SHA-256 of nothing, base64: a well-formed pin.
  EXPECT_TRUE(is_valid_pin("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));
  EXPECT_FALSE(is_valid_pin("sha1/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));
  EXPECT_FALSE(is_valid_pin("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"));
  EXPECT_FALSE(is_valid_pin("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF!="));
  EXPECT_FALSE(is_valid_pin("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV="));  // stray bits
  EXPECT_EQ(pin_digest_base64("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

TEST(ProxyConfig, ValidUpstreamAndDefaults) {
  UpstreamGroup g = valid_group();
  EXPECT_FALSE(validate_upstream(g).has_value());
  EXPECT_EQ(g.pool.idle_timeout_ms, 4000u);
  EXPECT_TRUE(g.tls.verify);
  EXPECT_EQ(g.retry.base_ms, 25u);
  EXPECT_EQ(g.retry.cap_ms, 250u);
  EXPECT_EQ(g.retry.budget_percent, 20u);
  EXPECT_EQ(g.retry.min_retries, 3u);
}

struct UpstreamCase {
  void (*mutate)(UpstreamGroup&);
  std::string key;
};

TEST(ProxyConfig, UpstreamErrorsNameTheKey) {
  const UpstreamCase cases[] = {
      {[](UpstreamGroup& g) { g.name = "a b"; }, "name"},
      {[](UpstreamGroup& g) { g.backends.clear(); }, "backends"},
      {[](UpstreamGroup& g) { g.backends[0].weight = 0; }, "backends"},
      {[](UpstreamGroup& g) { g.backends.push_back(g.backends[0]); }, "backends"},
      {[](UpstreamGroup& g) { g.tls.pins = {"x"}; g.tls.enabled = true; }, "tls.pins"},
      {[](UpstreamGroup& g) { g.tls.ca_file = "ca.pem"; }, "tls.enabled"},
      {[](UpstreamGroup& g) { g.pool.max_idle = 1000; }, "pool.max_idle"},
      {[](UpstreamGroup& g) { g.pool.idle_timeout_ms = 0; }, "pool.idle_timeout"},
      {[](UpstreamGroup& g) { g.timeouts.connect_ms = 0; }, "timeouts.connect"},
      {[](UpstreamGroup& g) { g.retry.attempts = 0; }, "retry.attempts"},
      {[](UpstreamGroup& g) { g.retry.cap_ms = 10; }, "retry.cap"},
      {[](UpstreamGroup& g) { g.retry.retry_on = {404}; }, "retry.retry_on"},
      {[](UpstreamGroup& g) { g.health.path = "healthz"; }, "health.path"},
      {[](UpstreamGroup& g) { g.health.timeout_ms = 10'000; }, "health.timeout"},
      {[](UpstreamGroup& g) { g.health.healthy_threshold = 0; }, "health.healthy_threshold"},
      {[](UpstreamGroup& g) { g.outlier.max_ejection_ms = 1; }, "outlier.max_ejection"},
      {[](UpstreamGroup& g) { g.outlier.max_ejection_percent = 101; },
       "outlier.max_ejection_percent"},
  };
  for (const UpstreamCase& c : cases) {
    UpstreamGroup g = valid_group();
    c.mutate(g);
    auto e = validate_upstream(g);
    ASSERT_TRUE(e.has_value()) << c.key;
    EXPECT_EQ(e->key, c.key) << e->text();
  }
}

TEST(ProxyConfig, RouteErrors) {
  ProxyRoute r{.prefix = "/api/", .upstream = "api"};
  EXPECT_FALSE(validate_route(r).has_value());
  r.host = "*.example.com";
  EXPECT_FALSE(validate_route(r).has_value());
  r.host = "Example.com";
  EXPECT_EQ(validate_route(r)->key, "host");
  r.host = "a.*.com";
  EXPECT_EQ(validate_route(r)->key, "host");
  r.host = "";
  r.methods = {"G T"};
  EXPECT_EQ(validate_route(r)->key, "methods");
  r.methods = {};
  r.strip_prefix = true;
  r.replace_prefix = "/v2/";
  EXPECT_EQ(validate_route(r)->key, "replace_prefix");
  r.strip_prefix = false;
  r.prefix = "/a?b";
  EXPECT_EQ(validate_route(r)->key, "prefix");
}

TEST(ProxyConfig, WholeConfig) {
  std::vector<UpstreamGroup> ups = {valid_group()};
  std::vector<ProxyRoute> routes = {{.prefix = "/", .upstream = "api"}};
  EXPECT_FALSE(validate_proxy_config(ups, routes).has_value());
  routes.push_back({.prefix = "/x/", .upstream = "nope"});
  auto e = validate_proxy_config(ups, routes);
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->is_route);
  EXPECT_EQ(e->index, 1u);
  EXPECT_EQ(e->error.text(), "upstream: no upstream is named 'nope'");
  routes.pop_back();
  routes.push_back({.prefix = "/", .upstream = "api"});
  EXPECT_EQ(validate_proxy_config(ups, routes)->error.key, "prefix");
  routes.pop_back();
  ups.push_back(valid_group());
  e = validate_proxy_config(ups, routes);
  ASSERT_TRUE(e.has_value());
  EXPECT_FALSE(e->is_route);
  EXPECT_EQ(e->error.text(), "name: 'api' is used twice");
}

TEST(ProxyConfig, BalancePolicyNames) {
  for (BalancePolicy p :
       {BalancePolicy::kRoundRobin, BalancePolicy::kLeastRequest, BalancePolicy::kMaglev}) {
    EXPECT_EQ(parse_balance_policy(balance_policy_name(p)), p);
  }
  EXPECT_FALSE(parse_balance_policy("random").has_value());
}

}  // namespace
}  // namespace ringshard::proxy
