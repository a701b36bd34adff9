// Rate strings, key specs, client-address keys and bearer tokens.
#include "ratelimit/rate_spec.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

namespace ringshard::ratelimit {
namespace RS_UNITY_ID {

TEST(ParseRate, Valid) {
  struct Case {
    const char* text;
    uint64_t count;
    uint64_t period_ns;
  };
  for (const Case& c : {Case{"10/s", 10, kNsPerSecond}, Case{"1/m", 1, 60 * kNsPerSecond},
                        Case{"3600/h", 3600, 3600 * kNsPerSecond},
                        Case{"1000000000/s", 1'000'000'000, kNsPerSecond}}) {
    const auto r = parse_rate(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.error;
    EXPECT_EQ(r.value->count, c.count);
    EXPECT_EQ(r.value->period_ns, c.period_ns);
    EXPECT_TRUE(r.error.empty());
  }
}

TEST(ParseRate, Invalid) {
  for (const char* text : {"", "10", "/s", "10/", "0/s", "-1/s", "+1/s", "010/s", "10 /s",
                           " 10/s", "10/s ", "10/sec", "10/d", "10/S", "1000000001/s",
                           "99999999999/s", "1.5/s", "10//s", "10/s/s", "abc"}) {
    const auto r = parse_rate(text);
    EXPECT_FALSE(r.ok()) << '"' << text << '"';
    EXPECT_NE(r.error.find("rate \""), std::string::npos) << r.error;
  }
  EXPECT_NE(parse_rate("10/d").error.find("unit must be s, m or h"), std::string::npos);
  EXPECT_NE(parse_rate("0/s").error.find("from 1 to 1000000000"), std::string::npos);
}

TEST(ParseRate, LongInputIsCutInTheMessage) {
  const auto r = parse_rate(std::string(1000, '9') + "/s");
  EXPECT_FALSE(r.ok());
  EXPECT_LT(r.error.size(), 200u);
}

TEST(LimitFrom, BurstBounds) {
  const RateSpec ten_per_s = *parse_rate("10/s").value;
  const auto ok = limit_from(ten_per_s, 100);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value->interval_ns, 100'000'000u);
  EXPECT_EQ(ok.value->burst, 100u);
  EXPECT_FALSE(limit_from(ten_per_s, 0).ok());
  EXPECT_FALSE(limit_from(ten_per_s, kMaxBurst + 1).ok());
  const auto slow = limit_from(*parse_rate("1/h").value, 10'000);  // 10,000 hours to refill
  EXPECT_FALSE(slow.ok());
  EXPECT_NE(slow.error.find("52 days"), std::string::npos);
}

TEST(ParseKeySpec, Valid) {
  auto k = parse_key_spec("ip");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k.value->kind, KeyKind::kIp);
  EXPECT_EQ(k.value->v4_prefix, 32);
  EXPECT_EQ(k.value->v6_prefix, 64);

  k = parse_key_spec("ip/24");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k.value->v4_prefix, 24);
  EXPECT_EQ(k.value->v6_prefix, 64);

  k = parse_key_spec("ip/16/48");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k.value->v4_prefix, 16);
  EXPECT_EQ(k.value->v6_prefix, 48);

  k = parse_key_spec("header:X-Tenant-ID");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k.value->kind, KeyKind::kHeader);
  EXPECT_EQ(k.value->header, "x-tenant-id");

  EXPECT_EQ(parse_key_spec("bearer").value->kind, KeyKind::kBearer);
  EXPECT_EQ(parse_key_spec("api_key").value->kind, KeyKind::kApiKey);
  EXPECT_TRUE(parse_key_spec("ip/1").ok());
  EXPECT_TRUE(parse_key_spec("ip/32/128").ok());
  EXPECT_TRUE(parse_key_spec("header:a!#$%&'*+-.^_`|~9").ok());
}

TEST(ParseKeySpec, Invalid) {
  for (const char* text : {"", "IP", "ip/", "ip/0", "ip/33", "ip/024", "ip/24/", "ip/24/0",
                           "ip/24/129", "ip/x", "ip /24", "header:", "header:X Y",
                           "header:a:b", "header:\"x\"", "bearer ", "apikey", "cookie:x"}) {
    const auto k = parse_key_spec(text);
    EXPECT_FALSE(k.ok()) << '"' << text << '"';
    EXPECT_NE(k.error.find("key \""), std::string::npos) << k.error;
  }
  EXPECT_FALSE(parse_key_spec("header:" + std::string(65, 'a')).ok());
  EXPECT_TRUE(parse_key_spec("header:" + std::string(64, 'a')).ok());
  EXPECT_FALSE(parse_key_spec(std::string("header:a\0b", 10)).ok());
  EXPECT_NE(parse_key_spec("ip/33").error.find("IPv4 prefix must be from 1 to 32"),
            std::string::npos);
}

sockaddr_in v4(const char* text) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, text, &a.sin_addr);
  return a;
}

