// http/router.h: method + path routing with {param} segments.
//
//   Router r;
//   r.add(Method::kGet, "/v1/deployments/{id}", [](ServerRequest& req, Response& res) {
//     res.send(200, "application/json", lookup(req.param("id")));
//   });
//
// Literal routes are checked first (exact match), then patterns in the
// order added. A path that matches some route but not the method is a 405
// with an Allow header; no match is a 404. A HEAD request falls back to the
// GET route and the driver drops the body.
//
// Built once at start-up (control plane: allocates), then read-only and
// shared by every shard: match() allocates nothing and is thread-safe.
#pragma once

#include <cstdint>
#include <array>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace ringshard::http {

class ServerRequest;
class Response;

using HandlerFn = std::function<void(ServerRequest&, Response&)>;

struct RouteOptions {
  uint64_t max_body = 0;  // 0: the server's default body limit
};

inline constexpr size_t kMaxParams = 8;

struct PathParams {
  std::array<std::string_view, kMaxParams> names{};
  std::array<std::string_view, kMaxParams> values{};
  size_t count = 0;
};

struct RouteMatch {
  const HandlerFn* handler = nullptr;  // null: 404 or 405
  const RouteOptions* options = nullptr;
  bool path_matched = false;
  // For a 405: the methods of every route whose pattern matches the path
  // (across patterns: a literal /users/me and a /users/{id} both count), in
  // the order the routes were added, each once; HEAD follows GET.
  std::array<Method, 16> allow{};
  size_t allow_count = 0;
};

// The Allow header value of a 405 match: "GET, HEAD, PUT".
std::string allow_header(const RouteMatch& m);

class Router {
 public:
  // Throws std::invalid_argument for a malformed pattern (control plane).
  void add(Method method, std::string_view pattern, HandlerFn handler,
           RouteOptions options = {});

  // On a match, `params` holds the route's {param} captures (views into
  // `path`; count 0 for a literal route). On 404 or 405 its count is 0 and
  // the arrays hold nothing meaningful.
  RouteMatch match(Method method, std::string_view path, PathParams& params) const;

 private:
  struct Segment {
    std::string text;  // literal text, or the parameter name
    bool param;
  };
  struct Route {
    Method method;
    std::string pattern;
    std::vector<Segment> segments;
    bool literal;
    HandlerFn handler;
    RouteOptions options;
  };
  bool matches(const Route& r, std::string_view path, PathParams& params) const;
  void collect_allow(std::string_view path, RouteMatch& out) const;

  std::vector<Route> routes_;
};

}  // namespace ringshard::http
