#include "http/mw_rate_limit.h"

#include <sys/random.h>
#include <time.h>

#include <charconv>
#include <cstring>
#include <string_view>

#include "http/server.h"
#include "ratelimit/headers.h"

namespace ringshard::http {

struct RateLimitMiddleware::Rule {
  std::string name;
  std::string match;
  ratelimit::KeySpec key;
  ratelimit::Limit limit;
  uint64_t id = 0;      // mixed into the key hash: rules never share a bucket
  std::string policy;   // RateLimit-Policy: the same for every response
  std::string limit_text;  // X-RateLimit-Limit
};

namespace {

uint64_t monotonic_now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t random_seed() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) == static_cast<ssize_t>(sizeof seed) && seed != 0) {
    return seed;
  }
  // No entropy source (an old kernel, a seccomp filter): still not a
  // constant, so keys cannot be aimed at one probe window offline.
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ratelimit::hash_u64(static_cast<uint64_t>(ts.tv_nsec) ^
                                 (static_cast<uint64_t>(ts.tv_sec) << 20),
                             reinterpret_cast<uintptr_t>(&seed));
}

// The key bytes of `spec` in `req`; false when the request carries none.
// `ip` holds the bytes of an address key (the view points into it).
bool key_of(const ServerRequest& req, const ratelimit::KeySpec& spec, ratelimit::IpKey& ip,
            std::string_view& key) {
  switch (spec.kind) {
    case ratelimit::KeyKind::kIp: {
      socklen_t len = 0;
      const sockaddr* peer = req.peer(len);
      if (!ratelimit::ip_key(peer, len, spec, &ip)) return false;
      key = ip.view();
      return true;
    }
    case ratelimit::KeyKind::kHeader:
      key = req.header(spec.header);
      break;
    case ratelimit::KeyKind::kBearer:
      key = ratelimit::bearer_token(req.header("authorization"));
      break;
    case ratelimit::KeyKind::kApiKey:
      key = req.header("x-api-key");
      break;
  }
  return !key.empty();
}

constexpr size_t kLineSize = 64;  // bytes per cache line
constexpr size_t kPerLine = kLineSize / sizeof(std::atomic<uint64_t>);

}  // namespace

RateLimitMiddleware::RateLimitMiddleware(RateLimitConfig config)
    : shards_(config.shards == 0 ? 1 : config.shards) {
  rules_.reserve(config.rules.size());
  for (RateLimitRuleConfig& rc : config.rules) {
    Rule r;
    r.name = std::move(rc.name);
    r.match = std::move(rc.match);
    r.key = std::move(rc.key);
    r.limit = rc.limit;
    r.id = rules_.size() + 1;
    char buf[ratelimit::kMaxValueSize];
    r.policy = std::string(ratelimit::format_policy(r.name, r.limit, buf));
    ratelimit::Decision d;
    d.limit = r.limit.burst;
    r.limit_text = std::string(ratelimit::format_limit(d, buf));
    rules_.push_back(std::move(r));
  }
  table_ = std::make_unique<ratelimit::LimiterTable>(
      config.table_capacity, config.seed != 0 ? config.seed : random_seed());
  // Each shard's counters start on their own cache line: one writer each.
  stride_ = (rules_.size() * 2 + kPerLine - 1) / kPerLine * kPerLine;
  if (stride_ == 0) stride_ = kPerLine;
  const size_t n = stride_ * shards_ + kPerLine;
  counters_ = std::make_unique<std::atomic<uint64_t>[]>(n);
  for (size_t i = 0; i < n; ++i) counters_[i].store(0, std::memory_order_relaxed);
}

RateLimitMiddleware::~RateLimitMiddleware() = default;

std::atomic<uint64_t>& RateLimitMiddleware::counter(unsigned shard, size_t rule,
                                                    bool refused) const {
  // Aligned to a line boundary inside the block (new[] gives 16 bytes).
  auto base = reinterpret_cast<uintptr_t>(counters_.get());
  const size_t skip = ((kLineSize - base % kLineSize) % kLineSize) / sizeof(std::atomic<uint64_t>);
  return counters_[skip + (shard % shards_) * stride_ + rule * 2 + (refused ? 1 : 0)];
}

uint64_t RateLimitMiddleware::sum(size_t rule, bool refused) const {
  uint64_t total = 0;
  for (unsigned s = 0; s < shards_; ++s) {
    total += counter(s, rule, refused).load(std::memory_order_relaxed);
  }
  return total;
}

