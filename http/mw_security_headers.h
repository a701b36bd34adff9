// http/mw_security_headers.h: the security response headers browsers act
// on, added to every response of the main listener.
//
//   SecurityHeadersMiddleware sec(SecurityHeadersConfig{
//       .hsts = "max-age=63072000; includeSubDomains",
//       .frame_options = "DENY", .referrer_policy = "no-referrer",
//       .content_security_policy = "default-src 'none'"});   // config time
//
// on_response() adds, each only when the response does not carry that
// header already (a handler's or another middleware's own value wins, and
// Response::send_error's nosniff is not doubled):
//   X-Content-Type-Options: nosniff        (always)
//   X-Frame-Options: <frame_options>       (when non-empty)
//   Referrer-Policy: <referrer_policy>     (when non-empty)
//   Content-Security-Policy: <csp>         (when non-empty)
//   Strict-Transport-Security: <hsts>      (when non-empty AND the request
//                                           came over TLS: RFC 6797 7.2, a
//                                           host must not send it over
//                                           plain HTTP, where browsers
//                                           ignore it anyway)
// Values go out as configured. Nothing is added in before(): the headers
// reach every answer, including those of middleware earlier in the chain
// (a CORS preflight), 404/405, and deferred or streamed responses.
//
// The constructor throws std::invalid_argument (control plane) for a value
// with CR, LF, NUL or another control character but HTAB, or with leading
// or trailing whitespace: Response::header() would turn such a value into
// a 500 on every request.
//
// Cost: a few header copies into the shard's arena per response; no
// allocation once the arena has grown. Immutable after construction; any
// shard.
#pragma once

#include <string>

#include "http/middleware.h"

namespace ringshard::http {

struct SecurityHeadersConfig {
  std::string hsts = "max-age=63072000; includeSubDomains";
  std::string frame_options = "DENY";
  std::string referrer_policy = "no-referrer";
  std::string content_security_policy;  // empty: none
};

class SecurityHeadersMiddleware final : public Middleware {
 public:
  explicit SecurityHeadersMiddleware(SecurityHeadersConfig config);

  void on_response(const ServerRequest* req, Response& res, ResponseInfo& info,
                   RequestContext& ctx) const override;

  const SecurityHeadersConfig& config() const { return config_; }

 private:
  SecurityHeadersConfig config_;
};

}  // namespace ringshard::http
