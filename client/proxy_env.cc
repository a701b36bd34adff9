#include "client/proxy_env.h"

#include <arpa/inet.h>

#include <cstring>
#include <initializer_list>

#include "client/url.h"
#include "http/chars.h"
#include "http/request.h"
#include "tls/base64.h"

namespace ringshard::client {

namespace {

constexpr size_t kMaxUrl = 2048;

using http::iequals;

using http::chars::hex_value;

// RFC 3986 unreserved and sub-delims: what userinfo may hold unencoded
// (besides the ':' between user and password).
bool userinfo_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::strchr("-._~!$&'()*+,;=", c) != nullptr;
}

// Decodes userinfo: anything but userinfo_char must come percent-encoded.
bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      if (in[i] == '\0' || !userinfo_char(in[i])) return false;
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;  // needs two hex digits
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

void percent_encode(std::string_view in, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : in) {
    if (c != '\0' && userinfo_char(c)) {
      out += c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
}

std::string base64(std::string_view in) { return tls::base64_encode(in); }

// One no_proxy entry; false when it is none of the accepted forms.
bool parse_entry(std::string_view token, NoProxyEntry& e) {
  std::string_view addr = token;
  std::string_view port;
  if (token.front() == '[') {
    const size_t close = token.find(']');
    if (close == std::string_view::npos) return false;
    addr = token.substr(1, close - 1);
    const std::string_view rest = token.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
  } else if (const size_t colon = token.find(':');
             colon != std::string_view::npos && token.find(':', colon + 1) == std::string_view::npos) {
    addr = token.substr(0, colon);  // exactly one colon: NAME:PORT or IPV4:PORT
    port = token.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (!port.empty()) {
    const std::optional<uint16_t> p = parse_port(port);
    if (!p) return false;
    e.port = *p;
  }
  if (addr.empty()) return false;
  std::string_view ip = addr;
  std::optional<uint32_t> prefix;
  if (const size_t slash = addr.find('/'); slash != std::string_view::npos) {
    ip = addr.substr(0, slash);
    const std::string_view bits = addr.substr(slash + 1);
    if (bits.empty() || bits.size() > 3) return false;
    uint32_t v = 0;
    for (char c : bits) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    prefix = v;
  }
  if (parse_ip_literal(ip, AF_INET, e.address) == 4) {
    if (prefix && *prefix > 32) return false;
    e.kind = NoProxyEntry::Kind::kIpv4;
    e.prefix = static_cast<uint8_t>(prefix.value_or(32));
    return true;
  }
  if (parse_ip_literal(ip, AF_INET6, e.address) == 16) {
    if (prefix && *prefix > 128) return false;
    e.kind = NoProxyEntry::Kind::kIpv6;
    e.prefix = static_cast<uint8_t>(prefix.value_or(128));
    return true;
  }
  if (prefix || token.front() == '[') return false;
  std::string_view name = addr;
  if (name.front() == '.') name.remove_prefix(1);
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.back() == '.' || !valid_host_name(name)) return false;
  // ".10.0.0.1" is no name: as one it could never match (an IP host only
  // meets address entries).
  uint8_t unused[16];
  if (parse_ip_literal(name, AF_INET, unused) != 0 ||
      parse_ip_literal(name, AF_INET6, unused) != 0) {
    return false;
  }
  e.kind = NoProxyEntry::Kind::kName;
  e.name = http::chars::to_lower(name);
  return true;
}

bool prefix_matches(const uint8_t* a, const uint8_t* b, unsigned bits) {
  const unsigned whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

std::string ProxyUrl::basic_authorization() const {
  if (!has_credentials) return {};
  return "Basic " + base64(user + ":" + password);
}

std::optional<ProxyUrl> parse_proxy_url(std::string_view text, std::string& error) {
  if (text.size() > kMaxUrl) {
    error = "proxy URL longer than 2048 bytes";
    return std::nullopt;
  }
  std::string_view s = text;
  if (const size_t sep = s.find("://"); sep != std::string_view::npos) {
    const std::string_view scheme = s.substr(0, sep);
    if (iequals(scheme, "https")) {
      error = "https:// proxies (TLS to the proxy) are not supported: use an http:// proxy "
              "(HTTPS requests still go through it end to end, with CONNECT)";
      return std::nullopt;
    }
    if (scheme.size() >= 5 && iequals(scheme.substr(0, 5), "socks")) {
      error = "SOCKS proxies are not supported: use an http:// proxy";
      return std::nullopt;
    }
    if (!iequals(scheme, "http")) {
      error = "a proxy URL starts with http:// (this one has another scheme)";
      return std::nullopt;
    }
    s.remove_prefix(sep + 3);
  }
  const size_t end = s.find_first_of("/?#");
  const std::string_view authority = s.substr(0, end);
  if (end != std::string_view::npos && s.substr(end) != "/") {
    error = "a proxy URL has no path, query or fragment (at most a trailing '/')";
    return std::nullopt;
  }
  ProxyUrl url;
  std::string_view hostport = authority;
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    hostport = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    url.has_credentials = true;
    if (!percent_decode(userinfo.substr(0, colon), url.user) ||
        (colon != std::string_view::npos &&
         !percent_decode(userinfo.substr(colon + 1), url.password))) {
      error = "bad percent-encoding in the proxy URL's credentials (characters other than "
              "letters, digits and -._~!$&'()*+,;= must be percent-encoded)";
      return std::nullopt;
    }
  }
  AuthorityError why = AuthorityError::kNone;
  std::optional<Authority> a = parse_authority(hostport, why);
  if (!a) {
    switch (why) {
      case AuthorityError::kBadIpv6: error = "bad IPv6 literal in the proxy URL"; break;
      case AuthorityError::kAfterIpv6:
        error = "unexpected text after the proxy URL's IPv6 literal";
        break;
      case AuthorityError::kNoHost: error = "the proxy URL has no host"; break;
      case AuthorityError::kBadName:
        error = "the proxy URL's host is not a name or an IP address";
        break;
      case AuthorityError::kEmptyPort: error = "empty port in the proxy URL"; break;
      default: error = "the proxy URL's port is not a number from 1 to 65535"; break;
    }
    return std::nullopt;
  }
  url.host = std::move(a->host);
  if (a->port) url.port = *a->port;
  return url;
}

std::string format_proxy_url(const ProxyUrl& url, bool redact_password) {
  std::string out = "http://";
  if (url.has_credentials) {
    percent_encode(url.user, out);
    out += ':';
    if (redact_password) {
      out += "***";
    } else {
      percent_encode(url.password, out);
    }
    out += '@';
  }
  if (url.ipv6()) {
    out += '[' + url.host + ']';
  } else {
    out += url.host;
  }
  out += ':' + std::to_string(url.port);
  return out;
}

NoProxy parse_no_proxy(std::string_view text) {
  NoProxy out;
  size_t i = 0;
  auto separator = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (i < text.size()) {
    while (i < text.size() && separator(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && !separator(text[j])) ++j;
    const std::string_view token = text.substr(i, j - i);
    i = j;
    if (token.empty()) continue;
    if (token == "*") {
      out.all = true;
      continue;
    }
    NoProxyEntry e;
    if (parse_entry(token, e)) out.entries.push_back(std::move(e));
  }
  return out;
}

bool bypass_proxy(const NoProxy& no_proxy, std::string_view host, uint16_t port) {
  if (no_proxy.all) return true;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty()) return false;
  uint8_t ip[16];
  int family = 0;
  if (parse_ip_literal(host, AF_INET, ip) == 4) {
    family = AF_INET;
  } else if (parse_ip_literal(host, AF_INET6, ip) == 16) {
    family = AF_INET6;
  }
  for (const NoProxyEntry& e : no_proxy.entries) {
    if (e.port != 0 && e.port != port) continue;
    switch (e.kind) {
      case NoProxyEntry::Kind::kName:
        if (family != 0) break;
        if (iequals(host, e.name)) return true;
        if (host.size() > e.name.size() && host[host.size() - e.name.size() - 1] == '.' &&
            iequals(host.substr(host.size() - e.name.size()), e.name)) {
          return true;
        }
        break;
      case NoProxyEntry::Kind::kIpv4:
        if (family == AF_INET && prefix_matches(ip, e.address, e.prefix)) return true;
        break;
      case NoProxyEntry::Kind::kIpv6:
        if (family == AF_INET6 && prefix_matches(ip, e.address, e.prefix)) return true;
        break;
    }
  }
  return false;
}

bool read_proxy_env(const Getenv& getenv, ProxyEnv& out, std::string& error) {
  // The first of `names` that is set and not empty.
  auto first = [&](std::initializer_list<const char*> names,
                   const char*& which) -> std::optional<std::string_view> {
    for (const char* n : names) {
      const char* v = getenv(n);
      if (v != nullptr && *v != '\0') {
        which = n;
        return std::string_view(v);
      }
    }
    return std::nullopt;
  };
  out = ProxyEnv{};
  auto proxy = [&](std::initializer_list<const char*> own, std::optional<ProxyUrl>& slot) {
    const char* which = nullptr;
    std::optional<std::string_view> v = first(own, which);
    if (!v) v = first({"all_proxy", "ALL_PROXY"}, which);
    if (!v) return true;
    std::string why;
    slot = parse_proxy_url(*v, why);
    if (!slot) error = std::string(which) + ": " + why;
    return slot.has_value();
  };
  // http_proxy only in lowercase: see the header (httpoxy).
  if (!proxy({"http_proxy"}, out.http)) return false;
  if (!proxy({"https_proxy", "HTTPS_PROXY"}, out.https)) return false;
  const char* which = nullptr;
  if (std::optional<std::string_view> v = first({"no_proxy", "NO_PROXY"}, which)) {
    out.no_proxy = parse_no_proxy(*v);
  }
  return true;
}

}  // namespace ringshard::client
