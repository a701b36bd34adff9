#include "http/router.h"

#include <stdexcept>

#include "http/chars.h"

namespace ringshard::http {

void Router::add(std::string_view method, std::string_view pattern, HandlerFn handler,
                 RouteOptions options) {
  if (method.empty() || method.size() > 64) {
    throw std::invalid_argument("bad method token: " + std::string(method));
  }
  for (char c : method) {
    if (!chars::is_tchar(c)) throw std::invalid_argument("bad method token: " + std::string(method));
  }
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kDelete,
                   Method::kPatch, Method::kOptions, Method::kConnect, Method::kTrace}) {
    if (method_name(m) == method) {
      add(m, pattern, std::move(handler), std::move(options));
      return;
    }
  }
  add_route(Method::kUnknown, method, pattern, std::move(handler), std::move(options));
}

void Router::add(Method method, std::string_view pattern, HandlerFn handler,
                 RouteOptions options) {
  if (method == Method::kUnknown) throw std::invalid_argument("add an extension method by name");
  add_route(method, method_name(method), pattern, std::move(handler), std::move(options));
}

bool Router::has_method(Method method, std::string_view method_text) const {
  for (const Route& r : routes_) {
    if (r.is_prefix) continue;  // they take any method, but only on their paths
    if (r.method != method) continue;
    if (method != Method::kUnknown || r.method_text == method_text) return true;
  }
  // HEAD is served by GET routes.
  return method == Method::kHead && has_method(Method::kGet, {});
}

void Router::add_route(Method method, std::string_view method_text, std::string_view pattern,
                       HandlerFn handler, RouteOptions options) {
  if (pattern == "*") {  // asterisk-form: OPTIONS *, M-SEARCH *
    routes_.push_back(Route{method, std::string(method_text), "*", {}, true, std::move(handler),
                            std::move(options)});
    return;
  }
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern must start with '/': " + std::string(pattern));
  }
  Route r{method, std::string(method_text), std::string(pattern), {}, true, std::move(handler),
          std::move(options)};
  size_t params = 0;
  std::string_view rest = pattern.substr(1);
  while (true) {
    const size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      if (++params > kMaxParams) throw std::invalid_argument("too many route parameters");
      r.segments.push_back({std::string(seg.substr(1, seg.size() - 2)), true});
      r.literal = false;
    } else {
      if (seg.find_first_of("{}") != std::string_view::npos) {
        throw std::invalid_argument("bad route segment: " + std::string(seg));
      }
      r.segments.push_back({std::string(seg), false});
    }
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  for (const Route& existing : routes_) {
    if (existing.method_text == r.method_text && existing.pattern == r.pattern) {
      throw std::invalid_argument("duplicate route: " + r.pattern);
    }
  }
  routes_.push_back(std::move(r));
}

void Router::add_prefix(std::string_view prefix, PrefixFilter filter, HandlerFn handler,
                        RouteOptions options) {
  if (!prefix.empty() && prefix.front() != '/') {
    throw std::invalid_argument("route prefix must start with '/': " + std::string(prefix));
  }
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  Route r{Method::kUnknown, "*", std::string(prefix) + "/*", {}, false,
          std::move(handler), std::move(options)};
  r.filter = std::move(filter);
  r.prefix = std::string(prefix);
  r.is_prefix = true;
  routes_.push_back(std::move(r));
  const uint32_t index = static_cast<uint32_t>(routes_.size() - 1);
  auto at = prefix_order_.begin();
  while (at != prefix_order_.end() && routes_[*at].prefix.size() >= routes_[index].prefix.size()) {
    ++at;
  }
  prefix_order_.insert(at, index);
}

bool Router::prefix_matches(const Route& r, std::string_view path, const Request* req) const {
  if (path.size() < r.prefix.size() || path.compare(0, r.prefix.size(), r.prefix) != 0) {
    return false;
  }
  if (path.size() > r.prefix.size() && path[r.prefix.size()] != '/' &&
      path[r.prefix.size()] != '?') {
    return false;
  }
  if (!r.filter) return true;
  return req != nullptr && r.filter(*req);
}

bool Router::matches(const Route& r, std::string_view path, PathParams& params) const {
  if (r.is_prefix) return false;  // matched by prefix_matches() only
  if (r.literal) {
    params.count = 0;
    return path == r.pattern;
  }
  if (path.empty() || path.front() != '/') return false;
  std::string_view rest = path.substr(1);
  params.count = 0;
  for (size_t i = 0; i < r.segments.size(); ++i) {
    const size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    const bool last = i + 1 == r.segments.size();
    if (last != (slash == std::string_view::npos)) return false;
    const Segment& s = r.segments[i];
    if (s.param) {
      if (seg.empty()) return false;
      params.names[params.count] = s.text;
      params.values[params.count] = seg;
      ++params.count;
    } else if (seg != s.text) {
      return false;
    }
    if (!last) rest = rest.substr(slash + 1);
  }
  return true;
}

// Only on the 405 path: walks every route again, which is fine for an error.
void Router::collect_allow(std::string_view path, RouteMatch& out) const {
  auto add = [&](std::string_view m) {
    for (size_t i = 0; i < out.allow_count; ++i) {
      if (out.allow[i] == m) return;
    }
    if (out.allow_count < out.allow.size()) out.allow[out.allow_count++] = m;
  };
  PathParams scratch;
  for (const Route& r : routes_) {
    if (!matches(r, path, scratch)) continue;
    add(r.method_text);
    if (r.method == Method::kGet) add(method_name(Method::kHead));
  }
}

std::string allow_header(const RouteMatch& m) {
  std::string out;
  for (size_t i = 0; i < m.allow_count; ++i) {
    if (i > 0) out += ", ";
    out += m.allow[i];
  }
  return out;
}

RouteMatch Router::match(Method method, std::string_view path, PathParams& params,
                         std::string_view method_text, const Request* req) const {
  RouteMatch out;
  for (const uint32_t i : prefix_order_) {
    const Route& r = routes_[i];
    if (!prefix_matches(r, path, req)) continue;
    params.count = 0;
    out.handler = &r.handler;
    out.options = &r.options;
    out.route = i;
    out.path_matched = true;
    return out;
  }
  const Route* path_hit = nullptr;
  const Route* head_fallback = nullptr;
  auto hit = [&](const Route& r) {
    out.handler = &r.handler;
    out.options = &r.options;
    out.route = static_cast<uint32_t>(&r - routes_.data());
    out.path_matched = true;
  };
  // Candidates capture straight into `params`: a PathParams is 264 bytes,
  // and value-initialising two scratch copies per call (then copying one
  // out) cost more than the matching itself. Only the HEAD fallback needs
  // the captures of an earlier candidate; it matches that route again.
  // Literal routes first: the benchmark endpoints resolve with a length
  // compare and one memcmp.
  for (int pass = 0; pass < 2; ++pass) {
    for (const Route& r : routes_) {
      if (r.literal != (pass == 0)) continue;
      if (!matches(r, path, params)) continue;
      if (r.method == method && (method != Method::kUnknown || r.method_text == method_text)) {
        hit(r);
        return out;
      }
      if (method == Method::kHead && r.method == Method::kGet && head_fallback == nullptr) {
        head_fallback = &r;
      }
      if (path_hit == nullptr) path_hit = &r;
    }
  }
  if (head_fallback != nullptr) {
    matches(*head_fallback, path, params);
    hit(*head_fallback);
    return out;
  }
  params.count = 0;
  if (path_hit != nullptr) {
    out.path_matched = true;
    collect_allow(path, out);
  }
  return out;
}

}  // namespace ringshard::http
