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

class Middleware;

struct RouteOptions {
  uint64_t max_body = 0;  // 0: the server's default body limit
  // The handler runs as soon as the head is parsed and reads the body as it
  // arrives through ServerRequest::body_reader() (http/server.h) instead of
  // getting it whole in ServerRequest::body(). max_body still applies,
  // counted while streaming (chunked bodies too).
  bool stream_body = false;
  // Run for this route only, after the global ones (http/middleware.h).
  std::vector<const Middleware*> middleware;
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
  uint32_t route = 0;                  // index of the matched route (when handler)
  bool path_matched = false;
  // For a 405: the methods of every route whose pattern matches the path
  // (across patterns: a literal /users/me and a /users/{id} both count), in
  // the order the routes were added, each once; HEAD follows GET. Views of
  // the router's own strings.
  std::array<std::string_view, 16> allow{};
  size_t allow_count = 0;
};

// The Allow header value of a 405 match: "GET, HEAD, PUT".
std::string allow_header(const RouteMatch& m);

class Router {
 public:
  // Throws std::invalid_argument for a malformed pattern (control plane).
  void add(Method method, std::string_view pattern, HandlerFn handler,
           RouteOptions options = {});
  // Any RFC 9110 method token ("PURGE", "M-SEARCH", "QUERY"; case
  // matters); a standard one is the same as add(Method, ...). Throws
  // std::invalid_argument for a token that is not one.
  void add(std::string_view method, std::string_view pattern, HandlerFn handler,
           RouteOptions options = {});

  // On a match, `params` holds the route's {param} captures (views into
  // `path`; count 0 for a literal route). On 404 or 405 its count is 0 and
  // the arrays hold nothing meaningful. `method_text` is the token as
  // received; it decides only for extension methods (Method::kUnknown).
  RouteMatch match(Method method, std::string_view path, PathParams& params,
                   std::string_view method_text = {}) const;
  // True when some route registers this method (for kUnknown: this
  // token). A method no route knows is answered 501, anything else 404/405.
  bool has_method(Method method, std::string_view method_text) const;
  // The route's pattern and method by index (RouteMatch::route), for
  // metrics labels; valid while the router lives.
  size_t size() const { return routes_.size(); }
  std::string_view pattern(size_t route) const { return routes_[route].pattern; }
  std::string_view method_text(size_t route) const { return routes_[route].method_text; }

 private:
  struct Segment {
    std::string text;  // literal text, or the parameter name
    bool param;
  };
  struct Route {
    Method method;
    std::string method_text;  // the token (standard or extension)
    std::string pattern;
    std::vector<Segment> segments;
    bool literal;
    HandlerFn handler;
    RouteOptions options;
  };
  void add_route(Method method, std::string_view method_text, std::string_view pattern,
                 HandlerFn handler, RouteOptions options);
  bool matches(const Route& r, std::string_view path, PathParams& params) const;
  void collect_allow(std::string_view path, RouteMatch& out) const;

  std::vector<Route> routes_;
};

}  // namespace ringshard::http
