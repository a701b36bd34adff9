#include "http/mw_auth.h"

#include <cstring>
#include <string_view>
#include <utility>

#include "http/request.h"
#include "http/server.h"

namespace ringshard::http {

namespace {

constexpr std::string_view kAuthorization = "authorization";
constexpr std::string_view kApiKey = "x-api-key";

// True when Authorization or X-API-Key comes more than once.
bool duplicate_credentials(const Request& head) {
  unsigned authorization = 0, api_key = 0;
  for (size_t i = 0; i < head.header_count; ++i) {
    const std::string_view name = head.headers[i].name;
    if (name.size() == kAuthorization.size() && iequals(name, kAuthorization)) {
      ++authorization;
    } else if (name.size() == kApiKey.size() && iequals(name, kApiKey)) {
      ++api_key;
    }
  }
  return authorization > 1 || api_key > 1;
}

}  // namespace

AuthMiddleware::AuthMiddleware(AuthConfig config, unsigned shards, bool query_token)
    : store_(std::move(config)), query_token_(query_token) {
  counters_.reserve(shards);
  for (unsigned i = 0; i < shards; ++i) counters_.push_back(std::make_unique<ShardCounters>());
}

bool AuthMiddleware::before(ServerRequest& req, Response& res, RequestContext& ctx) const {
  const Request& head = req.head();
  std::string_view authorization = req.header("authorization");
  const std::string_view api_key = req.header("x-api-key");
  // "Bearer " + the token of the URI, when that is where it comes from.
  char bearer[7 + kMaxSecretLength];
  if (query_token_ && authorization.empty() && api_key.empty() && !head.query.empty()) {
    const std::string_view token =
        access_token_param(head.query, std::span<char>(bearer + 7, kMaxSecretLength));
    if (!token.empty()) {
      std::memcpy(bearer, "Bearer ", 7);
      authorization = std::string_view(bearer, 7 + token.size());
    }
  }
  AuthResult r = store_.check(head.method_text, head.path, authorization, api_key);
  if (r.outcome == AuthOutcome::kNotRequired) return true;
  if (duplicate_credentials(head)) {
    r = AuthResult{};
    r.outcome = AuthOutcome::kBadRequest;
    r.presented = true;
    r.reason = "credentials sent more than once";
  }
  ShardCounters* c = ctx.shard < counters_.size() ? counters_[ctx.shard].get() : nullptr;
  switch (r.outcome) {
    case AuthOutcome::kNotRequired:
      return true;
    case AuthOutcome::kAllowed:
      if (c != nullptr) bump(c->allowed);
      return true;
    case AuthOutcome::kUnauthorized:
      if (c != nullptr) bump(c->unauthorized);
      break;
    case AuthOutcome::kForbidden:
      if (c != nullptr) bump(c->forbidden);
      break;
    case AuthOutcome::kBadRequest:
      if (c != nullptr) bump(c->bad_request);
      break;
  }
  const AuthChallenge challenge = store_.challenge(r);
  if (!challenge.www_authenticate.empty()) {
    res.header("WWW-Authenticate", challenge.www_authenticate);
  }
  res.send_error(challenge.status, challenge.message);
  return false;
}

AuthDecisionCounts AuthMiddleware::counts() const {
  AuthDecisionCounts out;
  for (const auto& c : counters_) {
    out.allowed += c->allowed.load(std::memory_order_relaxed);
    out.unauthorized += c->unauthorized.load(std::memory_order_relaxed);
    out.forbidden += c->forbidden.load(std::memory_order_relaxed);
    out.bad_request += c->bad_request.load(std::memory_order_relaxed);
  }
  return out;
}

void AuthMiddleware::write_metrics(obs::PrometheusWriter& out) const {
  const AuthDecisionCounts n = counts();
  out.family("ringshard_auth_decisions_total", obs::MetricType::kCounter,
             "Authentication decisions on requests an auth rule covers, by result.");
  out.sample({{"result", "allowed"}}, n.allowed);
  out.sample({{"result", "unauthorized"}}, n.unauthorized);
  out.sample({{"result", "forbidden"}}, n.forbidden);
  out.sample({{"result", "bad_request"}}, n.bad_request);
}

}  // namespace ringshard::http
