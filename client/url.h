// client/url.h: an http:// or https:// URL, split for the HTTP client.
//
// For callers that name a resource by URL rather than by upstream options
// (plugins, through rs_host_api::http_fetch). Accepted:
//   scheme    "http" or "https", any case
//   authority host [":" port]; no userinfo ("user@" is refused: credentials
//             go in an Authorization header, not in a URL that gets logged)
//   host      a name (valid_host_name below; lowercased), a dotted quad,
//             or "[IPv6]" without a zone id
//   port      1..65535; default 80 / 443
//   target    path and query as given ("/" when empty; a bare "?q" becomes
//             "/?q"); the fragment is dropped. No byte below 0x21, no DEL,
//             none above 0x7E (percent-encode them).
// At most 8 KiB. Pure: any thread; allocates the strings it returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringshard::client {

struct HttpUrl {
  bool tls = false;
  std::string host;  // lowercase name, dotted quad, or IPv6 without brackets
  uint16_t port = 80;
  std::string target;  // origin-form: "/path?query"
};

inline constexpr size_t kMaxUrlBytes = 8 * 1024;

// The parts of `text`, or nullopt with `error` saying what is wrong.
std::optional<HttpUrl> parse_http_url(std::string_view text, std::string& error);

// The host and port of a URL authority without userinfo: "name",
// "name:port", "[v6]" or "[v6]:port". What http:// URLs and proxy URLs
// (client/proxy_env.h) share; each caller words its own errors.
enum class AuthorityError : uint8_t {
  kNone,
  kNoHost,     // empty
  kBadName,    // not a host name (valid_host_name) nor a dotted quad
  kBadIpv6,    // "[" without "]", or not an IPv6 literal inside
  kAfterIpv6,  // text after "]" that is not ":port"
  kEmptyPort,  // ":" with no digits
  kBadPort,    // not 1..65535 in decimal digits
};
struct Authority {
  std::string host;              // lowercase name or IP literal (IPv6 without brackets)
  std::optional<uint16_t> port;  // when the authority names one
};
std::optional<Authority> parse_authority(std::string_view text, AuthorityError& error);

// Letters, digits, '-', '.', '_' in non-empty labels (one trailing dot,
// the FQDN form, is allowed), at most 253 bytes.
bool valid_host_name(std::string_view s);
// 1..65535 in decimal digits only.
std::optional<uint16_t> parse_port(std::string_view s);
// inet_pton on a view (it needs a terminated string): 4 (AF_INET) or 16
// (AF_INET6) bytes into `out`; 0 when `s` is not that family's literal.
size_t parse_ip_literal(std::string_view s, int family, uint8_t* out);

}  // namespace ringshard::client
