// client/url.h: an http:// or https:// URL, split for the HTTP client.
//
// For callers that name a resource by URL rather than by upstream options
// (plugins, through rs_host_api::http_fetch). Accepted:
//   scheme    "http" or "https", any case
//   authority host [":" port]; no userinfo ("user@" is refused: credentials
//             go in an Authorization header, not in a URL that gets logged)
//   host      a name (letters, digits, '-', '.', '_'; lowercased), a dotted
//             quad, or "[IPv6]" without a zone id
//   port      1..65535; default 80 / 443
//   target    path and query as given ("/" when empty; a bare "?q" becomes
//             "/?q"); the fragment is dropped. No byte below 0x21, no DEL,
//             none above 0x7E (percent-encode them).
// At most 8 KiB. Pure: any thread; allocates the strings it returns.
#pragma once

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

}  // namespace ringshard::client
