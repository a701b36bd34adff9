// Tests for http/auth.h: the Authorization (Bearer) parser, a table of
// requests against one store (rules by prefix and method, both credential
// kinds, scopes), the WWW-Authenticate challenges, and config checking.
#include "http/auth.h"

#include <gtest/gtest.h>

#include <cctype>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tls/digest.h"

namespace ringshard::http {
namespace RS_UNITY_ID {

using tls::sha256_hex;

TEST(Auth, ParseBearer) {
  struct Case {
    std::string_view in;
    BearerParse::Kind kind;
    std::string_view token;
  };
  const Case cases[] = {
      {"", BearerParse::kAbsent, {}},
      {"Basic dXNlcjpwYXNz", BearerParse::kAbsent, {}},
      {"Bearerx abc", BearerParse::kAbsent, {}},
      {"Bear abc", BearerParse::kAbsent, {}},
      {"Bearer abc", BearerParse::kToken, "abc"},
      {"bearer abc", BearerParse::kToken, "abc"},
      {"BEARER abc", BearerParse::kToken, "abc"},
      {"Bearer   abc", BearerParse::kToken, "abc"},  // 1*SP
      {"Bearer a-._~+/Z9", BearerParse::kToken, "a-._~+/Z9"},
      {"Bearer abc==", BearerParse::kToken, "abc=="},
      {"Bearer", BearerParse::kMalformed, {}},
      {"Bearer ", BearerParse::kMalformed, {}},
      {"Bearer\tabc", BearerParse::kMalformed, {}},
      {"Bearer,abc", BearerParse::kMalformed, {}},
      {"Bearer ==", BearerParse::kMalformed, {}},
      {"Bearer a=b", BearerParse::kMalformed, {}},
      {"Bearer abc def", BearerParse::kMalformed, {}},
      {"Bearer abc ", BearerParse::kMalformed, {}},
      {"Bearer \"abc\"", BearerParse::kMalformed, {}},
      {"Bearer ab\xc3\xa9", BearerParse::kMalformed, {}},
      {"Bearer a,b", BearerParse::kMalformed, {}},
  };
  for (const Case& c : cases) {
    const BearerParse r = parse_bearer(c.in);
    EXPECT_EQ(r.kind, c.kind) << c.in;
    EXPECT_EQ(r.token, c.token) << c.in;
  }
  const std::string longest = "Bearer " + std::string(kMaxSecretLength, 'a');
  EXPECT_EQ(parse_bearer(longest).kind, BearerParse::kToken);
  EXPECT_EQ(parse_bearer(longest + "a").kind, BearerParse::kMalformed);
}

AuthStore make_store() {
  return AuthStore(AuthConfig{
      .credentials =
          {
              {"ci", CredentialKind::kBearer, sha256_hex("tok-ci"), {"deploy", "read"}},
              {"reader", CredentialKind::kBearer, sha256_hex("tok-reader"), {"read"}},
              {"ops", CredentialKind::kApiKey, sha256_hex("key-ops"), {"admin"}},
              // Same secret as "ci" but the other kind: only as an API key.
              {"ci-key", CredentialKind::kApiKey, sha256_hex("tok-ci"), {}},
          },
      .rules =
          {
              {"/v1/deployments", {"POST", "DELETE"}, "deploy"},
              {"/v1/deployments", {"GET"}, "read"},
              {"/admin", {}, "admin"},
              {"/v1/", {}, ""},
          },
  });
}

struct CheckCase {
  const char* name;
  std::string_view method;
  std::string_view path;
  std::string_view authorization;
  std::string_view api_key;
  AuthOutcome outcome;
  std::string_view credential = {};
  std::string_view missing_scope = {};
};

TEST(Auth, CheckTable) {
  const AuthStore store = make_store();
  using O = AuthOutcome;
  const CheckCase cases[] = {
      {"no rule", "GET", "/health", "", "", O::kNotRequired},
      {"no rule ignores garbage", "GET", "/health", "Bearer", "\x01", O::kNotRequired},
      {"segment boundary", "GET", "/administrator", "", "", O::kNotRequired},
      {"missing", "GET", "/v1/things", "", "", O::kUnauthorized},
      {"other scheme is missing", "GET", "/v1/things", "Basic eDp5", "", O::kUnauthorized},
      {"any valid credential", "GET", "/v1/things", "Bearer tok-reader", "", O::kAllowed,
       "reader"},
      {"scheme case", "GET", "/v1/things", "bEaReR tok-reader", "", O::kAllowed, "reader"},
      {"wrong token", "GET", "/v1/things", "Bearer tok-nope", "", O::kUnauthorized},
      {"token prefix is wrong", "GET", "/v1/things", "Bearer tok-rea", "", O::kUnauthorized},
      {"malformed bearer", "GET", "/v1/things", "Bearer a b", "", O::kBadRequest},
      {"scope present", "POST", "/v1/deployments", "Bearer tok-ci", "", O::kAllowed, "ci"},
      {"scope lacking", "POST", "/v1/deployments", "Bearer tok-reader", "", O::kForbidden,
       "reader", "deploy"},
      {"sub-path covered", "DELETE", "/v1/deployments/7", "Bearer tok-reader", "",
       O::kForbidden, "reader", "deploy"},
      {"GET rule", "GET", "/v1/deployments", "Bearer tok-reader", "", O::kAllowed, "reader"},
      {"HEAD covered by GET", "HEAD", "/v1/deployments", "", "", O::kUnauthorized},
      {"PUT: only the /v1/ rule", "PUT", "/v1/deployments", "Bearer tok-reader", "",
       O::kAllowed, "reader"},
      {"api key", "GET", "/admin", "", "key-ops", O::kAllowed, "ops"},
      {"api key on sub-path", "POST", "/admin/restart", "", "key-ops", O::kAllowed, "ops"},
      {"api key lacking scope", "GET", "/admin", "", "tok-ci", O::kForbidden, "ci-key",
       "admin"},
      {"bearer secret is not an api key", "GET", "/admin", "", "tok-reader",
       O::kUnauthorized},
      {"api key secret is not a bearer", "GET", "/admin", "Bearer key-ops", "",
       O::kUnauthorized},
      {"wrong api key", "GET", "/admin", "", "key-nope", O::kUnauthorized},
      {"malformed api key", "GET", "/admin", "", "key ops", O::kBadRequest},
      {"api key with obs-text", "GET", "/admin", "", "key\xff", O::kBadRequest},
      {"both", "GET", "/admin", "Bearer tok-ci", "key-ops", O::kBadRequest},
      {"basic beside api key", "GET", "/admin", "Basic eDp5", "key-ops", O::kAllowed,
       "ops"},
      {"unknown method, all-method rule", "PURGE", "/admin", "", "", O::kUnauthorized},
  };
  for (const CheckCase& c : cases) {
    SCOPED_TRACE(c.name);
    const AuthResult r = store.check(c.method, c.path, c.authorization, c.api_key);
    EXPECT_EQ(r.outcome, c.outcome);
    EXPECT_EQ(r.credential_name, c.credential);
    EXPECT_EQ(r.missing_scope, c.missing_scope);
    EXPECT_EQ(r.reason.empty(), c.outcome != AuthOutcome::kBadRequest);
  }
}

TEST(Auth, Challenges) {
  const AuthStore store = make_store();
  AuthChallenge c = store.challenge(store.check("GET", "/v1/x", "", ""));
  EXPECT_EQ(c.status, 401);
  EXPECT_EQ(c.www_authenticate, "Bearer realm=\"ringshard\"");
  EXPECT_FALSE(c.message.empty());

  c = store.challenge(store.check("GET", "/v1/x", "Bearer nope", ""));
  EXPECT_EQ(c.status, 401);
  EXPECT_EQ(c.www_authenticate, "Bearer realm=\"ringshard\", error=\"invalid_token\"");

  c = store.challenge(store.check("GET", "/v1/x", "Bearer", ""));
  EXPECT_EQ(c.status, 400);
  EXPECT_EQ(c.www_authenticate, "Bearer realm=\"ringshard\", error=\"invalid_request\"");

  c = store.challenge(store.check("POST", "/v1/deployments", "Bearer tok-reader", ""));
  EXPECT_EQ(c.status, 403);
  EXPECT_EQ(c.www_authenticate,
            "Bearer realm=\"ringshard\", error=\"insufficient_scope\", scope=\"deploy\"");

  c = store.challenge(store.check("GET", "/v1/x", "Bearer tok-ci", ""));
  EXPECT_EQ(c.status, 0);
  EXPECT_TRUE(c.www_authenticate.empty());
}

TEST(Auth, RequiredAndEmptyStore) {
  const AuthStore store = make_store();
  EXPECT_TRUE(store.required("GET", "/v1/"));
  EXPECT_TRUE(store.required("GET", "/admin"));
  EXPECT_FALSE(store.required("GET", "/v1"));  // "/v1/" ends in '/': a plain prefix
  const AuthStore none(AuthConfig{});
  EXPECT_EQ(none.check("GET", "/", "Bearer x", "").outcome, AuthOutcome::kNotRequired);
  const AuthStore no_creds(AuthConfig{.rules = {{"/", {}, ""}}});
  EXPECT_EQ(no_creds.check("GET", "/", "Bearer x", "").outcome, AuthOutcome::kUnauthorized);
}

TEST(Auth, UppercaseHexAccepted) {
  std::string hex = sha256_hex("s3cret");
  for (char& ch : hex) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const AuthStore store(AuthConfig{
      .credentials = {{"a", CredentialKind::kBearer, hex, {}}},
      .rules = {{"/", {}, ""}}});
  EXPECT_EQ(store.check("GET", "/", "Bearer s3cret", "").outcome, AuthOutcome::kAllowed);
}

TEST(Auth, RejectsBadConfig) {
  const std::string h = sha256_hex("x");
  auto build = [](AuthConfig c) { AuthStore s(std::move(c)); };
  EXPECT_THROW(build({.credentials = {{"a", CredentialKind::kBearer, "abc", {}}}}),
               std::invalid_argument);
  EXPECT_THROW(build({.credentials = {{"a", CredentialKind::kBearer, h.substr(1) + "g", {}}}}),
               std::invalid_argument);
  EXPECT_THROW(build({.credentials = {{"", CredentialKind::kBearer, h, {}}}}),
               std::invalid_argument);
  EXPECT_THROW(build({.credentials = {{"a", CredentialKind::kBearer, h, {}},
                                      {"a", CredentialKind::kApiKey, sha256_hex("y"), {}}}}),
               std::invalid_argument);
  EXPECT_THROW(build({.credentials = {{"a", CredentialKind::kBearer, h, {}},
                                      {"b", CredentialKind::kBearer, h, {}}}}),
               std::invalid_argument);
  EXPECT_NO_THROW(build({.credentials = {{"a", CredentialKind::kBearer, h, {}},
                                         {"b", CredentialKind::kApiKey, h, {}}}}));
  EXPECT_THROW(build({.credentials = {{"a", CredentialKind::kBearer, h, {"a\"b"}}}}),
               std::invalid_argument);
  EXPECT_THROW(build({.rules = {{"v1", {}, ""}}}), std::invalid_argument);
  EXPECT_THROW(build({.rules = {{"/v1", {"G T"}, ""}}}), std::invalid_argument);
  EXPECT_THROW(build({.rules = {{"/v1", {}, "a b"}}}), std::invalid_argument);
  EXPECT_THROW(build({.realm = "a\"b"}), std::invalid_argument);
}

}  // namespace
}  // namespace ringshard::http
