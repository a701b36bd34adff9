// Tests for the reverse proxy's settings: [[upstream]] (with its nested
// tables or dotted keys) and [[route]] from TOML, --upstream and --route
// merging into the file's lists, the checks across them (a route naming no
// upstream), errors that name the key, and --print-config's round trip.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "server/options.h"
#include "tests/server/options_test_support.h"

namespace ringshard::server {
namespace RS_UNITY_ID {

Options apply_ok(std::string_view text) {
  Options o;
  auto error = apply_config_text(text, "cfg.toml", o);
  EXPECT_FALSE(error.has_value()) << error->message;
  return o;
}

std::string apply_error(std::string_view text) {
  Options o;
  auto error = apply_config_text(text, "cfg.toml", o);
  if (!error) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  EXPECT_EQ(error->exit_code(), 78);
  EXPECT_EQ(o, Options{}) << "a failed apply leaves the options unchanged";
  return error->message;
}

constexpr std::string_view kFull = R"(
[[upstream]]
name = "api"
backends = ["127.0.0.1:9001", "backend.internal:9002 weight=3 server_name=api.internal"]
balance = "maglev"
hash_key = "header:X-User"

[upstream.tls]
enabled = true
verify = false
pins = ["sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]

[upstream.pool]
max_connections = 32
max_idle = 8
idle_timeout = "2s"

[upstream.timeouts]
connect = "250ms"
request = 30

[upstream.retry]
attempts = 3
retry_on = [503]

[upstream.health]
path = "/healthz"
interval = "2s"
expected_status = "200"

[upstream.outlier]
consecutive_5xx = 2
max_ejection = "1m"

[upstream.breaker]
max_requests = 100

[[route]]
prefix = "/api/"
host = "API.Example.com"
methods = ["GET", "POST"]
upstream = "api"
strip_prefix = true
websocket = true
)";

TEST(ProxyOptions, DefaultsAreEmpty) {
  Options o;
  EXPECT_TRUE(o.upstreams.empty());
  EXPECT_TRUE(o.proxy_routes.empty());
}

TEST(ProxyOptions, TomlNestedTablesSetEveryGivenKey) {
  Options o = apply_ok(kFull);
  ASSERT_EQ(o.upstreams.size(), 1u);
  const proxy::UpstreamGroup& g = o.upstreams[0];
  EXPECT_EQ(g.name, "api");
  ASSERT_EQ(g.backends.size(), 2u);
  EXPECT_EQ(g.backends[0], (proxy::Backend{"127.0.0.1:9001", 1, ""}));
  EXPECT_EQ(g.backends[1], (proxy::Backend{"backend.internal:9002", 3, "api.internal"}));
  EXPECT_EQ(g.balance, proxy::BalancePolicy::kMaglev);
  EXPECT_EQ(g.hash_key.source, proxy::HashKey::Source::kHeader);
  EXPECT_EQ(g.hash_key.name, "x-user");
  EXPECT_TRUE(g.tls.enabled);
  EXPECT_FALSE(g.tls.verify);
  EXPECT_EQ(g.tls.pins.size(), 1u);
  EXPECT_EQ(g.pool.max_connections, 32u);
  EXPECT_EQ(g.pool.max_idle, 8u);
  EXPECT_EQ(g.pool.idle_timeout_ms, 2000u);
  EXPECT_EQ(g.pool.wait_timeout_ms, proxy::PoolConfig{}.wait_timeout_ms);
  EXPECT_EQ(g.timeouts.connect_ms, 250u);
  EXPECT_EQ(g.timeouts.request_ms, 30'000u);
  EXPECT_EQ(g.retry.attempts, 3u);
  EXPECT_EQ(g.retry.retry_on, std::vector<uint16_t>{503});
  EXPECT_EQ(g.health.path, "/healthz");
  EXPECT_EQ(g.health.interval_ms, 2000u);
  EXPECT_EQ(g.health.expected_min, 200);
  EXPECT_EQ(g.health.expected_max, 200);
  EXPECT_EQ(g.outlier.consecutive_5xx, 2u);
  EXPECT_EQ(g.outlier.max_ejection_ms, 60'000u);
  EXPECT_EQ(g.breaker.max_requests, 100u);
  ASSERT_EQ(o.proxy_routes.size(), 1u);
  const proxy::ProxyRoute& r = o.proxy_routes[0];
  EXPECT_EQ(r.prefix, "/api/");
  EXPECT_EQ(r.host, "api.example.com");
  EXPECT_EQ(r.methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(r.upstream, "api");
  EXPECT_TRUE(r.strip_prefix);
  EXPECT_TRUE(r.websocket);
  EXPECT_FALSE(r.preserve_host);
}

TEST(ProxyOptions, DottedKeysAreTheSameAsNestedTables) {
  Options nested = apply_ok(
      "[[upstream]]\nname = \"a\"\nbackends = [\"127.0.0.1:1\"]\n[upstream.pool]\nmax_idle = 3\n");
  Options dotted = apply_ok(
      "[[upstream]]\nname = \"a\"\nbackends = [\"127.0.0.1:1\"]\npool.max_idle = 3\n");
  EXPECT_EQ(nested, dotted);
  EXPECT_EQ(dotted.upstreams[0].pool.max_idle, 3u);
}

TEST(ProxyOptions, PrintConfigReadsBackTheSame) {
  Options o = apply_ok(kFull);
  Options again;
  auto error = apply_config_text(effective_config_text(o, Redact::kNothing), "printed", again);
  ASSERT_FALSE(error.has_value()) << error->message;
  again.config_path = o.config_path;
  EXPECT_EQ(again, o);
}

struct BadCase {
  std::string text;
  std::string message;  // after "cfg.toml:"
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << testing::PrintToString(c.text); }

class ProxyBadToml : public testing::TestWithParam<BadCase> {};

TEST_P(ProxyBadToml, NamesTheKey) {
  EXPECT_EQ(apply_error(GetParam().text), "cfg.toml:" + GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ProxyBadToml,
    testing::Values(
        BadCase{"[[upstream]]\nname = \"a\"\nbackends = []\n",
                "3:12: [[upstream]] 1: backends: an upstream needs at least one backend"},
        BadCase{"[[upstream]]\nname = \"a\"\n",
                "1:1: [[upstream]] 1: missing key 'backends'"},
        BadCase{"[[upstream]]\nname = \"a\"\nbackends = [\"h:1 weight=0\"]\n",
                "3:12: [[upstream]] 1: backends: entry 1: 'weight=0': the weight must be "
                "1..1000"},
        BadCase{"[[upstream]]\nname = \"a\"\nbackends = [\"nope\"]\n",
                "3:12: [[upstream]] 1: backends: entry 1: 'nope' is not HOST:PORT (a name or "
                "IPv4 address, or [IPv6], and a port 1..65535)"},
        BadCase{"[[upstream]]\nname = \"a\"\nbackends = [\"h:1\"]\n[upstream.pool]\n"
                "idle_timeout = \"soon\"\n",
                "5:16: [[upstream]] 1: pool.idle_timeout: 'soon' is not a duration; use e.g. "
                "\"250ms\", \"10s\", \"2m\""},
        BadCase{"[[upstream]]\nname = \"a\"\nbackends = [\"h:1\"]\n[upstream.pool]\n"
                "max_idle = 300\n",
                "5:12: [[upstream]] 1: pool.max_idle: 300 is larger than "
                "pool.max_connections (256)"},
        BadCase{"[[upstream]]\nname = \"a\"\nbackends = [\"h:1\"]\n[upstream.pool]\nnope = 1\n",
                "5:1: [[upstream]] 1: unknown key 'pool.nope'; keys are name, backends, "
                "balance, hash_key, tls.enabled, tls.verify, tls.ca_file, tls.server_name, "
                "tls.pins, pool.max_connections, pool.max_idle, pool.idle_timeout, "
                "pool.wait_timeout, pool.max_waiting, timeouts.connect, timeouts.first_byte, "
                "timeouts.idle, timeouts.request, retry.attempts, retry.base, retry.cap, "
                "retry.budget_percent, retry.min_retries, retry.retry_on, health.path, "
                "health.interval, health.timeout, health.expected_status, "
                "health.unhealthy_threshold, health.healthy_threshold, health.jitter, "
                "health.host, outlier.consecutive_5xx, outlier.consecutive_connect_failures, "
                "outlier.base_ejection, outlier.max_ejection, outlier.max_ejection_percent, "
                "breaker.max_connections, breaker.max_pending, breaker.max_requests and forward_proxy"},
        BadCase{"[[upstream]]\nname = \"a\"\nbackends = [\"h:1\"]\ntls.pins = [\"sha256/x\"]\n"
                "tls.enabled = true\n",
                "4:12: [[upstream]] 1: tls.pins: 'sha256/x' is not sha256/ and 44 base64 "
                "characters (the SHA-256 of the public key)"},
        BadCase{"[[upstream]]\nname = \"a\"\nbackends = [\"h:1\"]\nbalance = \"random\"\n",
                "4:11: [[upstream]] 1: balance: 'random' is not round_robin, least_request "
                "or maglev"},
        BadCase{"[[upstream]]\nname = \"a\"\nbackends = [\"h:1\"]\nretry.retry_on = [404]\n",
                "4:18: [[upstream]] 1: retry.retry_on: entry 1: '404' is out of range "
                "500..599"},
        BadCase{"[[upstream]]\nname = \"a\"\nbackends = [\"h:1\"]\n"
                "[[upstream]]\nname = \"a\"\nbackends = [\"h:2\"]\n",
                "5:8: [[upstream]] 2: name: 'a' is used twice"},
        BadCase{"[[route]]\nprefix = \"/x/\"\nupstream = \"ghost\"\n",
                "1:1: [[route]] 1: upstream: no upstream is named 'ghost'"},
        BadCase{"[[upstream]]\nname = \"a\"\nbackends = [\"h:1\"]\n"
                "[[route]]\nprefix = \"x\"\nupstream = \"a\"\n",
                "5:10: [[route]] 1: prefix: 'x' is not a path prefix starting with '/'"},
        BadCase{"[[upstream]]\nname = \"a\"\nbackends = [\"h:1\"]\n"
                "[[route]]\nprefix = \"/\"\nupstream = \"a\"\nstrip_prefix = true\n"
                "replace_prefix = \"/v2/\"\n",
                "8:18: [[route]] 1: replace_prefix: give strip_prefix or replace_prefix, "
                "not both"}));

TEST(ProxyOptions, UpstreamAndRouteFlagsAdd) {
  auto result = parse({"--upstream", "api=127.0.0.1:9001,127.0.0.1:9002 weight=2", "--route",
                       "/api/=api", "--upstream", "web=web.internal:80", "--route", "/=web"});
  ASSERT_TRUE(std::holds_alternative<ParsedOptions>(result))
      << std::get<OptionsError>(result).message;
  const Options& o = std::get<ParsedOptions>(result).options;
  ASSERT_EQ(o.upstreams.size(), 2u);
  EXPECT_EQ(o.upstreams[0].backends[1].weight, 2u);
  EXPECT_EQ(o.upstreams[1].name, "web");
  ASSERT_EQ(o.proxy_routes.size(), 2u);
  EXPECT_EQ(o.proxy_routes[1].prefix, "/");
  EXPECT_EQ(o.proxy_routes[1].upstream, "web");
}

TEST(ProxyOptions, FlagsMergeIntoTheFile) {
  TempFile file(kFull);
  auto result = parse({"--config", file.path(), "--upstream", "api=10.0.0.9:80", "--upstream",
                       "other=10.0.0.8:80", "--route", "/api/=other", "--route", "/x/=api"});
  ASSERT_TRUE(std::holds_alternative<ParsedOptions>(result))
      << std::get<OptionsError>(result).message;
  const Options& o = std::get<ParsedOptions>(result).options;
  ASSERT_EQ(o.upstreams.size(), 2u);
  // The file's group keeps its settings; only the backends change.
  EXPECT_EQ(o.upstreams[0].backends, (std::vector<proxy::Backend>{{"10.0.0.9:80", 1, ""}}));
  EXPECT_EQ(o.upstreams[0].pool.max_connections, 32u);
  EXPECT_EQ(o.upstreams[1].name, "other");
  // The file's route has a host, so --route /api/= adds a route of its own.
  ASSERT_EQ(o.proxy_routes.size(), 3u);
  EXPECT_EQ(o.proxy_routes[0].upstream, "api");
  EXPECT_EQ(o.proxy_routes[1].upstream, "other");
  EXPECT_EQ(o.proxy_routes[2].prefix, "/x/");
  // A second --route for the same prefix replaces the upstream.
  auto again = parse({"--config", file.path(), "--route", "/y/=api", "--route", "/y/=api"});
  ASSERT_TRUE(std::holds_alternative<ParsedOptions>(again));
  EXPECT_EQ(std::get<ParsedOptions>(again).options.proxy_routes.size(), 2u);
}

TEST(ProxyOptions, BadFlagsAreUsageErrors) {
  auto expect_usage = [](std::vector<std::string> args, std::string message) {
    auto result = parse(std::move(args));
    ASSERT_TRUE(std::holds_alternative<OptionsError>(result));
    const OptionsError& e = std::get<OptionsError>(result);
    EXPECT_EQ(e.exit_code(), 64);
    EXPECT_EQ(e.message, message + " (see --help)");
  };
  expect_usage({"--route", "/x/=ghost"},
               "--route: [[route]] 1: upstream: no upstream is named 'ghost'");
  expect_usage({"--upstream", "api"}, "--upstream: 'api' is not NAME=HOST:PORT[,HOST:PORT...]");
  expect_usage({"--upstream", "api=h:99999"},
               "--upstream: backends: entry 1: 'h:99999' is not HOST:PORT (a name or IPv4 "
               "address, or [IPv6], and a port 1..65535)");
  expect_usage({"--upstream", "a b=h:1"},
               "--upstream: name: 'a b' is not a name: use 1-64 of A-Z a-z 0-9 _ -");
}

TEST(ProxyOptions, FileRouteToAMissingUpstreamIsAConfigErrorUnlessAFlagAddsIt) {
  TempFile file("[[route]]\nprefix = \"/x/\"\nupstream = \"late\"\n");
  auto bad = parse({"--config", file.path()});
  ASSERT_TRUE(std::holds_alternative<OptionsError>(bad));
  EXPECT_EQ(std::get<OptionsError>(bad).exit_code(), 78);
  EXPECT_NE(std::get<OptionsError>(bad).message.find("no upstream is named 'late'"),
            std::string::npos);
  auto good = parse({"--config", file.path(), "--upstream", "late=127.0.0.1:1"});
  ASSERT_TRUE(std::holds_alternative<ParsedOptions>(good))
      << std::get<OptionsError>(good).message;
  auto checked = parse({"--check-config", "--config", file.path()});
  ASSERT_TRUE(std::holds_alternative<OptionsError>(checked));
  EXPECT_EQ(std::get<OptionsError>(checked).exit_code(), 78);
}

TEST(ProxyOptions, HelpDocumentsTheFlags) {
  std::string help = usage_text();
  EXPECT_NE(help.find("--upstream NAME=HOST:PORT[,...]"), std::string::npos) << help;
  EXPECT_NE(help.find("--route PREFIX=UPSTREAM"), std::string::npos);
}

}  // namespace
}  // namespace ringshard::server
