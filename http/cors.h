// http/cors.h: Cross-Origin Resource Sharing (the CORS protocol of the
// WHATWG Fetch standard, section 3.2), as pure decisions: given the policy
// and a request's Origin and Access-Control-Request-* values, which
// Access-Control-* headers the response carries. No I/O, no HTTP types.
//
//   CorsPolicy cors(CorsConfig{.allow_origins = {"https://app.example"},
//                              .allow_methods = {"GET", "PUT"},
//                              .allow_headers = {"content-type"},
//                              .allow_credentials = true,
//                              .max_age_s = 600});           // config time
//   if (is_preflight(req.method_text, origin, acr_method)) {
//     CorsPreflight p = decide_preflight(cors, origin, acr_method, acr_headers);
//     // 204 with p's non-empty fields as headers (none but Vary if denied),
//     // whether or not a route registered OPTIONS.
//   } else {
//     CorsSimple s = decide_simple(cors, origin);  // add to the response
//   }
//
// Rules (Fetch 3.2.3-3.2.5):
//  - allow_origins lists serialized origins, "scheme://host[:port]"; the
//    match is exact on scheme, host and port, case-insensitive on scheme and
//    host ("https://a.example" does not match "https://a.example:8443" or
//    "http://a.example"). "*" allows every origin. "null" (opaque origins:
//    sandboxed frames, file:) matches only when listed as "null".
//  - An origin that is not allowed gets no Access-Control-* header at all:
//    the browser then blocks the response. Vary still goes out (a cache
//    must not hand that response to an allowed origin).
//  - "*" without credentials answers "Access-Control-Allow-Origin: *".
//    With allow_credentials the answer is never "*" (browsers refuse it):
//    the request's Origin is echoed and "Vary: Origin" added.
//  - Preflight: the requested method must be in allow_methods (exact, case-
//    sensitive as methods are) or be GET, HEAD or POST (CORS-safelisted);
//    "*" allows every method. Each name in Access-Control-Request-Headers
//    must be in allow_headers (case-insensitive); "*" allows every name but
//    Authorization, which Fetch never lets a wildcard cover: list it by
//    name. With credentials, wildcards are answered by echoing what was
//    requested, since browsers read "*" literally on credentialed requests.
//
// Ownership: CorsPolicy owns its precomputed strings (joined lists, the
// Max-Age digits). Result fields are views into the policy, valid while it
// lives, or into the request's own header values (an echoed Origin, method
// or header list), valid while those bytes are. An empty view means "do not
// send this header". Deciding never allocates. A CorsPolicy is immutable
// after construction: share one across shards or copy it per shard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringshard::http {

struct CorsConfig {
  std::vector<std::string> allow_origins;   // serialized origins, or "*"
  std::vector<std::string> allow_methods;   // method tokens, or "*"
  std::vector<std::string> allow_headers;   // field names, or "*"
  std::vector<std::string> expose_headers;  // field names, or "*"
  bool allow_credentials = false;
  std::optional<uint32_t> max_age_s;        // nullopt: no Access-Control-Max-Age
};

// Bounds on what a request may send; over them the request is not allowed.
inline constexpr size_t kCorsMaxOrigin = 512;            // bytes of Origin
inline constexpr size_t kCorsMaxRequestHeaders = 64;     // names in the list
inline constexpr size_t kCorsMaxRequestHeadersBytes = 4096;

struct CorsPreflight {
  bool allowed = false;
  std::string_view reason;             // why not allowed (a static string)
  std::string_view allow_origin;       // Access-Control-Allow-Origin
  std::string_view allow_methods;      // Access-Control-Allow-Methods
  std::string_view allow_headers;      // Access-Control-Allow-Headers
  std::string_view allow_credentials;  // Access-Control-Allow-Credentials: "true"
  std::string_view max_age;            // Access-Control-Max-Age
  std::string_view vary;               // Vary: always set on a preflight answer
};

struct CorsSimple {
  bool allowed = false;                // Origin present and allowed
  std::string_view allow_origin;       // Access-Control-Allow-Origin
  std::string_view allow_credentials;  // Access-Control-Allow-Credentials
  std::string_view expose_headers;     // Access-Control-Expose-Headers
  std::string_view vary;               // Vary: "Origin" unless the answer is
                                       // the same for every origin
};

class CorsPolicy {
 public:
  // Checks and precomputes `config`. Throws std::invalid_argument (control
  // plane) naming the bad entry: an origin that is not "*", "null" or
  // scheme://host[:port] with nothing after it, a method or header that is
  // not a token, an empty allow_origins, expose_headers "*" together with
  // allow_credentials (browsers would read it as a header named "*").
  explicit CorsPolicy(CorsConfig config);

  const CorsConfig& config() const { return config_; }

 private:
  struct Origin {
    std::string scheme;  // lowercase
    std::string host;    // lowercase
    std::string port;    // digits as written, or empty
  };
  friend CorsPreflight decide_preflight(const CorsPolicy&, std::string_view,
                                        std::string_view, std::string_view);
  friend CorsSimple decide_simple(const CorsPolicy&, std::string_view);
  bool origin_allowed(std::string_view origin) const;

  CorsConfig config_;
  bool any_origin_ = false;
  bool null_origin_ = false;
  bool any_method_ = false;
  bool any_header_ = false;
  std::vector<Origin> origins_;
  std::vector<std::string> headers_lower_;  // allow_headers, lowercased
  std::string methods_joined_;   // "GET, PUT" or "*"; empty when none
  std::string headers_joined_;   // "content-type, x-id" or "*"; empty if none
  std::string expose_joined_;
  std::string max_age_;          // decimal, or empty
};

// A preflight is an OPTIONS request carrying Origin and
// Access-Control-Request-Method (both non-empty). Answer it before routing
// and before authentication: browsers never send credentials on it.
bool is_preflight(std::string_view method_text, std::string_view origin,
                  std::string_view access_control_request_method);

// The answer to a preflight. `access_control_request_headers` may be empty.
CorsPreflight decide_preflight(const CorsPolicy& policy, std::string_view origin,
                               std::string_view access_control_request_method,
                               std::string_view access_control_request_headers);

// The CORS headers of an actual (non-preflight) response. An empty `origin`
// (a same-origin or non-browser request) is not allowed but may get Vary.
CorsSimple decide_simple(const CorsPolicy& policy, std::string_view origin);

// Access-Control-Request-Headers = #field-name (RFC 9110 5.6.1): splits the
// list into `out`, skipping empty elements and OWS. Fails (returns
// nullopt) on a name that is not a token, on more names than out.size() or
// kCorsMaxRequestHeaders, or on a value over kCorsMaxRequestHeadersBytes.
// On success returns how many names were written; they view `value`.
std::optional<size_t> parse_header_name_list(std::string_view value,
                                             std::span<std::string_view> out);

}  // namespace ringshard::http
