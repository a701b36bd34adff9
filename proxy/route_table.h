// proxy/route_table.h: which proxy route a request takes.
//
// Built once from the configured routes (a copy, so the table owns its
// strings), then read-only: one per process or one per shard, any number
// of threads may call match() at once.
//
// A route matches when its prefix is a prefix of the request's path
// (plain bytes: "/api" also matches "/apix"; write "/api/" for a
// directory), its host matches the request's Host (compared without the
// port and a trailing dot, case-insensitively: "api.example.com" exactly,
// "*.example.com" any name ending in ".example.com" but not
// "example.com" itself, "" any host), and its methods include the
// request's method (or it lists none). Among matching routes:
//   1. the longest prefix wins;
//   2. then an exact host, then a wildcard host (the longer suffix first),
//      then a route for any host;
//   3. then a route listing methods before one for any method;
//   4. then the one that comes first in the configuration.
//
//   proxy::RouteTable table(options.proxy_routes);
//   const proxy::ProxyRoute* r = table.match(req.host, req.method_text, req.path);
//   if (r == nullptr) { ... not a proxied path: the server's own routes ... }
//
// match() does not allocate; it walks the routes in precedence order
// (sorted at construction), so it stops at the first match: O(routes) in the
// worst case, and the configuration caps routes at kMaxRoutes.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "proxy/config.h"

namespace ringshard::proxy {

class RouteTable {
 public:
  explicit RouteTable(std::span<const ProxyRoute> routes);

  // `host`: the Host header as received (may carry ":port", may be empty);
  // `path`: the request path without the query.
  const ProxyRoute* match(std::string_view host, std::string_view method,
                          std::string_view path) const;
  // The position in the configured routes of match()'s answer, or kNoRoute.
  static constexpr size_t kNoRoute = static_cast<size_t>(-1);
  size_t match_index(std::string_view host, std::string_view method,
                     std::string_view path) const;

  size_t size() const { return routes_.size(); }

 private:
  std::vector<ProxyRoute> routes_;   // as configured
  std::vector<size_t> order_;        // indices into routes_, in precedence order
};

// The host of a Host header value: the port and one trailing dot removed,
// brackets kept off an IPv6 literal ("[::1]:80" -> "::1"). A view into `host`.
std::string_view host_without_port(std::string_view host);

}  // namespace ringshard::proxy
