// http/mw_auth.h: bearer-token and API-key authentication (http/auth.h's
// AuthStore) as global middleware, with per-shard decision counters.
//
//   AuthMiddleware auth(AuthConfig{...}, shards);   // config time; throws
//   config.middleware.push_back(&auth);             // after CORS, rate limit
//
// before(): AuthStore::check(method, path, Authorization, X-API-Key), or
// with `query_token` and neither header, the access_token query parameter
// as a bearer token.
//   kNotRequired, kAllowed -> the request goes on.
//   kUnauthorized          -> 401, WWW-Authenticate: Bearer realm="..."[,
//                             error="invalid_token"], standard error body.
//   kForbidden             -> 403, WWW-Authenticate with error=
//                             "insufficient_scope" and the scope lacking.
//   kBadRequest            -> 400, WWW-Authenticate with error=
//                             "invalid_request". Also when a request covered
//                             by a rule carries Authorization or X-API-Key
//                             more than once: which copy counts would depend
//                             on who reads the request (a proxy may take the
//                             last one), so neither is trusted.
// A refusal is an ordinary answer through Response::send_error (JSON body
// with details.request_id when request ids are on): the connection stays
// open and keeps serving. The presented secret is never logged or echoed.
//
// Chain position: after CORS (a preflight carries no credentials and is
// answered before this runs) and after the rate limiter (failed attempts
// are limited too).
//
// Metrics (write_metrics): ringshard_auth_decisions_total{result=
// "allowed"|"unauthorized"|"forbidden"|"bad_request"}, summed over shards.
// Requests no rule covers are not counted.
//
// Cost: nothing but a prefix scan of the rules for a request no rule covers;
// SHA-256 of the presented secret and a constant-time comparison with every
// stored digest otherwise. No allocation but on a refusal (the challenge).
//
// Thread: shared by every shard; counters are per shard (indexed by
// RequestContext::shard, one cache line each), written by their shard and
// read by any thread with relaxed loads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "http/auth.h"
#include "http/middleware.h"

namespace ringshard::http {

struct AuthDecisionCounts {
  uint64_t allowed = 0, unauthorized = 0, forbidden = 0, bad_request = 0;
};

class AuthMiddleware final : public Middleware {
 public:
  // Throws std::invalid_argument as AuthStore does (control plane).
  // `query_token`: a request with neither Authorization nor X-API-Key may
  // carry its bearer token as an access_token query parameter (RFC 6750
  // 2.3; for WebSocket routes, whose browser clients cannot set headers).
  AuthMiddleware(AuthConfig config, unsigned shards, bool query_token = false);

  bool before(ServerRequest& req, Response& res, RequestContext& ctx) const override;
  void write_metrics(obs::PrometheusWriter& out) const override;

  // The counters summed over shards (relaxed loads; any thread).
  AuthDecisionCounts counts() const;
  const AuthStore& store() const { return store_; }

 private:
  struct alignas(64) ShardCounters {
    std::atomic<uint64_t> allowed{0}, unauthorized{0}, forbidden{0}, bad_request{0};
  };
  static void bump(std::atomic<uint64_t>& c) {
    // One writer per shard: a plain add, no locked instruction.
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  AuthStore store_;
  bool query_token_;
  std::vector<std::unique_ptr<ShardCounters>> counters_;
};

}  // namespace ringshard::http
