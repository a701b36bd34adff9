// server/options_proxy.cc: [[upstream]] and [[route]], the reverse proxy's
// arrays of tables (what each key means: proxy/config.h). The values are
// checked by proxy::validate_upstream / validate_route, so the proxy and
// the config agree on what is valid; the keys of the nested tables
// ([upstream.pool], ...) are dotted fields (options_table.h).
#include <algorithm>

#include "proxy/config.h"
#include "server/options_records.h"
#include "server/options_units.h"
#include "server/options_words.h"

namespace ringshard::server::options_detail {
namespace {

constexpr uint64_t kDay = 24 * kHourMs;

// ---- [[upstream]] ---------------------------------------------------------------

enum UpstreamField : size_t {
  kUpName, kUpBackends, kUpBalance, kUpHashKey,
  kUpTlsEnabled, kUpTlsVerify, kUpTlsCaFile, kUpTlsServerName, kUpTlsPins,
  kUpPoolMaxConnections, kUpPoolMaxIdle, kUpPoolIdleTimeout, kUpPoolWaitTimeout,
  kUpPoolMaxWaiting,
  kUpTimeoutConnect, kUpTimeoutFirstByte, kUpTimeoutIdle, kUpTimeoutRequest,
  kUpRetryAttempts, kUpRetryBase, kUpRetryCap, kUpRetryBudget, kUpRetryMin, kUpRetryOn,
  kUpHealthPath, kUpHealthInterval, kUpHealthTimeout, kUpHealthExpected,
  kUpHealthUnhealthy, kUpHealthHealthy, kUpHealthJitter, kUpHealthHost,
  kUpOutlier5xx, kUpOutlierConnect, kUpOutlierBase, kUpOutlierMax, kUpOutlierPercent,
  kUpBreakerConnections, kUpBreakerPending, kUpBreakerRequests, kUpForwardProxy,
  kUpFieldCount
};

constexpr Field kUpstreamFields[] = {
    {.key = "name", .kind = FieldKind::kText, .required = true},
    {.key = "backends", .kind = FieldKind::kTextList, .required = true},
    {.key = "balance", .kind = FieldKind::kText},
    {.key = "hash_key", .kind = FieldKind::kText},
    {.key = "tls.enabled", .kind = FieldKind::kBool},
    {.key = "tls.verify", .kind = FieldKind::kBool},
    {.key = "tls.ca_file", .kind = FieldKind::kText},
    {.key = "tls.server_name", .kind = FieldKind::kText},
    {.key = "tls.pins", .kind = FieldKind::kTextList},
    {.key = "pool.max_connections", .kind = FieldKind::kCount, .min = 1, .max = 100'000},
    {.key = "pool.max_idle", .kind = FieldKind::kCount, .min = 0, .max = 100'000},
    {.key = "pool.idle_timeout", .kind = FieldKind::kDuration, .min = 1, .max = kDay},
    {.key = "pool.wait_timeout", .kind = FieldKind::kDuration, .min = 0, .max = kDay},
    {.key = "pool.max_waiting", .kind = FieldKind::kCount, .min = 0, .max = 1'000'000},
    {.key = "timeouts.connect", .kind = FieldKind::kDuration, .min = 1, .max = kDay},
    {.key = "timeouts.first_byte", .kind = FieldKind::kDuration, .min = 1, .max = kDay},
    {.key = "timeouts.idle", .kind = FieldKind::kDuration, .min = 1, .max = kDay},
    {.key = "timeouts.request", .kind = FieldKind::kDuration, .min = 0, .max = kDay},
    {.key = "retry.attempts", .kind = FieldKind::kCount, .min = 1, .max = 10},
    {.key = "retry.base", .kind = FieldKind::kDuration, .min = 1, .max = kDay},
    {.key = "retry.cap", .kind = FieldKind::kDuration, .min = 1, .max = kDay},
    {.key = "retry.budget_percent", .kind = FieldKind::kCount, .min = 0, .max = 100},
    {.key = "retry.min_retries", .kind = FieldKind::kCount, .min = 0, .max = 1'000'000},
    {.key = "retry.retry_on", .kind = FieldKind::kCountList, .min = 500, .max = 599},
    {.key = "health.path", .kind = FieldKind::kText},
    {.key = "health.interval", .kind = FieldKind::kDuration, .min = 100, .max = kDay},
    {.key = "health.timeout", .kind = FieldKind::kDuration, .min = 1, .max = kDay},
    {.key = "health.expected_status", .kind = FieldKind::kText},
    {.key = "health.unhealthy_threshold", .kind = FieldKind::kCount, .min = 1, .max = 100},
    {.key = "health.healthy_threshold", .kind = FieldKind::kCount, .min = 1, .max = 100},
    {.key = "health.jitter", .kind = FieldKind::kDuration, .min = 0, .max = kDay},
    {.key = "health.host", .kind = FieldKind::kText},
    {.key = "outlier.consecutive_5xx", .kind = FieldKind::kCount, .min = 0, .max = 1000},
    {.key = "outlier.consecutive_connect_failures", .kind = FieldKind::kCount, .min = 0,
     .max = 1000},
    {.key = "outlier.base_ejection", .kind = FieldKind::kDuration, .min = 1, .max = kDay},
    {.key = "outlier.max_ejection", .kind = FieldKind::kDuration, .min = 1, .max = kDay},
    {.key = "outlier.max_ejection_percent", .kind = FieldKind::kCount, .min = 0, .max = 100},
    {.key = "breaker.max_connections", .kind = FieldKind::kCount, .min = 0, .max = 1'000'000},
    {.key = "breaker.max_pending", .kind = FieldKind::kCount, .min = 0, .max = 1'000'000},
    {.key = "breaker.max_requests", .kind = FieldKind::kCount, .min = 0, .max = 1'000'000},
    {.key = "forward_proxy", .kind = FieldKind::kText},
};
static_assert(std::size(kUpstreamFields) == kUpFieldCount);

// The field a proxy::ConfigError's key names ("backends", "pool.max_idle").
template <size_t N>
RecordError record_error(const Field (&fields)[N], const proxy::ConfigError& e) {
  for (size_t i = 0; i < N; ++i) {
    if (fields[i].key == e.key) return RecordError{i, e.message};
  }
  return RecordError{RecordError::kWholeRecord, e.text()};
}

template <typename T>
void set_if(const FieldValue& v, T& out) {
  if (v.present) out = static_cast<T>(v.number);
}

// The record over `g` (whose other values stay as they are).
std::optional<RecordError> upstream_from(const Record& r, proxy::UpstreamGroup& g) {
  if (r[kUpName].present) g.name = r[kUpName].text;
  if (r[kUpBackends].present) {
    g.backends.clear();
    for (size_t i = 0; i < r[kUpBackends].list.size(); ++i) {
      proxy::Backend b;
      if (auto problem = proxy::parse_backend(r[kUpBackends].list[i], b)) {
        return RecordError{kUpBackends, "entry " + std::to_string(i + 1) + ": " + *problem};
      }
      g.backends.push_back(std::move(b));
    }
  }
  if (r[kUpBalance].present) {
    auto policy = proxy::parse_balance_policy(r[kUpBalance].text);
    if (!policy) {
      return RecordError{kUpBalance, quote(r[kUpBalance].text) +
                                         " is not round_robin, least_request or maglev"};
    }
    g.balance = *policy;
  }
  if (r[kUpHashKey].present) {
    if (auto problem = proxy::parse_hash_key(r[kUpHashKey].text, g.hash_key)) {
      return RecordError{kUpHashKey, *problem};
    }
  }
  set_if(r[kUpTlsEnabled], g.tls.enabled);
  set_if(r[kUpTlsVerify], g.tls.verify);
  if (r[kUpTlsCaFile].present) g.tls.ca_file = r[kUpTlsCaFile].text;
  if (r[kUpTlsServerName].present) g.tls.server_name = r[kUpTlsServerName].text;
  if (r[kUpTlsPins].present) g.tls.pins = r[kUpTlsPins].list;
  set_if(r[kUpPoolMaxConnections], g.pool.max_connections);
  set_if(r[kUpPoolMaxIdle], g.pool.max_idle);
  set_if(r[kUpPoolIdleTimeout], g.pool.idle_timeout_ms);
  set_if(r[kUpPoolWaitTimeout], g.pool.wait_timeout_ms);
  set_if(r[kUpPoolMaxWaiting], g.pool.max_waiting);
  set_if(r[kUpTimeoutConnect], g.timeouts.connect_ms);
  set_if(r[kUpTimeoutFirstByte], g.timeouts.first_byte_ms);
  set_if(r[kUpTimeoutIdle], g.timeouts.idle_ms);
  set_if(r[kUpTimeoutRequest], g.timeouts.request_ms);
  set_if(r[kUpRetryAttempts], g.retry.attempts);
  set_if(r[kUpRetryBase], g.retry.base_ms);
  set_if(r[kUpRetryCap], g.retry.cap_ms);
  set_if(r[kUpRetryBudget], g.retry.budget_percent);
  set_if(r[kUpRetryMin], g.retry.min_retries);
  if (r[kUpRetryOn].present) {
    g.retry.retry_on.assign(r[kUpRetryOn].numbers.begin(), r[kUpRetryOn].numbers.end());
  }
  if (r[kUpHealthPath].present) g.health.path = r[kUpHealthPath].text;
  set_if(r[kUpHealthInterval], g.health.interval_ms);
  set_if(r[kUpHealthTimeout], g.health.timeout_ms);
  if (r[kUpHealthExpected].present) {
    if (auto problem = proxy::parse_status_range(r[kUpHealthExpected].text,
                                                 g.health.expected_min, g.health.expected_max)) {
      return RecordError{kUpHealthExpected, *problem};
    }
  }
  set_if(r[kUpHealthUnhealthy], g.health.unhealthy_threshold);
  set_if(r[kUpHealthHealthy], g.health.healthy_threshold);
  set_if(r[kUpHealthJitter], g.health.jitter_ms);
  if (r[kUpHealthHost].present) g.health.host = r[kUpHealthHost].text;
  set_if(r[kUpOutlier5xx], g.outlier.consecutive_5xx);
  set_if(r[kUpOutlierConnect], g.outlier.consecutive_connect_failures);
  set_if(r[kUpOutlierBase], g.outlier.base_ejection_ms);
  set_if(r[kUpOutlierMax], g.outlier.max_ejection_ms);
  set_if(r[kUpOutlierPercent], g.outlier.max_ejection_percent);
  set_if(r[kUpBreakerConnections], g.breaker.max_connections);
  set_if(r[kUpBreakerPending], g.breaker.max_pending);
  set_if(r[kUpBreakerRequests], g.breaker.max_requests);
  if (r[kUpForwardProxy].present) g.forward_proxy = r[kUpForwardProxy].text;
  if (auto e = proxy::validate_upstream(g)) return record_error(kUpstreamFields, *e);
  return std::nullopt;
}

std::optional<RecordError> append_upstream(Options& o, const Record& r) {
  proxy::UpstreamGroup g;
  if (auto e = upstream_from(r, g)) return e;
  for (const proxy::UpstreamGroup& other : o.upstreams) {
    if (other.name == g.name) return RecordError{kUpName, quote(g.name) + " is used twice"};
  }
  o.upstreams.push_back(std::move(g));
  return std::nullopt;
}

// --upstream NAME=...: new backends for the file's group NAME, or a new group.
std::optional<RecordError> merge_upstream(Options& o, const Record& r) {
  for (proxy::UpstreamGroup& existing : o.upstreams) {
    if (existing.name != r[kUpName].text) continue;
    proxy::UpstreamGroup g = existing;
    if (auto e = upstream_from(r, g)) return e;
    existing = std::move(g);
    return std::nullopt;
  }
  if (o.upstreams.size() >= proxy::kMaxUpstreams) {
    return RecordError{RecordError::kWholeRecord,
                       "more than " + std::to_string(proxy::kMaxUpstreams) + " entries"};
  }
  return append_upstream(o, r);
}

Record get_upstream(const Options& o, size_t i) {
  const proxy::UpstreamGroup& g = o.upstreams[i];
  Record r(kUpFieldCount);
  auto text = [&](size_t f, std::string v) { r[f] = {.present = true, .text = std::move(v)}; };
  auto number = [&](size_t f, uint64_t v) { r[f] = {.present = true, .number = v}; };
  text(kUpName, g.name);
  r[kUpBackends].present = true;
  for (const proxy::Backend& b : g.backends) r[kUpBackends].list.push_back(proxy::format_backend(b));
  text(kUpBalance, std::string(proxy::balance_policy_name(g.balance)));
  text(kUpHashKey, proxy::format_hash_key(g.hash_key));
  number(kUpTlsEnabled, g.tls.enabled);
  number(kUpTlsVerify, g.tls.verify);
  text(kUpTlsCaFile, g.tls.ca_file);
  text(kUpTlsServerName, g.tls.server_name);
  r[kUpTlsPins] = {.present = true, .list = g.tls.pins};
  number(kUpPoolMaxConnections, g.pool.max_connections);
  number(kUpPoolMaxIdle, g.pool.max_idle);
  number(kUpPoolIdleTimeout, g.pool.idle_timeout_ms);
  number(kUpPoolWaitTimeout, g.pool.wait_timeout_ms);
  number(kUpPoolMaxWaiting, g.pool.max_waiting);
  number(kUpTimeoutConnect, g.timeouts.connect_ms);
  number(kUpTimeoutFirstByte, g.timeouts.first_byte_ms);
  number(kUpTimeoutIdle, g.timeouts.idle_ms);
  number(kUpTimeoutRequest, g.timeouts.request_ms);
  number(kUpRetryAttempts, g.retry.attempts);
  number(kUpRetryBase, g.retry.base_ms);
  number(kUpRetryCap, g.retry.cap_ms);
  number(kUpRetryBudget, g.retry.budget_percent);
  number(kUpRetryMin, g.retry.min_retries);
  r[kUpRetryOn].present = true;
  r[kUpRetryOn].numbers.assign(g.retry.retry_on.begin(), g.retry.retry_on.end());
  text(kUpHealthPath, g.health.path);
  number(kUpHealthInterval, g.health.interval_ms);
  number(kUpHealthTimeout, g.health.timeout_ms);
  text(kUpHealthExpected, proxy::format_status_range(g.health.expected_min, g.health.expected_max));
  number(kUpHealthUnhealthy, g.health.unhealthy_threshold);
  number(kUpHealthHealthy, g.health.healthy_threshold);
  number(kUpHealthJitter, g.health.jitter_ms);
  text(kUpHealthHost, g.health.host);
  number(kUpOutlier5xx, g.outlier.consecutive_5xx);
  number(kUpOutlierConnect, g.outlier.consecutive_connect_failures);
  number(kUpOutlierBase, g.outlier.base_ejection_ms);
  number(kUpOutlierMax, g.outlier.max_ejection_ms);
  number(kUpOutlierPercent, g.outlier.max_ejection_percent);
  number(kUpBreakerConnections, g.breaker.max_connections);
  number(kUpBreakerPending, g.breaker.max_pending);
  number(kUpBreakerRequests, g.breaker.max_requests);
  text(kUpForwardProxy, g.forward_proxy);
  return r;
}

// "api=10.0.0.1:8080,10.0.0.2:8080 weight=3".
std::optional<std::string> parse_upstream_flag(std::string_view text, Record& r) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return quote(text) + " is not NAME=HOST:PORT[,HOST:PORT...]";
  }
  r[kUpName] = {.present = true, .text = std::string(text.substr(0, eq))};
  r[kUpBackends].present = true;
  if (!split_list(text.substr(eq + 1), r[kUpBackends].list) || r[kUpBackends].list.empty()) {
    return quote(text.substr(eq + 1)) + " is not a comma-separated list of HOST:PORT";
  }
  return std::nullopt;
}

// ---- [[route]] ------------------------------------------------------------------

enum RouteField : size_t {
  kRoPrefix, kRoHost, kRoMethods, kRoUpstream, kRoStrip, kRoReplace, kRoTrust, kRoPreserveHost,
  kRoWebsocket, kRoFieldCount
};

constexpr Field kRouteFields[] = {
    {.key = "prefix", .kind = FieldKind::kText, .required = true},
    {.key = "host", .kind = FieldKind::kText},
    {.key = "methods", .kind = FieldKind::kTextList},
    {.key = "upstream", .kind = FieldKind::kText, .required = true},
    {.key = "strip_prefix", .kind = FieldKind::kBool},
    {.key = "replace_prefix", .kind = FieldKind::kText},
    {.key = "trust_forwarded", .kind = FieldKind::kBool},
    {.key = "preserve_host", .kind = FieldKind::kBool},
    {.key = "websocket", .kind = FieldKind::kBool},
};
static_assert(std::size(kRouteFields) == kRoFieldCount);

std::optional<RecordError> route_from(const Record& r, proxy::ProxyRoute& route) {
  route.prefix = r[kRoPrefix].text;
  route.host = r[kRoHost].text;
  std::transform(route.host.begin(), route.host.end(), route.host.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
  });
  route.methods.clear();
  if (!(r[kRoMethods].list.size() == 1 && r[kRoMethods].list[0] == "*")) {
    for (size_t i = 0; i < r[kRoMethods].list.size(); ++i) {
      std::string stored;
      if (auto problem = check_method(r[kRoMethods].list[i], stored)) {
        return RecordError{kRoMethods, "entry " + std::to_string(i + 1) + ": " + *problem};
      }
      route.methods.push_back(std::move(stored));
    }
  }
  route.upstream = r[kRoUpstream].text;
  set_if(r[kRoStrip], route.strip_prefix);
  route.replace_prefix = r[kRoReplace].text;
  set_if(r[kRoTrust], route.trust_forwarded);
  set_if(r[kRoPreserveHost], route.preserve_host);
  set_if(r[kRoWebsocket], route.websocket);
  if (auto e = proxy::validate_route(route)) return record_error(kRouteFields, *e);
  return std::nullopt;
}

// Whether the upstream exists is checked across the document (and after
// the flags): options_checks.h.
std::optional<RecordError> append_route(Options& o, const Record& r) {
  proxy::ProxyRoute route;
  if (auto e = route_from(r, route)) return e;
  for (size_t i = 0; i < o.proxy_routes.size(); ++i) {
    const proxy::ProxyRoute& other = o.proxy_routes[i];
    if (other.prefix == route.prefix && other.host == route.host &&
        other.methods == route.methods) {
      return RecordError{kRoPrefix, "the same prefix, host and methods as route " +
                                        std::to_string(i + 1)};
    }
  }
  o.proxy_routes.push_back(std::move(route));
  return std::nullopt;
}

// --route PREFIX=NAME: the file's route of that prefix (any host, any
// method) now forwards to NAME, or a new route.
std::optional<RecordError> merge_route(Options& o, const Record& r) {
  proxy::ProxyRoute route;
  if (auto e = route_from(r, route)) return e;
  for (proxy::ProxyRoute& existing : o.proxy_routes) {
    if (existing.prefix == route.prefix && existing.host.empty() && existing.methods.empty()) {
      existing.upstream = route.upstream;
      return std::nullopt;
    }
  }
  if (o.proxy_routes.size() >= proxy::kMaxRoutes) {
    return RecordError{RecordError::kWholeRecord,
                       "more than " + std::to_string(proxy::kMaxRoutes) + " entries"};
  }
  o.proxy_routes.push_back(std::move(route));
  return std::nullopt;
}

Record get_route(const Options& o, size_t i) {
  const proxy::ProxyRoute& route = o.proxy_routes[i];
  Record r(kRoFieldCount);
  r[kRoPrefix] = {.present = true, .text = route.prefix};
  r[kRoHost] = {.present = true, .text = route.host};
  r[kRoMethods] = {.present = true, .list = route.methods};
  r[kRoUpstream] = {.present = true, .text = route.upstream};
  r[kRoStrip] = {.present = true, .number = route.strip_prefix};
  r[kRoReplace] = {.present = true, .text = route.replace_prefix};
  r[kRoTrust] = {.present = true, .number = route.trust_forwarded};
  r[kRoPreserveHost] = {.present = true, .number = route.preserve_host};
  r[kRoWebsocket] = {.present = true, .number = route.websocket};
  return r;
}

// "/api/=api".
std::optional<std::string> parse_route_flag(std::string_view text, Record& r) {
  size_t eq = text.rfind('=');
  if (eq == std::string_view::npos) return quote(text) + " is not PREFIX=UPSTREAM";
  r[kRoPrefix] = {.present = true, .text = std::string(text.substr(0, eq))};
  r[kRoUpstream] = {.present = true, .text = std::string(text.substr(eq + 1))};
  return std::nullopt;
}

}  // namespace

constexpr Records kUpstreamRecords{
    .fields = kUpstreamFields,
    .max = proxy::kMaxUpstreams,
    .size = [](const Options& o) { return o.upstreams.size(); },
    .clear = [](Options& o) { o.upstreams.clear(); },
    .append = append_upstream,
    .get = get_upstream,
    .parse_flag = parse_upstream_flag,
    .merge_flag = merge_upstream,
};

constexpr Records kRouteRecords{
    .fields = kRouteFields,
    .max = proxy::kMaxRoutes,
    .size = [](const Options& o) { return o.proxy_routes.size(); },
    .clear = [](Options& o) { o.proxy_routes.clear(); },
    .append = append_route,
    .get = get_route,
    .parse_flag = parse_route_flag,
    .merge_flag = merge_route,
};

std::optional<std::string> proxy_routes_problem(const Options& o) {
  auto e = proxy::validate_proxy_config(o.upstreams, o.proxy_routes);
  if (!e) return std::nullopt;
  return std::string(e->is_route ? "[[route]] " : "[[upstream]] ") + std::to_string(e->index + 1) +
         ": " + e->error.text();
}

}  // namespace ringshard::server::options_detail
