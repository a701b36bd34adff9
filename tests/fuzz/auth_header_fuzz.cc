// libFuzzer target for the Authorization parser in http/auth.h
// (parse_bearer) and for AuthStore::check() over hostile headers. Besides
// looking for crashes under the sanitizers it checks, and aborts when one
// breaks:
//  - parse_bearer agrees with a reference written from RFC 6750 2.1
//    ("Bearer" case-insensitive, 1*SP, b64token, bounded length), and a
//    token it returns is the tail of the input;
//  - check() with the input as Authorization answers: kBadRequest for a
//    malformed Bearer value, kUnauthorized (not presented) for no bearer,
//    kAllowed for a known token, kUnauthorized (presented) otherwise; and
//    the same input as X-API-Key is kBadRequest unless it is visible ASCII
//    (and within the bound), kAllowed only for the known key;
//  - a path no rule covers is kNotRequired whatever the headers say;
//  - every challenge is 400/401/403 with a WWW-Authenticate free of CR/LF.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/auth.h"
#include "tests/fuzz/fuzz_check.h"
#include "tls/digest.h"

namespace {

using namespace ringshard::http;

constexpr const char* kFuzzTarget = "auth_header";

bool b64(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

BearerParse::Kind reference(std::string_view v, std::string_view& token) {
  if (v.size() < 6) return BearerParse::kAbsent;
  for (size_t i = 0; i < 6; ++i) {
    const char c = static_cast<char>(v[i] | 0x20);
    if (c != "bearer"[i]) return BearerParse::kAbsent;
  }
  v.remove_prefix(6);
  // The scheme token goes on ("Bearerx", "Bearer!"): another scheme.
  if (!v.empty() && std::string_view("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789!#$%&'*+-.^_`|~")
                            .find(v.front()) != std::string_view::npos) {
    return BearerParse::kAbsent;
  }
  if (v.empty() || v.front() != ' ') return BearerParse::kMalformed;
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  if (v.empty() || v.size() > kMaxSecretLength) return BearerParse::kMalformed;
  size_t i = 0;
  while (i < v.size() && b64(v[i])) ++i;
  if (i == 0) return BearerParse::kMalformed;
  while (i < v.size() && v[i] == '=') ++i;
  if (i != v.size()) return BearerParse::kMalformed;
  token = v;
  return BearerParse::kToken;
}

const AuthStore& store() {
  static const AuthStore s(AuthConfig{
      .credentials = {{"ci", CredentialKind::kBearer, ringshard::tls::sha256_hex("tok-ci"), {"deploy"}},
                      {"ops", CredentialKind::kApiKey, ringshard::tls::sha256_hex("key-ops"), {"deploy"}}},
      .rules = {{"/v1/", {}, "deploy"}}});
  return s;
}

void check_challenge(const AuthResult& r) {
  const AuthChallenge c = store().challenge(r);
  FUZZ_CHECK(c.status == 400 || c.status == 401 || c.status == 403);
  FUZZ_CHECK(c.www_authenticate.find_first_of("\r\n") == std::string::npos);
  FUZZ_CHECK(!c.message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const BearerParse b = parse_bearer(in);
  std::string_view ref_token;
  FUZZ_CHECK(b.kind == reference(in, ref_token));
  if (b.kind == BearerParse::kToken) {
    FUZZ_CHECK(b.token == ref_token);
    FUZZ_CHECK(!b.token.empty() && b.token.size() <= kMaxSecretLength);
    FUZZ_CHECK(b.token.data() + b.token.size() == in.data() + in.size());
  } else {
    FUZZ_CHECK(b.token.empty());
  }

  const AuthResult a = store().check("POST", "/v1/x", in, "");
  switch (b.kind) {
    case BearerParse::kMalformed:
      FUZZ_CHECK(a.outcome == AuthOutcome::kBadRequest && !a.reason.empty());
      break;
    case BearerParse::kAbsent:
      FUZZ_CHECK(a.outcome == AuthOutcome::kUnauthorized && !a.presented);
      break;
    case BearerParse::kToken:
      FUZZ_CHECK(a.outcome == (b.token == "tok-ci" ? AuthOutcome::kAllowed
                                                  : AuthOutcome::kUnauthorized));
      FUZZ_CHECK(a.presented);
      break;
  }
  if (a.outcome == AuthOutcome::kAllowed) {
    FUZZ_CHECK(a.credential_name == "ci");
  } else {
    check_challenge(a);
  }

  const AuthResult k = store().check("GET", "/v1/x", "", in);
  bool visible = !in.empty() && in.size() <= kMaxSecretLength;
  for (char c : in) visible &= (c > 0x20 && c < 0x7f);
  if (in.empty()) {
    FUZZ_CHECK(k.outcome == AuthOutcome::kUnauthorized && !k.presented);
  } else if (!visible) {
    FUZZ_CHECK(k.outcome == AuthOutcome::kBadRequest);
  } else {
    FUZZ_CHECK(k.outcome == (in == "key-ops" ? AuthOutcome::kAllowed
                                             : AuthOutcome::kUnauthorized));
  }
  if (k.outcome != AuthOutcome::kAllowed) check_challenge(k);

  FUZZ_CHECK(store().check("GET", "/health", in, in).outcome == AuthOutcome::kNotRequired);
  return 0;
}
