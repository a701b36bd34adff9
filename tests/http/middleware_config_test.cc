// Tests for the built-in middleware's construction and metrics, which need
// no server: config checking (http/mw_security_headers.h, http/mw_cors.h,
// http/mw_auth.h), per-shard layout (http/mw_request_id.h) and the
// Prometheus text of AuthMiddleware::write_metrics. Their request paths are
// tested live in tests/integration/middleware_test.cc.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "http/mw_auth.h"
#include "http/mw_cors.h"
#include "http/mw_request_id.h"
#include "http/mw_security_headers.h"
#include "obs/prometheus.h"
#include "tls/digest.h"

namespace ringshard::http {
namespace RS_UNITY_ID {

TEST(SecurityHeadersMiddleware, RefusesValuesThatWouldSplitOrBreakTheHead) {
  EXPECT_NO_THROW(SecurityHeadersMiddleware(SecurityHeadersConfig{}));
  EXPECT_NO_THROW(SecurityHeadersMiddleware(
      SecurityHeadersConfig{.content_security_policy = "default-src 'self';\tframe-ancestors 'none'"}));
  EXPECT_NO_THROW(SecurityHeadersMiddleware(
      SecurityHeadersConfig{.hsts = "", .frame_options = "", .referrer_policy = ""}));
  for (const std::string& bad : {std::string("a\r\nX-Evil: 1"), std::string("a\nb"),
                                std::string("a\0b", 3), std::string("a\x7f"), std::string(" a"),
                                std::string("a\t")}) {
    EXPECT_THROW(SecurityHeadersMiddleware(SecurityHeadersConfig{.hsts = bad}),
                 std::invalid_argument);
    EXPECT_THROW(SecurityHeadersMiddleware(SecurityHeadersConfig{.frame_options = bad}),
                 std::invalid_argument);
    EXPECT_THROW(SecurityHeadersMiddleware(SecurityHeadersConfig{.referrer_policy = bad}),
                 std::invalid_argument);
    EXPECT_THROW(SecurityHeadersMiddleware(SecurityHeadersConfig{.content_security_policy = bad}),
                 std::invalid_argument);
  }
  try {
    SecurityHeadersMiddleware m(SecurityHeadersConfig{.referrer_policy = "x\ry"});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("referrer_policy"), std::string::npos) << e.what();
  }
}

TEST(CorsMiddleware, RefusesWhatThePolicyRefuses) {
  EXPECT_THROW(CorsMiddleware(CorsConfig{}), std::invalid_argument);  // no origin at all
  EXPECT_THROW(CorsMiddleware(CorsConfig{.allow_origins = {"https://a.example/x"}}),
               std::invalid_argument);
  EXPECT_THROW(CorsMiddleware(CorsConfig{.allow_origins = {"*"},
                                         .expose_headers = {"*"},
                                         .allow_credentials = true}),
               std::invalid_argument);
  CorsMiddleware ok(CorsConfig{.allow_origins = {"https://a.example"}});
  EXPECT_EQ(ok.policy().config().allow_origins.size(), 1u);
}

TEST(RequestIdMiddleware, KeepsWhatItWasAskedFor) {
  RequestIdMiddleware both(4, true, true);
  EXPECT_EQ(both.shards(), 4u);
  EXPECT_TRUE(both.request_id_enabled());
  EXPECT_TRUE(both.trace_context_enabled());
  RequestIdMiddleware ids(1, true, false, 42);
  EXPECT_FALSE(ids.trace_context_enabled());
}

AuthConfig one_rule() {
  AuthConfig c;
  c.credentials = {{"ci", CredentialKind::kBearer, tls::sha256_hex("t"), {"deploy"}}};
  c.rules = {{"/v1/", {}, ""}};
  return c;
}

TEST(AuthMiddleware, RefusesWhatTheStoreRefuses) {
  AuthConfig bad = one_rule();
  bad.credentials[0].secret_sha256_hex = "abc";
  EXPECT_THROW(AuthMiddleware(bad, 2), std::invalid_argument);
  bad = one_rule();
  bad.rules[0].path_prefix = "v1";
  EXPECT_THROW(AuthMiddleware(bad, 2), std::invalid_argument);
}

TEST(AuthMiddleware, WritesEveryResultFromTheStart) {
  AuthMiddleware auth(one_rule(), 3);
  const AuthDecisionCounts n = auth.counts();
  EXPECT_EQ(n.allowed + n.unauthorized + n.forbidden + n.bad_request, 0u);
  std::string text;
  obs::PrometheusWriter w(text);
  auth.write_metrics(w);
  EXPECT_TRUE(w.ok()) << w.error();
  EXPECT_EQ(text,
            "# HELP ringshard_auth_decisions_total Authentication decisions on requests an auth "
            "rule covers, by result.\n"
            "# TYPE ringshard_auth_decisions_total counter\n"
            "ringshard_auth_decisions_total{result=\"allowed\"} 0\n"
            "ringshard_auth_decisions_total{result=\"unauthorized\"} 0\n"
            "ringshard_auth_decisions_total{result=\"forbidden\"} 0\n"
            "ringshard_auth_decisions_total{result=\"bad_request\"} 0\n");
}

}  // namespace
}  // namespace ringshard::http
