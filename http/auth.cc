#include "http/auth.h"

#include <stdexcept>
#include <utility>

#include "http/chars.h"
#include "http/request.h"
// The one piece of tls/ that http/ uses: pure hashing, no sessions
// (docs/architecture.md).
#include "tls/digest.h"

namespace ringshard::http {

namespace {

bool is_b64token_char(char c) {
  return chars::is_alpha(c) || chars::is_digit(c) || c == '-' || c == '.' ||
         c == '_' || c == '~' || c == '+' || c == '/';
}

// RFC 6750 scope-token: 1*( %x21 / %x23-5B / %x5D-7E ).
bool is_scope_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

bool is_visible_ascii(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e) return false;
  }
  return true;
}

bool parse_sha256_hex(std::string_view hex, std::array<uint8_t, 32>& out) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    const int hi = chars::hex_value(hex[2 * i]);
    const int lo = chars::hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace

BearerParse parse_bearer(std::string_view v) {
  BearerParse r;
  constexpr std::string_view kScheme = "bearer";
  if (v.size() < kScheme.size() || !iequals(v.substr(0, kScheme.size()), kScheme)) {
    return r;  // another scheme (or none): not a bearer credential
  }
  std::string_view rest = v.substr(kScheme.size());
  if (!rest.empty() && chars::is_tchar(rest.front())) return r;  // "Bearerx"
  r.kind = BearerParse::kMalformed;
  size_t sp = 0;
  while (sp < rest.size() && rest[sp] == ' ') ++sp;
  if (sp == 0) return r;  // "Bearer" alone, or a separator other than SP
  rest.remove_prefix(sp);
  if (rest.empty() || rest.size() > kMaxSecretLength) return r;
  size_t i = 0;
  while (i < rest.size() && is_b64token_char(rest[i])) ++i;
  if (i == 0) return r;  // the token cannot be only padding
  while (i < rest.size() && rest[i] == '=') ++i;
  if (i != rest.size()) return r;
  r.kind = BearerParse::kToken;
  r.token = rest;
  return r;
}

AuthStore::AuthStore(AuthConfig config) : realm_(std::move(config.realm)) {
  for (char c : realm_) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == '"' || c == '\\') {
      throw std::invalid_argument("auth realm '" + realm_ +
                                  "' has a character that needs quoting");
    }
  }
  for (Credential& c : config.credentials) {
    if (c.name.empty()) throw std::invalid_argument("auth credential without a name");
    Stored s{{}, c.kind};
    if (!parse_sha256_hex(c.secret_sha256_hex, s.digest)) {
      throw std::invalid_argument("auth credential '" + c.name +
                                  "': secret_sha256_hex is not 64 hex digits");
    }
    for (const std::string& scope : c.scopes) {
      if (!is_scope_token(scope)) {
        throw std::invalid_argument("auth credential '" + c.name + "': scope '" +
                                    scope + "' is not a scope-token");
      }
    }
    for (size_t i = 0; i < credentials_.size(); ++i) {
      if (credentials_[i].name == c.name) {
        throw std::invalid_argument("auth credential '" + c.name + "' given twice");
      }
      if (stored_[i].kind == s.kind && stored_[i].digest == s.digest) {
        throw std::invalid_argument("auth credentials '" + credentials_[i].name +
                                    "' and '" + c.name + "' have the same secret");
      }
    }
    stored_.push_back(s);
    credentials_.push_back(std::move(c));
  }
  for (AuthRule& r : config.rules) {
    if (r.path_prefix.empty() || r.path_prefix.front() != '/') {
      throw std::invalid_argument("auth rule prefix '" + r.path_prefix +
                                  "' does not start with '/'");
    }
    for (const std::string& m : r.methods) {
      bool token = !m.empty();
      for (char c : m) token &= chars::is_tchar(c);
      if (!token) throw std::invalid_argument("auth rule method '" + m + "' is not a token");
    }
    if (!r.scope.empty() && !is_scope_token(r.scope)) {
      throw std::invalid_argument("auth rule scope '" + r.scope + "' is not a scope-token");
    }
    rules_.push_back({std::move(r.path_prefix), std::move(r.methods), std::move(r.scope)});
  }
}

bool AuthStore::rule_applies(const Rule& r, std::string_view method,
                             std::string_view path) const {
  if (!path.starts_with(r.prefix)) return false;
  if (r.prefix.back() != '/' && path.size() > r.prefix.size() &&
      path[r.prefix.size()] != '/') {
    return false;  // "/admin" must not cover "/administrator"
  }
  if (r.methods.empty()) return true;
  for (const std::string& m : r.methods) {
    if (m == method || (m == "GET" && method == "HEAD")) return true;
  }
  return false;
}

