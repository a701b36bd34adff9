// proxy/route_table.cc: route precedence and matching (the rules:
// proxy/route_table.h).
#include "proxy/route_table.h"

#include <algorithm>

#include "http/chars.h"

namespace ringshard::proxy {
namespace {

using http::chars::to_lower;

// `a` compared with `lower_b` (already lower case), ignoring a's case.
bool iequals_lower(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != lower_b[i]) return false;
  }
  return true;
}

// 0: exact host, 1: wildcard, 2: any host.
int host_rank(const ProxyRoute& r) {
  if (r.host.empty()) return 2;
  return r.host.starts_with("*.") ? 1 : 0;
}

bool host_matches(const ProxyRoute& r, std::string_view host) {
  if (r.host.empty()) return true;
  if (!r.host.starts_with("*.")) return iequals_lower(host, r.host);
  std::string_view suffix = std::string_view(r.host).substr(1);  // ".example.com"
  return host.size() > suffix.size() &&
         iequals_lower(host.substr(host.size() - suffix.size()), suffix);
}

bool method_matches(const ProxyRoute& r, std::string_view method) {
  if (r.methods.empty()) return true;
  return std::any_of(r.methods.begin(), r.methods.end(),
                     [&](const std::string& m) { return m == method; });
}

}  // namespace

std::string_view host_without_port(std::string_view host) {
  if (!host.empty() && host[0] == '[') {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(1, close - 1);
  }
  size_t colon = host.rfind(':');
  if (colon != std::string_view::npos) host = host.substr(0, colon);
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

RouteTable::RouteTable(std::span<const ProxyRoute> routes)
    : routes_(routes.begin(), routes.end()) {
  order_.resize(routes_.size());
  for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
  std::stable_sort(order_.begin(), order_.end(), [this](size_t a, size_t b) {
    const ProxyRoute& x = routes_[a];
    const ProxyRoute& y = routes_[b];
    if (x.prefix.size() != y.prefix.size()) return x.prefix.size() > y.prefix.size();
    if (host_rank(x) != host_rank(y)) return host_rank(x) < host_rank(y);
    if (x.host.size() != y.host.size()) return x.host.size() > y.host.size();
    return !x.methods.empty() && y.methods.empty();
  });
}

size_t RouteTable::match_index(std::string_view host, std::string_view method,
                               std::string_view path) const {
  std::string_view bare = host_without_port(host);
  for (size_t i : order_) {
    const ProxyRoute& r = routes_[i];
    if (path.starts_with(r.prefix) && host_matches(r, bare) && method_matches(r, method)) {
      return i;
    }
  }
  return kNoRoute;
}

const ProxyRoute* RouteTable::match(std::string_view host, std::string_view method,
                                    std::string_view path) const {
  size_t i = match_index(host, method, path);
  return i == kNoRoute ? nullptr : &routes_[i];
}

}  // namespace ringshard::proxy
