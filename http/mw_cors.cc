#include "http/mw_cors.h"

#include <string_view>
#include <utility>

#include "http/server.h"

namespace ringshard::http {

namespace {

void add_if(Response& res, std::string_view name, std::string_view value) {
  if (!value.empty()) res.trusted_header(name, value);
}

}  // namespace

CorsMiddleware::CorsMiddleware(CorsConfig config) : policy_(std::move(config)) {}

bool CorsMiddleware::before(ServerRequest& req, Response& res, RequestContext& /*ctx*/) const {
  const std::string_view origin = req.header("origin");
  if (req.method() == Method::kOptions && !origin.empty()) {
    const std::string_view acr_method = req.header("access-control-request-method");
    if (is_preflight(req.head().method_text, origin, acr_method)) {
      const CorsPreflight p = decide_preflight(
          policy_, origin, acr_method, req.header("access-control-request-headers"));
      if (p.allowed) {
        add_if(res, "Access-Control-Allow-Origin", p.allow_origin);
        add_if(res, "Access-Control-Allow-Methods", p.allow_methods);
        add_if(res, "Access-Control-Allow-Headers", p.allow_headers);
        add_if(res, "Access-Control-Allow-Credentials", p.allow_credentials);
        add_if(res, "Access-Control-Max-Age", p.max_age);
      }
      add_if(res, "Vary", p.vary);
      res.send(204, {}, {});
      return false;
    }
  }
  const CorsSimple s = decide_simple(policy_, origin);
  if (s.allowed) {
    add_if(res, "Access-Control-Allow-Origin", s.allow_origin);
    add_if(res, "Access-Control-Allow-Credentials", s.allow_credentials);
    add_if(res, "Access-Control-Expose-Headers", s.expose_headers);
  }
  add_if(res, "Vary", s.vary);
  return true;
}

}  // namespace ringshard::http