size_t RateLimitMiddleware::rule_count() const { return rules_.size(); }

uint64_t RateLimitMiddleware::admitted(size_t rule) const { return sum(rule, false); }
uint64_t RateLimitMiddleware::refused(size_t rule) const { return sum(rule, true); }

bool RateLimitMiddleware::before(ServerRequest& req, Response& res, RequestContext& ctx) const {
  const std::string_view path = req.path();
  const Rule* rule = nullptr;
  const Rule* keyless = nullptr;  // the first matching rule the request had no key for
  ratelimit::IpKey ip;
  std::string_view key;
  for (const Rule& r : rules_) {
    if (!path.starts_with(r.match)) continue;
    if (key_of(req, r.key, ip, key)) {
      rule = &r;
      break;
    }
    if (keyless == nullptr) keyless = &r;
  }
  if (rule == nullptr) {
    if (keyless == nullptr) return true;
    rule = keyless;
    key = {};
  }
  // No LimiterTable::prefetch: one request is decided at a time and
  // nothing independent is left to overlap the slot's cache miss with.
  const uint64_t hash = table_->hash(key, rule->id);
  const uint64_t now = ctx.start_ns != 0 ? ctx.start_ns : monotonic_now_ns();
  const ratelimit::Decision d = table_->decide_hash(hash, rule->limit, now);
  ctx.rate_rule = rule;
  ctx.rate_limit = d.limit;
  ctx.rate_remaining = d.remaining;
  ctx.rate_reset_ns = d.reset_after_ns;
  ctx.rate_retry_ns = d.retry_after_ns;
  ctx.rate_admitted = d.admitted;
  counter(ctx.shard, static_cast<size_t>(rule - rules_.data()), !d.admitted)
      .fetch_add(1, std::memory_order_relaxed);

  // The headers go into the response now: headers added before the
  // handler stay with whatever answers (the handler, a 404, a later
  // middleware's refusal, a deferred answer or its 504, a stream), so
  // every response of a limited path carries them, with nothing left to
  // do in on_response().
  char buf[ratelimit::kMaxValueSize];
  res.trusted_header("X-RateLimit-Limit", rule->limit_text);
  res.trusted_header("X-RateLimit-Remaining", ratelimit::format_remaining(d, buf));
  res.trusted_header("X-RateLimit-Reset", ratelimit::format_reset(d, buf));
  res.trusted_header("RateLimit-Policy", rule->policy);
  res.trusted_header("RateLimit", ratelimit::format_ratelimit(rule->name, d, buf));
  if (d.admitted) return true;

  // "Rate limit exceeded. Retry after N seconds.", N as in Retry-After.
  char retry[24];
  const std::string_view n = ratelimit::format_retry_after(d, retry);
  res.trusted_header("Retry-After", n);
  constexpr std::string_view kHead = "Rate limit exceeded. Retry after ";
  constexpr std::string_view kTail = " seconds.";
  char message[kHead.size() + sizeof retry + kTail.size()];
  size_t len = 0;
  for (std::string_view part : {kHead, n, kTail}) {
    std::memcpy(message + len, part.data(), part.size());
    len += part.size();
  }
  res.send_error(429, std::string_view(message, len));
  return false;
}

void RateLimitMiddleware::write_metrics(obs::PrometheusWriter& out) const {
  out.family("ringshard_rate_limit_decisions_total", obs::MetricType::kCounter,
             "Rate-limit decisions, by rule and result (admitted or refused).");
  for (size_t i = 0; i < rules_.size(); ++i) {
    out.sample({{"rule", rules_[i].name}, {"result", "admitted"}}, sum(i, false));
    out.sample({{"rule", rules_[i].name}, {"result", "refused"}}, sum(i, true));
  }
  const ratelimit::TableStats stats = table_->stats();
  out.family("ringshard_rate_limit_table_overflow_total", obs::MetricType::kCounter,
             "Rate-limit decisions made against a shared overflow bucket because the "
             "key's probe window in the table was full (raise table_capacity).");
  out.sample({}, stats.overflow);
  out.family("ringshard_rate_limit_table_overflow_refused_total", obs::MetricType::kCounter,
             "Requests refused because the rate-limit overflow table was full too.");
  out.sample({}, stats.overflow_refused);
}

}  // namespace ringshard::http
