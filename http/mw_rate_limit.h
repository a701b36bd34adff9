// http/mw_rate_limit.h: the rate-limit middleware. Each request is checked
// against an ordered list of rules over one lock-free GCRA table shared by
// every shard (ratelimit/limiter_table.h), so a limit is exact per process
// whichever shard a connection landed on.
//
// RULES. In order; the first rule whose `match` is a byte prefix of the
// request path ("/" matches every path, "/login" matches "/login" and
// "/login/x" and also "/loginx") AND whose key the request carries wins.
// Paths matching no rule are not limited and carry no rate-limit header.
//
// KEYS (ratelimit/rate_spec.h). ip / ip/N / ip/N/M: the peer address
// (ServerRequest::peer) cut to the prefix. header:NAME: the header's value
// (the first field of that name). bearer: the token of "Authorization:
// Bearer <token>". api_key: the X-API-Key value.
// A request without the key (header absent or empty, no bearer token, no
// peer address) skips to the next rule that matches its path, so
//     [[rate_limit]] match="/v1/" key="api_key" ...
//     [[rate_limit]] match="/v1/" key="ip" ...
// limits callers per API key and anonymous ones per address. When no later
// rule matches, the request is counted under the first matching rule with
// the empty key: all such requests share one bucket, so leaving the header
// out never escapes the limit (it can only be stricter).
//
// DECISION. The clock is CLOCK_MONOTONIC in nanoseconds: RequestContext::
// start_ns (read by the server at dispatch) or, when that is 0, a fresh
// read. The decision is noted in the RequestContext (rate_rule, rate_limit,
// rate_remaining, rate_reset_ns, rate_retry_ns, rate_admitted: durations,
// relative to the decision) for later middleware and logs, and before()
// adds to the response, so that every response of a limited request
// carries them whatever answers it (handler, 404, a later middleware's
// refusal, 429, a deferred answer or its 504, a stream):
//     X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset,
//     RateLimit-Policy, RateLimit                  (ratelimit/headers.h)
// A refusal is answered by before() with 429, Retry-After (integer seconds,
// >= 1) and the standard error body (Response::send_error):
//     {"error":{"code":"rate_limit_exceeded",
//               "message":"Rate limit exceeded. Retry after N seconds.",
//               "details":{"request_id":"..."}}}       (details when an id exists)
// where N is the Retry-After value.
//
// ORDER. Put it after the request-id middleware (the 429 body names the
// id) and behind the compression middleware (whose on_response must run
// last to see the final body); auth before or after, as the operator
// prefers limiting unauthenticated traffic.
//
// METRICS (write_metrics). ringshard_rate_limit_decisions_total{rule,result}
// (result admitted|refused, summed over shards),
// ringshard_rate_limit_table_overflow_total (decisions made against an
// overflow bucket because the table's probe window was full: size
// table_capacity up), ringshard_rate_limit_table_overflow_refused_total.
//
// COST. before(): a prefix scan over the rules, one hash of the key bytes,
// one table decision (a CAS on one slot), one relaxed counter add on the
// shard's own cache line, five header values formatted on the stack and
// copied into the shard's header arena. No allocation per request (the
// arena keeps its capacity); a refusal's message is formatted on the stack
// (the error body itself is the server's).
//
// THREADS. Construction and destruction are control plane. before() and
// write_metrics() may run concurrently from any shard and any scrape
// thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/middleware.h"
#include "ratelimit/gcra.h"
#include "ratelimit/limiter_table.h"
#include "ratelimit/rate_spec.h"

namespace ringshard::http {

struct RateLimitRuleConfig {
  std::string name;            // the policy name (ratelimit::is_valid_policy_name)
  std::string match;           // path prefix, non-empty
  ratelimit::KeySpec key;
  ratelimit::Limit limit;
};

struct RateLimitConfig {
  std::vector<RateLimitRuleConfig> rules;
  size_t table_capacity = 65'536;  // keys tracked at once, all rules together
  unsigned shards = 1;             // per-shard counters; RequestContext::shard < shards
  uint64_t seed = 0;               // hash seed; 0: random (getrandom)
};

class RateLimitMiddleware final : public Middleware {
 public:
  // The config must be valid (make_rate_limit_middleware in
  // server/rate_limit_setup.h checks it); invalid rules are a programming
  // error. Allocates the table (16 bytes per slot) and the counters.
  explicit RateLimitMiddleware(RateLimitConfig config);
  ~RateLimitMiddleware() override;

  bool before(ServerRequest& req, Response& res, RequestContext& ctx) const override;
  void write_metrics(obs::PrometheusWriter& out) const override;

  // Totals over shards (tests, diagnostics).
  uint64_t admitted(size_t rule) const;
  uint64_t refused(size_t rule) const;
  ratelimit::TableStats table_stats() const { return table_->stats(); }
  size_t rule_count() const;

 private:
  struct Rule;
  std::atomic<uint64_t>& counter(unsigned shard, size_t rule, bool refused) const;
  uint64_t sum(size_t rule, bool refused) const;

  std::vector<Rule> rules_;
  // decide() mutates the table; the middleware's hooks are const because
  // the server shares it read-only between shards. The table is built for
  // exactly that (lock-free, any thread).
  std::unique_ptr<ratelimit::LimiterTable> table_;
  unsigned shards_;
  size_t stride_;  // counters per shard, padded to whole cache lines
  std::unique_ptr<std::atomic<uint64_t>[]> counters_;
};

}  // namespace ringshard::http
