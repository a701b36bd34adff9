#include "client/url.h"

#include <arpa/inet.h>

#include <charconv>

namespace ringshard::client {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (lower(s[i]) != prefix[i]) return false;
  }
  return true;
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_';
}

}  // namespace

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
  std::string_view authority = text.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? std::string_view() : text.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    error = "credentials in the URL are refused (send an Authorization header)";
    return std::nullopt;
  }
  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "an IPv6 host has no closing ']'";
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        error = "text after the IPv6 host";
        return std::nullopt;
      }
      port = after.substr(1);
      has_port = true;
    }
    in6_addr a{};
    const std::string h(host);
    if (inet_pton(AF_INET6, h.c_str(), &a) != 1) {
      error = "not an IPv6 address: [" + h + "]";
      return std::nullopt;
    }
    url.host = h;
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) {
      error = "the URL has no host";
      return std::nullopt;
    }
    for (char c : host) {
      if (!name_char(c)) {
        error = "the host has a character a host name cannot have";
        return std::nullopt;
      }
      url.host.push_back(lower(c));
    }
  }
  if (has_port) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (port.empty() || ec != std::errc() || p != port.data() + port.size() || v == 0 ||
        v > 65535) {
      error = "the port must be 1..65535";
      return std::nullopt;
    }
    url.port = static_cast<uint16_t>(v);
  }
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
