// server/middleware_setup.h: the global middleware chain that Options ask
// for, built once at startup (http/ cannot see server::Options, so the
// conversion from options to the http/ pieces' configs lives here).
//
//   std::string error;
//   BuiltMiddleware mw = build_middleware(options, shards, error);
//   if (!error.empty()) { /* refuse to start: exit 78, log `error` */ }
//   config.middleware = mw.chain;   // then ServerApp::add_middleware extras
//
// Chain order (outermost first; before() runs in this order, on_response()
// in reverse):
//   1. request id / trace context  (either enabled): ids first, so every
//      later refusal's error body and the access log carry them
//   2. CORS                        (cors_enabled): preflights answered
//      before anything can refuse them; CORS headers on later refusals
//   3. security headers            (security_headers_enabled)
//   4. [rate limiting: another engineer's slot, see the .cc]
//   5. auth                        (auth_enabled)
//   6. [compression: another engineer's slot, see the .cc]
//
// `owned` holds the objects; `chain` views them in order. Keep the
// BuiltMiddleware alive for as long as any server uses `chain` (moving it
// is fine: the objects stay where they are).
// On a configuration the pieces refuse (CorsPolicy, AuthStore,
// SecurityHeadersMiddleware throw std::invalid_argument), returns an empty
// BuiltMiddleware and sets `error` ("cors: ...", "auth: ..."); otherwise
// `error` is cleared. Control plane only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "http/middleware.h"
#include "server/options.h"

namespace ringshard::server {

struct BuiltMiddleware {
  std::vector<std::unique_ptr<http::Middleware>> owned;
  std::vector<const http::Middleware*> chain;
};

BuiltMiddleware build_middleware(const Options& options, unsigned shards, std::string& error);

}  // namespace ringshard::server