bool AuthStore::required(std::string_view method, std::string_view path) const {
  for (const Rule& r : rules_) {
    if (rule_applies(r, method, path)) return true;
  }
  return false;
}

std::string_view access_token_param(std::string_view query, std::span<char> buf) {
  constexpr std::string_view kName = "access_token=";
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (!pair.starts_with(kName)) continue;
    const std::string_view raw = pair.substr(kName.size());
    size_t n = 0;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (n == buf.size()) return {};
      char c = raw[i];
      if (c == '%') {
        if (i + 2 >= raw.size()) return {};
        const int hi = chars::hex_value(raw[i + 1]);
        const int lo = chars::hex_value(raw[i + 2]);
        if (hi < 0 || lo < 0) return {};
        c = static_cast<char>(hi * 16 + lo);
        i += 2;
      } else if (c == '+') {
        c = ' ';  // form encoding; a token has no space, so it is refused later
      }
      buf[n++] = c;
    }
    return std::string_view(buf.data(), n);
  }
  return {};
}

AuthResult AuthStore::check(std::string_view method, std::string_view path,
                            std::string_view authorization,
                            std::string_view x_api_key) const {
  AuthResult res;
  if (!required(method, path)) return res;

  const BearerParse bearer = parse_bearer(authorization);
  const bool has_key = !x_api_key.empty();
  res.presented = bearer.kind != BearerParse::kAbsent || has_key;
  if (bearer.kind == BearerParse::kMalformed) {
    res.outcome = AuthOutcome::kBadRequest;
    res.reason = "malformed Authorization Bearer credentials";
    return res;
  }
  if (has_key && (x_api_key.size() > kMaxSecretLength || !is_visible_ascii(x_api_key))) {
    res.outcome = AuthOutcome::kBadRequest;
    res.reason = "malformed X-API-Key";
    return res;
  }
  if (has_key && bearer.kind == BearerParse::kToken) {
    res.outcome = AuthOutcome::kBadRequest;
    res.reason = "both a bearer token and an API key";
    return res;
  }
  if (!res.presented) {
    res.outcome = AuthOutcome::kUnauthorized;
    return res;
  }

  const CredentialKind kind = has_key ? CredentialKind::kApiKey : CredentialKind::kBearer;
  const tls::Sha256 digest = tls::sha256(has_key ? x_api_key : bearer.token);
  // Every stored digest is compared, and the match is folded in with masks
  // rather than branches, so the loop's time does not depend on the secret.
  size_t found_index = 0;
  size_t found = 0;
  for (size_t i = 0; i < stored_.size(); ++i) {
    const size_t equal =
        static_cast<size_t>(tls::constant_time_equal(digest.data(), stored_[i].digest.data(),
                                                     digest.size())) &
        static_cast<size_t>(stored_[i].kind == kind);
    const size_t mask = ~(equal - 1);  // all ones when equal
    found_index |= i & mask;
    found |= equal;
  }
  if (found == 0) {
    res.outcome = AuthOutcome::kUnauthorized;
    return res;
  }
  const Credential& cred = credentials_[found_index];
  res.credential_name = cred.name;
  for (const Rule& r : rules_) {
    if (r.scope.empty() || !rule_applies(r, method, path)) continue;
    bool has_scope = false;
    for (const std::string& s : cred.scopes) has_scope |= (s == r.scope);
    if (!has_scope) {
      res.outcome = AuthOutcome::kForbidden;
      res.missing_scope = r.scope;
      return res;
    }
  }
  res.outcome = AuthOutcome::kAllowed;
  return res;
}

AuthChallenge AuthStore::challenge(const AuthResult& result) const {
  AuthChallenge c;
  std::string head = "Bearer realm=\"" + realm_ + "\"";
  switch (result.outcome) {
    case AuthOutcome::kUnauthorized:
      c.status = 401;
      if (result.presented) {
        c.www_authenticate = head + ", error=\"invalid_token\"";
        c.message = "invalid credentials";
      } else {
        c.www_authenticate = std::move(head);
        c.message = "authentication required";
      }
      break;
    case AuthOutcome::kBadRequest:
      c.status = 400;
      c.www_authenticate = head + ", error=\"invalid_request\"";
      c.message = result.reason;
      break;
    case AuthOutcome::kForbidden:
      c.status = 403;
      c.www_authenticate = head + ", error=\"insufficient_scope\", scope=\"" +
                           std::string(result.missing_scope) + "\"";
      c.message = "insufficient scope";
      break;
    case AuthOutcome::kNotRequired:
    case AuthOutcome::kAllowed:
      break;
  }
  return c;
}

}  // namespace ringshard::http