sockaddr_in6 v6(const char* text) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  inet_pton(AF_INET6, text, &a.sin6_addr);
  return a;
}

std::string key_of(const sockaddr* a, socklen_t len, uint8_t p4, uint8_t p6) {
  IpKey k;
  if (!ip_key(a, len, p4, p6, &k)) return "<none>";
  return std::string(k.view());
}

template <class A>
std::string key_of(const A& a, uint8_t p4 = 32, uint8_t p6 = 64) {
  return key_of(reinterpret_cast<const sockaddr*>(&a), sizeof a, p4, p6);
}

TEST(IpKey, V4PrefixClearsHostBits) {
  EXPECT_EQ(key_of(v4("192.168.1.77")), std::string("\x04\x20\xc0\xa8\x01\x4d", 6));
  EXPECT_EQ(key_of(v4("192.168.1.77"), 24), std::string("\x04\x18\xc0\xa8\x01\x00", 6));
  EXPECT_EQ(key_of(v4("192.168.1.77"), 20), std::string("\x04\x14\xc0\xa8\x00\x00", 6));
  EXPECT_EQ(key_of(v4("192.168.1.77"), 24), key_of(v4("192.168.1.200"), 24));
  EXPECT_NE(key_of(v4("192.168.1.77"), 24), key_of(v4("192.168.2.77"), 24));
  EXPECT_EQ(key_of(v4("255.255.255.255"), 1), std::string("\x04\x01\x80\x00\x00\x00", 6));
}

TEST(IpKey, V6UsesItsOwnPrefix) {
  const std::string a = key_of(v6("2001:db8:1:2:aaaa::1"));
  ASSERT_EQ(a.size(), 18u);
  EXPECT_EQ(a[0], 6);
  EXPECT_EQ(a[1], 64);
  EXPECT_EQ(a, key_of(v6("2001:db8:1:2:ffff::9")));  // same /64
  EXPECT_NE(a, key_of(v6("2001:db8:1:3::1")));
  EXPECT_EQ(key_of(v6("2001:db8:1:2::1"), 24, 48), key_of(v6("2001:db8:1:ff::1"), 24, 48));
  EXPECT_EQ(key_of(v6("2001:db8::1"), 32, 128).size(), 18u);
}

TEST(IpKey, V4MappedV6IsV4) {
  EXPECT_EQ(key_of(v6("::ffff:10.1.2.3"), 24), key_of(v4("10.1.2.99"), 24));
  EXPECT_EQ(key_of(v6("::ffff:10.1.2.3")), key_of(v4("10.1.2.3")));
}

TEST(IpKey, RejectsOtherFamiliesAndShortLengths) {
  sockaddr_in a = v4("10.0.0.1");
  EXPECT_EQ(key_of(reinterpret_cast<const sockaddr*>(&a), 4, 32, 64), "<none>");
  sockaddr_storage unix_addr{};
  unix_addr.ss_family = AF_UNIX;
  EXPECT_EQ(key_of(unix_addr), "<none>");
  IpKey k;
  EXPECT_FALSE(ip_key(nullptr, 0, 32, 64, &k));
}

TEST(BearerToken, ExtractsToken68) {
  EXPECT_EQ(bearer_token("Bearer abc.DEF-123_~+/=="), "abc.DEF-123_~+/==");
  EXPECT_EQ(bearer_token("bearer   tok"), "tok");
  EXPECT_EQ(bearer_token("BEARER tok "), "tok");
  EXPECT_EQ(bearer_token("Bearer"), "");
  EXPECT_EQ(bearer_token("Bearer "), "");
  EXPECT_EQ(bearer_token("Basic dXNlcg=="), "");
  EXPECT_EQ(bearer_token("Bearertok"), "");
  EXPECT_EQ(bearer_token("Bearer a b"), "");
  EXPECT_EQ(bearer_token("Bearer =abc"), "");
  EXPECT_EQ(bearer_token("Bearer ab=c"), "");
}

}  // namespace
}  // namespace ringshard::ratelimit
