// http/mw_cors.h: CORS (http/cors.h's decisions) as global middleware.
//
//   CorsMiddleware cors(CorsConfig{.allow_origins = {"https://app.example"},
//                                  .allow_credentials = true});  // config time
//
// Put it before authentication in the chain: browsers send no credentials
// on a preflight, so a preflight must be answered before auth could refuse
// it.
//
// before():
//  - A preflight (is_preflight(): OPTIONS with a non-empty Origin and
//    Access-Control-Request-Method) is ANSWERED here, 204 No Content, whether
//    or not a route registered OPTIONS for the path, or any route matches
//    (global middleware also runs for what becomes 404/405). Allowed: the
//    Access-Control-Allow-Origin/-Methods/-Headers/-Credentials/-Max-Age of
//    decide_preflight() plus Vary. Not allowed: 204 with Vary and no
//    Access-Control-* header at all. That is the Fetch standard's failure
//    mode (the CORS check fails on the missing Allow-Origin and the browser
//    never sends the actual request), it tells a prober nothing about the
//    policy, and a 403 would not block anything more: browsers only look at
//    the headers (and reject any non-2xx preflight the same way).
//  - Any other request: decide_simple() on its Origin. The headers are added
//    to the response right here, not in on_response(): they are known now,
//    an echoed Origin views the request's bytes (gone by the time a
//    deferred answer is written; Response keeps headers added before
//    defer()), and refusals by later middleware (401 from auth, 429 from the
//    rate limiter) carry them too, so a browser script can read why it was
//    refused. Allowed: Access-Control-Allow-Origin ("*" only for a wildcard
//    policy without credentials; otherwise the Origin echoed),
//    -Allow-Credentials: true when configured, -Expose-Headers when
//    configured. Vary: Origin whenever the answer depends on the Origin
//    (always but for "*" without credentials), allowed or not, and also
//    without an Origin header (a same-origin or non-browser request, which
//    gets no Access-Control-* header): a cache must never hand one origin's
//    answer, or the answer without Origin, to another origin.
// Handlers should not set Access-Control-* headers themselves: the
// middleware owns them.
//
// Cost: two or three header lookups per request, no allocation (results
// view the policy or the request). Immutable after construction; any shard.
#pragma once

#include "http/cors.h"
#include "http/middleware.h"

namespace ringshard::http {

class CorsMiddleware final : public Middleware {
 public:
  // Throws std::invalid_argument as CorsPolicy does (control plane).
  explicit CorsMiddleware(CorsConfig config);

  bool before(ServerRequest& req, Response& res, RequestContext& ctx) const override;

  const CorsPolicy& policy() const { return policy_; }

 private:
  CorsPolicy policy_;
};

}  // namespace ringshard::http
