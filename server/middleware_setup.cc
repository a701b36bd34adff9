#include "server/middleware_setup.h"

#include "server/rate_limit_setup.h"

#include <exception>
#include <stdexcept>
#include <utility>

#include "http/auth.h"
#include "http/cors.h"
#include "http/mw_auth.h"
#include "http/mw_cors.h"
#include "http/mw_request_id.h"
#include "http/mw_security_headers.h"

namespace ringshard::server {

namespace {

void push(BuiltMiddleware& out, std::unique_ptr<http::Middleware> m) {
  out.chain.push_back(m.get());
  out.owned.push_back(std::move(m));
}

http::CorsConfig cors_config(const Options& o) {
  http::CorsConfig c;
  c.allow_origins = o.cors_allow_origins;
  c.allow_methods = o.cors_allow_methods;
  c.allow_headers = o.cors_allow_headers;
  c.expose_headers = o.cors_expose_headers;
  c.allow_credentials = o.cors_allow_credentials;
  // Whole seconds are sent; 0 is meaningful (browsers must not cache).
  c.max_age_s = o.cors_max_age_ms / 1000;
  return c;
}

http::SecurityHeadersConfig security_config(const Options& o) {
  http::SecurityHeadersConfig c;
  c.hsts = o.hsts;
  c.frame_options = o.frame_options;
  c.referrer_policy = o.referrer_policy;
  c.content_security_policy = o.content_security_policy;
  return c;
}

http::AuthConfig auth_config(const Options& o) {
  http::AuthConfig c;
  for (const AuthCredential& t : o.auth_tokens) {
    c.credentials.push_back({t.name, http::CredentialKind::kBearer, t.sha256_hex, t.scopes});
  }
  for (const AuthCredential& k : o.auth_api_keys) {
    c.credentials.push_back({k.name, http::CredentialKind::kApiKey, k.sha256_hex, k.scopes});
  }
  for (const AuthRule& r : o.auth_rules) c.rules.push_back({r.match, r.methods, r.scope});
  return c;
}

}  // namespace

BuiltMiddleware build_middleware(const Options& o, unsigned shards, std::string& error) {
  error.clear();
  BuiltMiddleware out;
  const char* stage = "";
  try {
    // 0. Compression: outermost, so its on_response runs last and sees the
    //    final body and every header the others added (Vary merging).
    // The two made by a factory that reports errors instead of throwing.
    auto add_made = [&](const char* name, std::unique_ptr<http::Middleware> m) {
      if (m == nullptr && !error.empty()) {
        error = std::string(name) + ": " + error;
        return false;
      }
      if (m != nullptr) push(out, std::move(m));
      return true;
    };
    if (o.compression_enabled &&
        !add_made("compression", make_compression_middleware(o, shards, error))) {
      return {};
    }
    // 1. Request ids and trace context.
    if (o.request_id_enabled || o.trace_context_enabled) {
      stage = "request_id";
      push(out, std::make_unique<http::RequestIdMiddleware>(shards, o.request_id_enabled,
                                                            o.trace_context_enabled));
    }
    // 2. CORS: preflights answered before anything below can refuse them.
    if (o.cors_enabled) {
      stage = "cors";
      push(out, std::make_unique<http::CorsMiddleware>(cors_config(o)));
    }
    // 3. Security headers (on_response only: position matters little).
    if (o.security_headers_enabled) {
      stage = "security_headers";
      push(out, std::make_unique<http::SecurityHeadersMiddleware>(security_config(o)));
    }
    // 4. Rate limiting, after CORS (no preflight is limited) and before
    //    auth (failed credential attempts are limited too).
    if (!o.rate_limits.empty() &&
        !add_made("rate_limit", make_rate_limit_middleware(o, shards, error))) {
      return {};
    }
    // 5. Authentication.
    if (o.auth_enabled) {
      stage = "auth";
      push(out, std::make_unique<http::AuthMiddleware>(auth_config(o), shards));
    }
  } catch (const std::exception& e) {
    error = std::string(stage) + ": " + e.what();
    return {};
  }
  return out;
}

}  // namespace ringshard::server
