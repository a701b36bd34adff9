#include "client/url.h"

#include <arpa/inet.h>

#include <cstring>
#include <utility>

#include "http/chars.h"

namespace ringshard::client {
namespace {

constexpr size_t kMaxHost = 253;

using http::chars::to_lower;

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (to_lower(s[i]) != prefix[i]) return false;
  }
  return true;
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_';
}

}  // namespace

size_t parse_ip_literal(std::string_view s, int family, uint8_t* out) {
  char buf[64];
  if (s.empty() || s.size() >= sizeof(buf)) return 0;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  if (family == AF_INET) return ::inet_pton(AF_INET, buf, out) == 1 ? 4 : 0;
  return ::inet_pton(AF_INET6, buf, out) == 1 ? 16 : 0;
}

bool valid_host_name(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  if (s.empty() || s.size() > kMaxHost || s.front() == '.' || s.back() == '.' ||
      s.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : s) {
    if (!name_char(c)) return false;
  }
  return true;
}

std::optional<uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

std::optional<Authority> parse_authority(std::string_view text, AuthorityError& error) {
  Authority out;
  std::string_view port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    uint8_t raw[16];
    if (close == std::string_view::npos ||
        parse_ip_literal(text.substr(1, close - 1), AF_INET6, raw) != 16) {
      error = AuthorityError::kBadIpv6;
      return std::nullopt;
    }
    out.host = to_lower(text.substr(1, close - 1));
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      error = AuthorityError::kAfterIpv6;
      return std::nullopt;
    }
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
  } else {
    const size_t colon = text.find(':');
    const std::string_view host = text.substr(0, colon);
    if (!valid_host_name(host)) {
      error = host.empty() ? AuthorityError::kNoHost : AuthorityError::kBadName;
      return std::nullopt;
    }
    out.host = to_lower(host);
    has_port = colon != std::string_view::npos;
    if (has_port) port = text.substr(colon + 1);
  }
  if (has_port) {
    if (port.empty()) {
      error = AuthorityError::kEmptyPort;
      return std::nullopt;
    }
    out.port = parse_port(port);
    if (!out.port) {
      error = AuthorityError::kBadPort;
      return std::nullopt;
    }
  }
  error = AuthorityError::kNone;
  return out;
}

std::optional<HttpUrl> parse_http_url(std::string_view text, std::string& error) {
  if (text.size() > kMaxUrlBytes) {
    error = "the URL is over 8 KiB";
    return std::nullopt;
  }
  HttpUrl url;
  if (starts_with_ci(text, "https://")) {
    url.tls = true;
    url.port = 443;
    text.remove_prefix(8);
  } else if (starts_with_ci(text, "http://")) {
    text.remove_prefix(7);
  } else {
    error = "the URL must start with http:// or https://";
    return std::nullopt;
  }
  const size_t end = text.find_first_of("/?#");
  const std::string_view authority = text.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? std::string_view() : text.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    error = "credentials in the URL are refused (send an Authorization header)";
    return std::nullopt;
  }
  AuthorityError why = AuthorityError::kNone;
  std::optional<Authority> a = parse_authority(authority, why);
  if (!a) {
    switch (why) {
      case AuthorityError::kNoHost: error = "the URL has no host"; break;
      case AuthorityError::kBadName: error = "the host is not a host name or an IP address"; break;
      case AuthorityError::kBadIpv6: error = "bad IPv6 literal in the URL"; break;
      case AuthorityError::kAfterIpv6: error = "text after the IPv6 host"; break;
      default: error = "the port must be 1..65535"; break;
    }
    return std::nullopt;
  }
  url.host = std::move(a->host);
  if (a->port) url.port = *a->port;
  if (const size_t hash = rest.find('#'); hash != std::string_view::npos) {
    rest = rest.substr(0, hash);
  }
  for (char c : rest) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x21 || b > 0x7E) {
      error = "the path or query has a space, a control byte or a non-ASCII byte "
              "(percent-encode it)";
      return std::nullopt;
    }
  }
  if (rest.empty() || rest[0] != '/') url.target = "/";
  url.target.append(rest);
  return url;
}

}  // namespace ringshard::client
