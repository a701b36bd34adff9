#include "http/cors.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

#include "http/chars.h"
#include "http/request.h"

namespace ringshard::http {

namespace {

// Preflight answers depend on all three request headers, denied or not.
constexpr std::string_view kPreflightVary =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

struct OriginParts {
  std::string_view scheme;
  std::string_view host;
  std::string_view port;
};

using chars::is_token;

// A serialized tuple origin (HTML "ASCII serialization of an origin"):
// scheme "://" host [ ":" port ], nothing after. Hosts are reg-names or
// bracketed IPv6 literals; browsers send IDNs as punycode, so ASCII only.
std::optional<OriginParts> split_origin(std::string_view o) {
  if (o.empty() || o.size() > kCorsMaxOrigin) return std::nullopt;
  size_t i = 0;
  if (!chars::is_alpha(o[0])) return std::nullopt;
  while (i < o.size() && (chars::is_alpha(o[i]) || chars::is_digit(o[i]) ||
                          o[i] == '+' || o[i] == '-' || o[i] == '.')) {
    ++i;
  }
  OriginParts p;
  p.scheme = o.substr(0, i);
  if (o.substr(i, 3) != "://") return std::nullopt;
  i += 3;
  const size_t host_begin = i;
  if (i < o.size() && o[i] == '[') {
    ++i;
    while (i < o.size() && (chars::is_hex(o[i]) || o[i] == ':' || o[i] == '.')) ++i;
    if (i >= o.size() || o[i] != ']') return std::nullopt;
    ++i;
  } else {
    while (i < o.size() && o[i] != ':' &&
           (chars::cls(o[i]) & chars::kRegName) != 0) {
      ++i;
    }
  }
  p.host = o.substr(host_begin, i - host_begin);
  if (p.host.empty() || p.host == "[]") return std::nullopt;
  if (i < o.size() && o[i] == ':') {
    ++i;
    const size_t port_begin = i;
    uint32_t value = 0;
    while (i < o.size() && chars::is_digit(o[i]) && i - port_begin < 5) {
      value = value * 10 + static_cast<uint32_t>(o[i] - '0');
      ++i;
    }
    p.port = o.substr(port_begin, i - port_begin);
    if (p.port.empty() || value > 65535) return std::nullopt;
  }
  if (i != o.size()) return std::nullopt;
  return p;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// Checks a list of methods or field names; returns whether it holds "*".
bool check_tokens(const std::vector<std::string>& items, const char* what) {
  bool star = false;
  for (const std::string& s : items) {
    if (s == "*") {
      star = true;
    } else if (!is_token(s)) {
      throw std::invalid_argument(std::string("CORS ") + what + " '" + s +
                                  "' is not a token");
    }
  }
  return star;
}

bool is_safelisted_method(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "POST";
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && chars::is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && chars::is_ows(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

CorsPolicy::CorsPolicy(CorsConfig config) : config_(std::move(config)) {
  if (config_.allow_origins.empty()) {
    throw std::invalid_argument("CORS allow_origins is empty");
  }
  for (const std::string& o : config_.allow_origins) {
    if (o == "*") {
      any_origin_ = true;
    } else if (o == "null") {
      null_origin_ = true;
    } else if (auto p = split_origin(o)) {
      origins_.push_back({chars::to_lower(p->scheme), chars::to_lower(p->host), std::string(p->port)});
    } else {
      throw std::invalid_argument("CORS origin '" + o +
                                  "' is not scheme://host[:port], '*' or 'null'");
    }
  }
  any_method_ = check_tokens(config_.allow_methods, "method");
  any_header_ = check_tokens(config_.allow_headers, "header");
  if (check_tokens(config_.expose_headers, "exposed header") &&
      config_.allow_credentials) {
    throw std::invalid_argument(
        "CORS expose_headers '*' does not work with allow_credentials: "
        "list the names");
  }
  for (const std::string& h : config_.allow_headers) {
    if (h != "*") headers_lower_.push_back(chars::to_lower(h));
  }
  methods_joined_ = join(config_.allow_methods);
  headers_joined_ = join(config_.allow_headers);
  expose_joined_ = join(config_.expose_headers);
  if (config_.max_age_s) max_age_ = std::to_string(*config_.max_age_s);
}

bool CorsPolicy::origin_allowed(std::string_view origin) const {
  if (origin == "null") {
    // An opaque origin: a wildcard covers it only where no credentials go.
    return null_origin_ || (any_origin_ && !config_.allow_credentials);
  }
  std::optional<OriginParts> p = split_origin(origin);
  if (!p) return false;
  if (any_origin_) return true;
  for (const Origin& o : origins_) {
    if (iequals(p->scheme, o.scheme) && iequals(p->host, o.host) &&
        p->port == o.port) {
      return true;
    }
  }
  return false;
}

bool is_preflight(std::string_view method_text, std::string_view origin,
                  std::string_view access_control_request_method) {
  return method_text == "OPTIONS" && !origin.empty() &&
         !access_control_request_method.empty();
}

std::optional<size_t> parse_header_name_list(std::string_view value,
                                             std::span<std::string_view> out) {
  if (value.size() > kCorsMaxRequestHeadersBytes) return std::nullopt;
  const size_t cap = std::min(out.size(), kCorsMaxRequestHeaders);
  size_t n = 0;
  size_t i = 0;
  while (i < value.size()) {
    const char c = value[i];
    if (c == ',' || chars::is_ows(c)) {
      ++i;
      continue;
    }
    const size_t begin = i;
    while (i < value.size() && chars::is_tchar(value[i])) ++i;
    if (i == begin) return std::nullopt;  // neither a name nor a separator
    const std::string_view name = value.substr(begin, i - begin);
    while (i < value.size() && chars::is_ows(value[i])) ++i;
    if (i < value.size() && value[i] != ',') return std::nullopt;  // "a b"
    if (n == cap) return std::nullopt;
    out[n++] = name;
  }
  return n;
}

CorsPreflight decide_preflight(const CorsPolicy& policy, std::string_view origin,
                               std::string_view method,
                               std::string_view request_headers) {
  CorsPreflight r;
  r.vary = kPreflightVary;
  const CorsConfig& c = policy.config_;
  if (!policy.origin_allowed(origin)) {
    r.reason = "origin not allowed";
    return r;
  }
  if (!is_token(method)) {
    r.reason = "malformed Access-Control-Request-Method";
    return r;
  }
  bool method_ok = policy.any_method_ || is_safelisted_method(method);
  for (const std::string& m : c.allow_methods) method_ok |= (m == method);
  if (!method_ok) {
    r.reason = "method not allowed";
    return r;
  }
  std::array<std::string_view, kCorsMaxRequestHeaders> names;
  std::optional<size_t> count = parse_header_name_list(request_headers, names);
  if (!count) {
    r.reason = "malformed Access-Control-Request-Headers";
    return r;
  }
  for (size_t i = 0; i < *count; ++i) {
    bool listed = false;
    for (const std::string& h : policy.headers_lower_) {
      listed |= iequals(names[i], h);
    }
    // Fetch: a wildcard never covers Authorization (4.8 "CORS-preflight
    // fetch", step 7.7); it has to be listed by name.
    if (!listed && (!policy.any_header_ || iequals(names[i], "authorization"))) {
      r.reason = "request header not allowed";
      return r;
    }
  }
  r.allowed = true;
  const bool creds = c.allow_credentials;
  r.allow_origin = policy.any_origin_ && !creds ? std::string_view("*") : origin;
  if (creds) r.allow_credentials = "true";
  // With credentials a "*" is read literally, so echo what was asked for.
  r.allow_methods = policy.any_method_ && creds
                        ? method
                        : std::string_view(policy.methods_joined_);
  r.allow_headers = policy.any_header_ && creds
                        ? trim_ows(request_headers)
                        : std::string_view(policy.headers_joined_);
  r.max_age = policy.max_age_;
  return r;
}

CorsSimple decide_simple(const CorsPolicy& policy, std::string_view origin) {
  CorsSimple r;
  const bool creds = policy.config_.allow_credentials;
  const bool same_for_all = policy.any_origin_ && !creds;
  if (!same_for_all) r.vary = "Origin";
  if (origin.empty() || !policy.origin_allowed(origin)) return r;
  r.allowed = true;
  r.allow_origin = same_for_all ? std::string_view("*") : origin;
  if (creds) r.allow_credentials = "true";
  r.expose_headers = policy.expose_joined_;
  return r;
}

}  // namespace ringshard::http
