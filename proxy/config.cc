// proxy/config.cc: parsing and validation of the proxy's configuration
// values (what each one means: proxy/config.h).
#include "proxy/config.h"

#include "client/proxy_env.h"
#include "http/chars.h"

#include <algorithm>
#include <charconv>

namespace ringshard::proxy {
namespace {

// A token of at most 256 bytes (names, methods, the hash key's field).
bool is_token(std::string_view s) { return s.size() <= 256 && http::chars::is_token(s); }

// Host names: letters, digits, '-', '.', and '_' (seen in internal DNS);
// or an IPv4 literal (the same alphabet).
bool is_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
  });
}

bool is_ipv6_literal(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
           c == ':' || c == '.';
  }) && s.find(':') != std::string_view::npos;
}

// Printable ASCII for messages, cut at 64 bytes, in single quotes.
std::string quoted(std::string_view s) {
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 64; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > 64) out += "...";
  return out + "'";
}

bool parse_u32(std::string_view s, uint32_t& out) {
  if (s.empty() || s.size() > 10) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::optional<ConfigError> range(std::string key, uint64_t v, uint64_t lo, uint64_t hi) {
  if (v >= lo && v <= hi) return std::nullopt;
  return ConfigError{std::move(key), std::to_string(v) + " is out of range " +
                                         std::to_string(lo) + ".." + std::to_string(hi)};
}

std::optional<ConfigError> duration(std::string key, uint64_t ms, uint64_t lo) {
  return range(std::move(key), ms, lo, kMaxDurationMs);
}

bool is_path_prefix(std::string_view p) {
  if (p.empty() || p[0] != '/' || p.size() > 1024) return false;
  return std::all_of(p.begin(), p.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f &&
           c != '?' && c != '#';
  });
}

}  // namespace

std::string_view balance_policy_name(BalancePolicy p) {
  switch (p) {
    case BalancePolicy::kRoundRobin: return "round_robin";
    case BalancePolicy::kLeastRequest: return "least_request";
    case BalancePolicy::kMaglev: return "maglev";
  }
  return "round_robin";
}

std::optional<BalancePolicy> parse_balance_policy(std::string_view text) {
  for (BalancePolicy p : {BalancePolicy::kRoundRobin, BalancePolicy::kLeastRequest,
                          BalancePolicy::kMaglev}) {
    if (balance_policy_name(p) == text) return p;
  }
  return std::nullopt;
}

