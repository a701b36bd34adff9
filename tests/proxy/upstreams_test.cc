// Tests for proxy/upstreams.h and proxy/request_key.h: building from a
// config (and refusing a bad one), route -> group, begin/end bookkeeping
// (breaker slots, balancer counts, metrics, outlier feed), 503 when no
// backend is eligible, and the hash key of a request.
#include "proxy/upstreams.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/hash.h"
#include "proxy/request_key.h"

namespace ringshard::proxy {
namespace {

std::vector<UpstreamGroup> groups() {
  UpstreamGroup a;
  a.name = "a";
  a.backends = {{.address = "10.0.0.1:80"}, {.address = "10.0.0.2:80"}};
  a.breaker.max_requests = 1;
  a.outlier.consecutive_connect_failures = 1;
  a.outlier.max_ejection_percent = 100;
  UpstreamGroup b;
  b.name = "b";
  b.balance = BalancePolicy::kMaglev;
  b.backends = {{.address = "10.0.1.1:80"}, {.address = "10.0.1.2:80"}, {.address = "10.0.1.3:80"}};
  return {a, b};
}

std::vector<ProxyRoute> routes() {
  return {{.prefix = "/a/", .upstream = "a"}, {.prefix = "/b/", .upstream = "b"}};
}

TEST(Upstreams, CreateRefusesAnInvalidConfig) {
  std::string error;
  std::vector<ProxyRoute> bad = {{.prefix = "/", .upstream = "ghost"}};
  EXPECT_EQ(Upstreams::create(groups(), bad, error), nullptr);
  EXPECT_EQ(error, "[[route]] 1: upstream: no upstream is named 'ghost'");
}

TEST(Upstreams, RoutesLeadToGroups) {
  std::string error;
  auto ups = Upstreams::create(groups(), routes(), error);
  ASSERT_NE(ups, nullptr) << error;
  size_t r = ups->routes().match_index("", "GET", "/b/x");
  ASSERT_NE(r, RouteTable::kNoRoute);
  EXPECT_EQ(ups->group(ups->route_group(r)).name, "b");
  EXPECT_EQ(ups->find("a"), 0u);
  EXPECT_EQ(ups->find("zz"), kNone);
}

TEST(ShardUpstreams, BeginTakesTheBreakerSlotAndEndGivesItBack) {
  std::string error;
  auto ups = Upstreams::create(groups(), routes(), error);
  ShardUpstreams shard(*ups, 1);
  auto l1 = shard.begin(0, 0, 0);
  auto l2 = shard.begin(0, 0, 0);
  ASSERT_TRUE(l1.ok() && l2.ok());
  EXPECT_NE(l1.backend, l2.backend);  // max_requests = 1 per backend
  auto l3 = shard.begin(0, 0, 0);
  EXPECT_FALSE(l3.ok());             // both breakers open: 503
  EXPECT_EQ(shard.metrics(0).unavailable.get(), 1u);
  shard.end(l1, 200, Outcome::kSuccess, 1'000'000, 0);
  auto l4 = shard.begin(0, 0, 0);
  ASSERT_TRUE(l4.ok());
  EXPECT_EQ(l4.backend, l1.backend);
  EXPECT_EQ(shard.metrics(0).backend(l1.backend).requests.get(), 2u);
  EXPECT_EQ(shard.metrics(0).backend(l1.backend).responses[1].get(), 1u);
}

TEST(ShardUpstreams, ErrorsFeedOutlierDetectionSharedByShards) {
  std::string error;
  auto ups = Upstreams::create(groups(), routes(), error);
  ShardUpstreams s1(*ups, 1), s2(*ups, 2);
  auto lease = s1.begin(0, 0, 0);
  ASSERT_TRUE(lease.ok());
  s1.end_with_error(lease, ProxyError::kConnect, Outcome::kConnectFailure, 0);
  EXPECT_EQ(s1.metrics(0).backend(lease.backend).errors[0].get(), 1u);
  // Ejected for every shard: the other shard never picks it now.
  for (int k = 0; k < 10; ++k) {
    auto l = s2.begin(0, 0, 1);
    ASSERT_TRUE(l.ok());
    EXPECT_NE(l.backend, lease.backend);
    s2.end(l, 200, Outcome::kSuccess, 0, 1);
  }
}

TEST(ShardUpstreams, MaglevStickinessAcrossShards) {
  std::string error;
  auto ups = Upstreams::create(groups(), routes(), error);
  ShardUpstreams s1(*ups, 1), s2(*ups, 2);
  for (int k = 0; k < 100; ++k) {
    uint64_t h = hash64("user" + std::to_string(k));
    auto a = s1.begin(1, h, 0);
    auto b = s2.begin(1, h, 0);
    EXPECT_EQ(a.backend, b.backend);
    s1.end(a, 200, Outcome::kSuccess, 0, 0);
    s2.end(b, 200, Outcome::kSuccess, 0, 0);
  }
}

TEST(RequestKey, HeaderCookieAndFallback) {
  std::vector<http::Header> h = {{"X-User", "alice"}, {"Cookie", "a=1; sid=\"xyz\" ; b=2"},
                                 {"cookie", "late=3"}};
  EXPECT_EQ(request_key({HashKey::Source::kHeader, "x-user"}, h, "1.2.3.4"), "alice");
  EXPECT_EQ(request_key({HashKey::Source::kHeader, "x-none"}, h, "1.2.3.4"), "1.2.3.4");
  EXPECT_EQ(request_key({HashKey::Source::kCookie, "sid"}, h, "1.2.3.4"), "xyz");
  EXPECT_EQ(request_key({HashKey::Source::kCookie, "late"}, h, "1.2.3.4"), "3");
  EXPECT_EQ(request_key({HashKey::Source::kCookie, "s"}, h, "1.2.3.4"), "1.2.3.4");
  EXPECT_EQ(request_key({}, h, "1.2.3.4"), "1.2.3.4");
  EXPECT_EQ(request_key_hash({}, h, "1.2.3.4"), hash64("1.2.3.4"));
  EXPECT_EQ(find_cookie(h, "b"), "2");
  EXPECT_EQ(find_cookie(h, ""), "");
}

}  // namespace
}  // namespace ringshard::proxy
