// Header values for decisions: legacy X-RateLimit-*, the draft-11 fields
// and Retry-After.
#include "ratelimit/headers.h"

#include <gtest/gtest.h>

#include <string>

namespace ringshard::ratelimit {
namespace RS_UNITY_ID {

constexpr uint64_t kSec = kNsPerSecond;

TEST(Headers, CeilSeconds) {
  EXPECT_EQ(ceil_seconds(0), 0u);
  EXPECT_EQ(ceil_seconds(1), 1u);
  EXPECT_EQ(ceil_seconds(kSec), 1u);
  EXPECT_EQ(ceil_seconds(kSec + 1), 2u);
}

TEST(Headers, AdmittedValues) {
  const Limit l = *make_limit(10, kSec, 100);  // 100 per 10 s
  const Decision d{true, 100, 42, 5 * kSec + 1, 0};
  char buf[kMaxValueSize];
  EXPECT_EQ(format_limit(d, buf), "100");
  EXPECT_EQ(format_remaining(d, buf), "42");
  EXPECT_EQ(format_reset(d, buf), "6");
  EXPECT_EQ(format_policy("api", l, buf), "\"api\";q=100;w=10");
  EXPECT_EQ(format_ratelimit("api", d, buf), "\"api\";r=42;t=6");
}

TEST(Headers, RefusedValues) {
  const Decision d{false, 100, 0, 10 * kSec, kSec / 10};
  char buf[kMaxValueSize];
  EXPECT_EQ(format_retry_after(d, buf), "1");
  EXPECT_EQ(format_reset(d, buf), "10");
  // t equals Retry-After: within it, r = 0 is exactly what is available.
  EXPECT_EQ(format_ratelimit("api", d, buf), "\"api\";r=0;t=1");
  const Decision later{false, 5, 0, 100 * kSec, 2 * kSec + 1};
  EXPECT_EQ(format_retry_after(later, buf), "3");
  EXPECT_EQ(format_ratelimit("per-ip", later, buf), "\"per-ip\";r=0;t=3");
}

TEST(Headers, RetryAfterIsAtLeastOneSecond) {
  char buf[kMaxValueSize];
  EXPECT_EQ(format_retry_after(Decision{false, 1, 0, 1, 1}, buf), "1");
  EXPECT_EQ(format_retry_after(Decision{false, 1, 0, 0, 0}, buf), "1");
}

TEST(Headers, PolicyWindowRoundsUpAndIsAtLeastOne) {
  char buf[kMaxValueSize];
  EXPECT_EQ(format_policy("p", *make_limit(1000, kSec, 1), buf), "\"p\";q=1;w=1");  // 1 ms
  EXPECT_EQ(format_policy("p", *make_limit(3, kSec, 10), buf), "\"p\";q=10;w=4");  // 3.33 s
  EXPECT_EQ(format_policy("p", *make_limit(100, 3600 * kSec, 100), buf), "\"p\";q=100;w=3600");
}

TEST(Headers, SmallBufferGivesEmptyView) {
  char tiny[5];
  EXPECT_EQ(format_ratelimit("api", Decision{true, 1, 1, 1, 0}, tiny), "");
  EXPECT_EQ(format_limit(Decision{true, 123456, 0, 0, 0}, tiny), "");
  EXPECT_EQ(format_limit(Decision{true, 12345, 0, 0, 0}, tiny), "12345");
}

TEST(Headers, MaxValueSizeFitsTheLongestValues) {
  char buf[kMaxValueSize];
  const std::string name(kMaxPolicyNameLength, 'n');
  const Decision d{true, ~uint64_t{0}, ~uint64_t{0}, ~uint64_t{0}, ~uint64_t{0}};
  EXPECT_FALSE(format_ratelimit(name, d, buf).empty());
  EXPECT_FALSE(format_policy(name, Limit{kMaxBurst, kMaxWindowNs, kMaxWindowNs}, buf).empty());
}

TEST(Headers, PolicyNames) {
  EXPECT_TRUE(is_valid_policy_name("api"));
  EXPECT_TRUE(is_valid_policy_name("per ip, v1"));
  EXPECT_FALSE(is_valid_policy_name(""));
  EXPECT_FALSE(is_valid_policy_name("a\"b"));
  EXPECT_FALSE(is_valid_policy_name("a\\b"));
  EXPECT_FALSE(is_valid_policy_name("tab\t"));
  EXPECT_FALSE(is_valid_policy_name("caf\xc3\xa9"));
  EXPECT_FALSE(is_valid_policy_name(std::string(kMaxPolicyNameLength + 1, 'a')));
}

TEST(Headers, AppendAllLines) {
  const Limit l = *make_limit(10, kSec, 100);
  std::string out;
  append_headers("api", l, Decision{true, 100, 99, kSec / 10, 0}, out);
  EXPECT_EQ(out,
            "X-RateLimit-Limit: 100\r\n"
            "X-RateLimit-Remaining: 99\r\n"
            "X-RateLimit-Reset: 1\r\n"
            "RateLimit-Policy: \"api\";q=100;w=10\r\n"
            "RateLimit: \"api\";r=99;t=1\r\n");
  out.clear();
  append_headers("api", l, Decision{false, 100, 0, 10 * kSec, kSec / 10}, out);
  EXPECT_EQ(out,
            "X-RateLimit-Limit: 100\r\n"
            "X-RateLimit-Remaining: 0\r\n"
            "X-RateLimit-Reset: 10\r\n"
            "RateLimit-Policy: \"api\";q=100;w=10\r\n"
            "RateLimit: \"api\";r=0;t=1\r\n"
            "Retry-After: 1\r\n");
}

}  // namespace
}  // namespace ringshard::ratelimit