std::optional<std::string> parse_hash_key(std::string_view text, HashKey& out) {
  if (text == "ip") {
    out = HashKey{};
    return std::nullopt;
  }
  for (auto [prefix, source] : {std::pair{std::string_view("header:"), HashKey::Source::kHeader},
                                std::pair{std::string_view("cookie:"), HashKey::Source::kCookie}}) {
    if (text.starts_with(prefix)) {
      std::string_view name = text.substr(prefix.size());
      if (!is_token(name)) return quoted(name) + " is not a valid " +
                                  std::string(prefix.substr(0, prefix.size() - 1)) + " name";
      out.source = source;
      out.name = std::string(name);
      if (source == HashKey::Source::kHeader) {
        std::transform(out.name.begin(), out.name.end(), out.name.begin(),
                       [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
      }
      return std::nullopt;
    }
  }
  return quoted(text) + " is not \"ip\", \"header:NAME\" or \"cookie:NAME\"";
}

std::string format_hash_key(const HashKey& key) {
  switch (key.source) {
    case HashKey::Source::kClientIp: return "ip";
    case HashKey::Source::kHeader: return "header:" + key.name;
    case HashKey::Source::kCookie: return "cookie:" + key.name;
  }
  return "ip";
}

bool split_host_port(std::string_view address, std::string_view& host, uint16_t& port) {
  std::string_view port_text;
  if (!address.empty() && address[0] == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return false;
    }
    host = address.substr(1, close - 1);
    if (!is_ipv6_literal(host)) return false;
    port_text = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = address.substr(0, colon);
    if (!is_host_name(host)) return false;
    port_text = address.substr(colon + 1);
  }
  uint32_t p = 0;
  if (!parse_u32(port_text, p) || p == 0 || p > 65535 || port_text[0] == '0') return false;
  port = static_cast<uint16_t>(p);
  return true;
}

std::optional<std::string> parse_backend(std::string_view text, Backend& out) {
  Backend b;
  bool first = true;
  bool seen_weight = false;
  bool seen_name = false;
  while (!text.empty()) {
    size_t space = text.find(' ');
    std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (word.empty()) continue;
    if (first) {
      std::string_view host;
      uint16_t port = 0;
      if (!split_host_port(word, host, port)) {
        return quoted(word) + " is not HOST:PORT (a name or IPv4 address, or [IPv6], "
                              "and a port 1..65535)";
      }
      b.address = std::string(word);
      first = false;
    } else if (word.starts_with("weight=") && !seen_weight) {
      seen_weight = true;
      if (!parse_u32(word.substr(7), b.weight) || b.weight < 1 || b.weight > kMaxWeight) {
        return quoted(word) + ": the weight must be 1.." + std::to_string(kMaxWeight);
      }
    } else if (word.starts_with("server_name=") && !seen_name) {
      seen_name = true;
      b.server_name = std::string(word.substr(12));
      if (!is_host_name(b.server_name)) return quoted(word) + ": not a host name";
    } else {
      return quoted(word) + " is not weight=N or server_name=NAME (each at most once)";
    }
  }
  if (first) return std::string("an empty backend; write HOST:PORT");
  out = std::move(b);
  return std::nullopt;
}

std::string format_backend(const Backend& b) {
  std::string out = b.address;
  if (b.weight != 1) out += " weight=" + std::to_string(b.weight);
  if (!b.server_name.empty()) out += " server_name=" + b.server_name;
  return out;
}

std::optional<std::string> parse_status_range(std::string_view text, uint16_t& min,
                                              uint16_t& max) {
  size_t dash = text.find('-');
  uint32_t lo = 0;
  uint32_t hi = 0;
  bool ok = parse_u32(text.substr(0, dash), lo);
  if (dash == std::string_view::npos) {
    hi = lo;
  } else {
    ok = ok && parse_u32(text.substr(dash + 1), hi);
  }
  if (!ok || lo < 100 || hi > 599 || lo > hi) {
    return quoted(text) + " is not a status (200) or a range of statuses (200-399) in 100..599";
  }
  min = static_cast<uint16_t>(lo);
  max = static_cast<uint16_t>(hi);
  return std::nullopt;
}

std::string format_status_range(uint16_t min, uint16_t max) {
  return min == max ? std::to_string(min) : std::to_string(min) + "-" + std::to_string(max);
}

bool is_valid_pin(std::string_view pin) {
  if (!pin.starts_with("sha256/")) return false;
  std::string_view b64 = pin.substr(7);
  // 32 bytes: 43 characters and one '=' of padding.
  if (b64.size() != 44 || b64[43] != '=') return false;
  for (size_t i = 0; i < 43; ++i) {
    char c = b64[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/';
    if (!ok) return false;
  }
  // The last character carries 4 bits of data and 2 of zero padding.
  static constexpr std::string_view kLast = "AEIMQUYcgkosw048";
  return kLast.find(b64[42]) != std::string_view::npos;
}

bool is_valid_upstream_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

std::optional<ConfigError> validate_upstream(const UpstreamGroup& g) {
  if (!is_valid_upstream_name(g.name)) {
    return ConfigError{"name", quoted(g.name) + " is not a name: use 1-64 of A-Z a-z 0-9 _ -"};
  }
  if (g.backends.empty()) return ConfigError{"backends", "an upstream needs at least one backend"};
  if (!g.forward_proxy.empty()) {
    std::string problem;
    if (!client::parse_proxy_url(g.forward_proxy, problem)) {
      return ConfigError{"forward_proxy", problem};
    }
  }
  if (g.backends.size() > kMaxBackends) {
    return ConfigError{"backends", "more than " + std::to_string(kMaxBackends) + " backends"};
  }
  for (size_t i = 0; i < g.backends.size(); ++i) {
    const Backend& b = g.backends[i];
    std::string_view host;
    uint16_t port = 0;
    std::string entry = "entry " + std::to_string(i + 1) + ": ";
    if (!split_host_port(b.address, host, port)) {
      return ConfigError{"backends", entry + quoted(b.address) + " is not HOST:PORT"};
    }
    if (b.weight < 1 || b.weight > kMaxWeight) {
      return ConfigError{"backends", entry + "weight " + std::to_string(b.weight) +
                                         " is out of range 1.." + std::to_string(kMaxWeight)};
    }
    if (!b.server_name.empty() && !is_host_name(b.server_name)) {
      return ConfigError{"backends", entry + quoted(b.server_name) + " is not a host name"};
    }
    for (size_t j = 0; j < i; ++j) {
      if (g.backends[j].address == b.address) {
        return ConfigError{"backends", entry + quoted(b.address) + " is listed twice"};
      }
    }
  }
  if (g.balance == BalancePolicy::kMaglev && g.hash_key.source != HashKey::Source::kClientIp &&
      !is_token(g.hash_key.name)) {
    return ConfigError{"hash_key", quoted(g.hash_key.name) + " is not a valid name"};
  }
  if (!g.tls.server_name.empty() && !is_host_name(g.tls.server_name)) {
    return ConfigError{"tls.server_name", quoted(g.tls.server_name) + " is not a host name"};
  }
  for (const std::string& pin : g.tls.pins) {
    if (!is_valid_pin(pin)) {
      return ConfigError{"tls.pins", quoted(pin) + " is not sha256/ and 44 base64 characters "
                                                   "(the SHA-256 of the public key)"};
    }
  }
  if ((!g.tls.ca_file.empty() || !g.tls.pins.empty() || !g.tls.server_name.empty()) &&
      !g.tls.enabled) {
    return ConfigError{"tls.enabled", "ca_file, server_name or pins are set but TLS is off; "
                                      "set tls.enabled = true"};
  }
  const PoolConfig& p = g.pool;
  if (auto e = range("pool.max_connections", p.max_connections, 1, 100'000)) return e;
  if (p.max_idle > p.max_connections) {
    return ConfigError{"pool.max_idle", std::to_string(p.max_idle) +
                                            " is larger than pool.max_connections (" +
                                            std::to_string(p.max_connections) + ")"};
  }
  if (auto e = duration("pool.idle_timeout", p.idle_timeout_ms, 1)) return e;
  if (auto e = duration("pool.wait_timeout", p.wait_timeout_ms, 0)) return e;
  if (auto e = range("pool.max_waiting", p.max_waiting, 0, 1'000'000)) return e;
  const TimeoutConfig& t = g.timeouts;
  if (auto e = duration("timeouts.connect", t.connect_ms, 1)) return e;
  if (auto e = duration("timeouts.first_byte", t.first_byte_ms, 1)) return e;
  if (auto e = duration("timeouts.idle", t.idle_ms, 1)) return e;
  if (auto e = duration("timeouts.request", t.request_ms, 0)) return e;
  const RetryConfig& r = g.retry;
  if (auto e = range("retry.attempts", r.attempts, 1, 10)) return e;
  if (auto e = duration("retry.base", r.base_ms, 1)) return e;
  if (auto e = duration("retry.cap", r.cap_ms, 1)) return e;
  if (r.cap_ms < r.base_ms) return ConfigError{"retry.cap", "smaller than retry.base"};
  if (auto e = range("retry.budget_percent", r.budget_percent, 0, 100)) return e;
  if (auto e = range("retry.min_retries", r.min_retries, 0, 1'000'000)) return e;
  for (uint16_t status : r.retry_on) {
    if (auto e = range("retry.retry_on", status, 500, 599)) return e;
  }
  const HealthConfig& h = g.health;
  if (!h.path.empty() && !is_path_prefix(h.path)) {
    return ConfigError{"health.path", quoted(h.path) + " is not a path starting with '/'"};
  }
  if (auto e = duration("health.interval", h.interval_ms, 100)) return e;
  if (auto e = duration("health.timeout", h.timeout_ms, 1)) return e;
  if (h.timeout_ms > h.interval_ms) {
    return ConfigError{"health.timeout", "longer than health.interval"};
  }
  if (h.expected_min < 100 || h.expected_max > 599 || h.expected_min > h.expected_max) {
    return ConfigError{"health.expected_status",
                       format_status_range(h.expected_min, h.expected_max) +
                           " is not a status range in 100..599"};
  }
  if (auto e = range("health.unhealthy_threshold", h.unhealthy_threshold, 1, 100)) return e;
  if (auto e = range("health.healthy_threshold", h.healthy_threshold, 1, 100)) return e;
  if (auto e = duration("health.jitter", h.jitter_ms, 0)) return e;
  if (!h.host.empty() && !is_host_name(h.host)) {
    return ConfigError{"health.host", quoted(h.host) + " is not a host name"};
  }
  const OutlierConfig& o = g.outlier;
  if (auto e = range("outlier.consecutive_5xx", o.consecutive_5xx, 0, 1000)) return e;
  if (auto e = range("outlier.consecutive_connect_failures", o.consecutive_connect_failures, 0,
                     1000)) {
    return e;
  }
  if (auto e = duration("outlier.base_ejection", o.base_ejection_ms, 1)) return e;
  if (auto e = duration("outlier.max_ejection", o.max_ejection_ms, 1)) return e;
  if (o.max_ejection_ms < o.base_ejection_ms) {
    return ConfigError{"outlier.max_ejection", "shorter than outlier.base_ejection"};
  }
  if (auto e = range("outlier.max_ejection_percent", o.max_ejection_percent, 0, 100)) return e;
  const BreakerConfig& br = g.breaker;
  if (auto e = range("breaker.max_connections", br.max_connections, 0, 1'000'000)) return e;
  if (auto e = range("breaker.max_pending", br.max_pending, 0, 1'000'000)) return e;
  if (auto e = range("breaker.max_requests", br.max_requests, 0, 1'000'000)) return e;
  return std::nullopt;
}

std::optional<ConfigError> validate_route(const ProxyRoute& r) {
  if (!is_path_prefix(r.prefix)) {
    return ConfigError{"prefix", quoted(r.prefix) + " is not a path prefix starting with '/'"};
  }
  if (!r.host.empty()) {
    std::string_view h = r.host;
    if (h.starts_with("*.")) h.remove_prefix(2);
    if (!is_host_name(h) || h.find('*') != std::string_view::npos ||
        std::any_of(h.begin(), h.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
      return ConfigError{"host", quoted(r.host) + " is not a lower-case host name or "
                                                  "*.suffix"};
    }
  }
  for (const std::string& m : r.methods) {
    if (!is_token(m)) return ConfigError{"methods", quoted(m) + " is not a method token"};
  }
  if (!is_valid_upstream_name(r.upstream)) {
    return ConfigError{"upstream", quoted(r.upstream) + " is not an upstream name"};
  }
  if (r.strip_prefix && !r.replace_prefix.empty()) {
    return ConfigError{"replace_prefix", "give strip_prefix or replace_prefix, not both"};
  }
  if (!r.replace_prefix.empty() && !is_path_prefix(r.replace_prefix)) {
    return ConfigError{"replace_prefix",
                       quoted(r.replace_prefix) + " is not a path starting with '/'"};
  }
  return std::nullopt;
}

std::optional<ProxyConfigError> validate_proxy_config(std::span<const UpstreamGroup> upstreams,
                                                      std::span<const ProxyRoute> routes) {
  if (upstreams.size() > kMaxUpstreams) {
    return ProxyConfigError{{"", "more than " + std::to_string(kMaxUpstreams) + " upstreams"},
                            false, kMaxUpstreams};
  }
  if (routes.size() > kMaxRoutes) {
    return ProxyConfigError{{"", "more than " + std::to_string(kMaxRoutes) + " routes"}, true,
                            kMaxRoutes};
  }
  for (size_t i = 0; i < upstreams.size(); ++i) {
    if (auto e = validate_upstream(upstreams[i])) return ProxyConfigError{*e, false, i};
    for (size_t j = 0; j < i; ++j) {
      if (upstreams[j].name == upstreams[i].name) {
        return ProxyConfigError{{"name", quoted(upstreams[i].name) + " is used twice"}, false, i};
      }
    }
  }
  for (size_t i = 0; i < routes.size(); ++i) {
    const ProxyRoute& r = routes[i];
    if (auto e = validate_route(r)) return ProxyConfigError{*e, true, i};
    bool known = std::any_of(upstreams.begin(), upstreams.end(),
                             [&](const UpstreamGroup& g) { return g.name == r.upstream; });
    if (!known) {
      return ProxyConfigError{{"upstream", "no upstream is named " + quoted(r.upstream)}, true, i};
    }
    for (size_t j = 0; j < i; ++j) {
      const ProxyRoute& o = routes[j];
      if (o.prefix == r.prefix && o.host == r.host && o.methods == r.methods) {
        return ProxyConfigError{{"prefix", "the same prefix, host and methods as route " +
                                               std::to_string(j + 1)},
                                true, i};
      }
    }
  }
  return std::nullopt;
}

}  // namespace ringshard::proxy
