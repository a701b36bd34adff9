// http/auth.h: bearer-token and API-key authentication with path rules.
//
//   AuthStore store(AuthConfig{                                // config time
//       .credentials = {{"ci", CredentialKind::kBearer, "9f86d0...", {"deploy"}},
//                       {"ops", CredentialKind::kApiKey, "2c26b4...", {"admin"}}},
//       .rules = {{"/v1/deployments", {"POST", "DELETE"}, "deploy"},
//                 {"/admin/", {}, "admin"}, {"/v1/", {}, ""}}});
//   AuthResult a = store.check(req.method_text, req.path,
//                              req.header("authorization"), req.header("x-api-key"));
//   switch (a.outcome) {
//     case AuthOutcome::kNotRequired: case AuthOutcome::kAllowed: break;
//     default: {
//       AuthChallenge c = store.challenge(a);  // 400, 401 or 403 + header
//       res.header("WWW-Authenticate", c.www_authenticate);
//       return res.send(c.status, "application/json", error_body(c.status, c.message));
//     }
//   }
//
// Credentials: each has a name, a kind (a bearer token sent as
// "Authorization: Bearer <token>" (RFC 6750 2.1), or an API key sent as
// "X-API-Key: <key>"), the SHA-256 of its secret as 64 hex digits (the
// secret itself is never stored), and scopes. A token only matches bearer
// credentials, a key only API-key credentials.
//
// Rules: a rule applies when the path starts with its prefix (a prefix that
// does not end in '/' matches only at a segment boundary: "/admin" covers
// "/admin" and "/admin/x", not "/administrator") and the method is one of
// its methods (empty: every method; GET also covers HEAD, which the router
// serves from GET routes). Prefixes compare raw path bytes, exactly as the
// router matches routes. EVERY applying rule must be satisfied, so adding a
// rule never weakens another; a rule's scope "" asks for any valid
// credential. Call check() after answering CORS preflights (browsers send
// no credentials on those).
//
// Outcomes: no rule applies -> kNotRequired (credentials not even looked
// at). Otherwise no credential, or one that matches nothing -> kUnauthorized
// (401; error="invalid_token" when one was presented, RFC 6750 3.1); a
// malformed Authorization or X-API-Key header, or both headers at once ->
// kBadRequest (400, error="invalid_request"); a valid credential lacking a
// required scope -> kForbidden (403, error="insufficient_scope"); else
// kAllowed with the credential's name. An Authorization header with another
// scheme (Basic, ...) counts as no credential.
//
// Timing: the presented secret is hashed with SHA-256 and the digest is
// compared with EVERY stored digest in constant time, with no early exit and
// no lookup keyed by the secret, so the time taken does not depend on which
// (or whether any) stored secret matched, nor on how much of one did.
//
// AuthStore is immutable after construction and any thread may call
// check(); views in results point into the store (valid while it lives).
// check() allocates nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringshard::http {

enum class CredentialKind : uint8_t { kBearer, kApiKey };

struct Credential {
  std::string name;
  CredentialKind kind = CredentialKind::kBearer;
  std::string secret_sha256_hex;  // 64 hex digits, either case
  std::vector<std::string> scopes;
};

struct AuthRule {
  std::string path_prefix;           // starts with '/'
  std::vector<std::string> methods;  // empty: every method
  std::string scope;                 // "": any valid credential
};

struct AuthConfig {
  std::vector<Credential> credentials;
  std::vector<AuthRule> rules;
  std::string realm = "ringshard";
};

enum class AuthOutcome : uint8_t {
  kNotRequired,   // no rule applies
  kAllowed,       // a rule applies and the credential satisfies all of them
  kUnauthorized,  // 401
  kForbidden,     // 403
  kBadRequest,    // 400: malformed credentials
};

struct AuthResult {
  AuthOutcome outcome = AuthOutcome::kNotRequired;
  bool presented = false;            // a bearer token or API key was sent
  std::string_view credential_name;  // kAllowed, kForbidden
  std::string_view missing_scope;    // kForbidden: the first scope lacking
  std::string_view reason;           // kBadRequest: what was malformed
};

// What to answer for a refused request.
struct AuthChallenge {
  uint16_t status = 0;           // 400, 401 or 403
  std::string www_authenticate;  // the WWW-Authenticate value
  std::string_view message;      // for error_body(status, message)
};

// Upper bound on a bearer token or API key; longer is kBadRequest.
inline constexpr size_t kMaxSecretLength = 4096;

// What an Authorization value holds, for check() and the fuzz target.
struct BearerParse {
  enum Kind : uint8_t {
    kAbsent,     // empty value, or a scheme other than Bearer
    kToken,      // "Bearer" 1*SP b64token
    kMalformed,  // Bearer with no token, bad characters, or too long
  };
  Kind kind = kAbsent;
  std::string_view token;  // kToken: views `value`
};

// Parses `Authorization` per RFC 6750 2.1: credentials = "Bearer" 1*SP
// b64token, b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" /
// "/" ) *"=". The scheme is case-insensitive (RFC 9110 11.1); nothing may
// follow the token (the parser has already removed trailing OWS).
BearerParse parse_bearer(std::string_view authorization);

// The access_token query parameter (RFC 6750 2.3: a bearer token in the
// URI, for clients that cannot set headers, such as a browser opening a
// WebSocket), percent-decoded into `buf`. Empty when the query has none,
// when it is empty or malformed (a bad %XX), or when it does not fit
// `buf`. The first access_token wins. Allocates nothing.
std::string_view access_token_param(std::string_view query, std::span<char> buf);

class AuthStore {
 public:
  // Throws std::invalid_argument (control plane) naming the bad entry: a
  // hash that is not 64 hex digits, two credentials with one name or one
  // kind and hash, an empty name, a scope or realm with '"', '\\' or
  // characters outside %x21-7E (they go into WWW-Authenticate unescaped), a
  // prefix not starting with '/', a method that is not a token.
  explicit AuthStore(AuthConfig config);

  AuthResult check(std::string_view method_text, std::string_view path,
                   std::string_view authorization,
                   std::string_view x_api_key) const;

  // The status and WWW-Authenticate value for kUnauthorized, kForbidden or
  // kBadRequest (status 0 and empty strings for the other outcomes):
  //   Bearer realm="ringshard"
  //   Bearer realm="ringshard", error="invalid_token"
  //   Bearer realm="ringshard", error="invalid_request"
  //   Bearer realm="ringshard", error="insufficient_scope", scope="deploy"
  // Allocates the header value.
  AuthChallenge challenge(const AuthResult& result) const;

  // Whether any rule applies to this request (check() without credentials).
  bool required(std::string_view method_text, std::string_view path) const;

 private:
  struct Stored {
    std::array<uint8_t, 32> digest;  // SHA-256 of the secret
    CredentialKind kind;
  };
  struct Rule {
    std::string prefix;
    std::vector<std::string> methods;
    std::string scope;
  };
  bool rule_applies(const Rule& r, std::string_view method,
                    std::string_view path) const;

  std::vector<Stored> stored_;  // digests, parallel to credentials_
  std::vector<Credential> credentials_;
  std::vector<Rule> rules_;
  std::string realm_;
};

}  // namespace ringshard::http
