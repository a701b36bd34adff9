#include "http/mw_security_headers.h"

#include <stdexcept>
#include <string_view>
#include <utility>

#include "http/server.h"

namespace ringshard::http {

namespace {

void check_value(std::string_view what, std::string_view v) {
  for (unsigned char c : v) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      throw std::invalid_argument(std::string(what) +
                                  ": a control character is not allowed in a header value");
    }
  }
  if (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.back() == ' ' ||
                     v.back() == '\t')) {
    throw std::invalid_argument(std::string(what) + ": leading or trailing whitespace");
  }
}

// Adds name: value unless empty or the response already has the header.
void add_once(Response& res, std::string_view name, std::string_view value) {
  if (value.empty()) return;
  if (!res.added_header(name).empty()) return;
  res.trusted_header(name, value);
}

}  // namespace

SecurityHeadersMiddleware::SecurityHeadersMiddleware(SecurityHeadersConfig config)
    : config_(std::move(config)) {
  check_value("hsts", config_.hsts);
  check_value("frame_options", config_.frame_options);
  check_value("referrer_policy", config_.referrer_policy);
  check_value("content_security_policy", config_.content_security_policy);
}

void SecurityHeadersMiddleware::on_response(const ServerRequest* /*req*/, Response& res,
                                            ResponseInfo& /*info*/, RequestContext& ctx) const {
  add_once(res, "X-Content-Type-Options", "nosniff");
  add_once(res, "X-Frame-Options", config_.frame_options);
  add_once(res, "Referrer-Policy", config_.referrer_policy);
  add_once(res, "Content-Security-Policy", config_.content_security_policy);
  if (ctx.tls) add_once(res, "Strict-Transport-Security", config_.hsts);
}

}  // namespace ringshard::http
